import { openAIError } from "@openledger/common";
import type { FastifyInstance, FastifyReply } from "fastify";
import type { Address } from "viem";
import { verifyKeyBinding } from "./api-keys.ts";
import type { PaymentsDb } from "./db.ts";
import { InvalidKeyBindingError } from "./errors.ts";

export interface PaymentRoutesOptions {
  db: PaymentsDb;
  chainId: number;
  settlement: Address;
  /** the account payers authorise (and that signs receipts) */
  operator: Address;
}

/**
 * GET /v1/payments says where this server settles and which operator to authorise;
 * POST /v1/keys registers a payer-signed key binding (the key itself never reaches the server);
 * GET /v1/receipts/:id serves the signed receipt of a request (`cmpl-…`/`chatcmpl-…` or the bare id);
 * GET /v1/attribution/requests/:id its grad-v1 result (`{ id, grad }`, grad null until computed).
 */
export async function paymentRoutes(app: FastifyInstance, o: PaymentRoutesOptions): Promise<void> {
  app.get("/v1/payments", async () => ({
    chainId: o.chainId,
    settlement: o.settlement,
    operator: o.operator,
  }));

  app.post("/v1/keys", async (req, reply) => {
    try {
      const b = await verifyKeyBinding(req.body, { chainId: o.chainId, settlement: o.settlement });
      o.db.putKey(b);
      return reply.code(201).send({ keyHash: b.keyHash, payer: b.payer });
    } catch (err) {
      if (!(err instanceof InvalidKeyBindingError)) throw err;
      return reply.code(400).send(openAIError(err.message, "invalid_request_error", "invalid_key_binding"));
    }
  });

  /** The usage row of a served request id (`cmpl-…`/`chatcmpl-…` or the bare id), or a 404 sent. */
  const usageOf = (served: string, reply: FastifyReply, notFound: { message: string; code: string }) => {
    const id = served.replace(/^(chatcmpl|cmpl)-/, "");
    const row = o.db.usage(id);
    if (!row) reply.code(404).send(openAIError(notFound.message, "invalid_request_error", notFound.code));
    return row && { id, row };
  };

  app.get<{ Params: { id: string } }>("/v1/receipts/:id", async (req, reply) => {
    const found = usageOf(req.params.id, reply, {
      message: `no receipt for request '${req.params.id}'`,
      code: "receipt_not_found",
    });
    return found ? JSON.parse(found.row.receipt) : reply;
  });

  // grad-v1 runs after the answer is sent: `grad` is null until it has run, and stays null for a
  // model without a gradient store
  app.get<{ Params: { id: string } }>("/v1/attribution/requests/:id", async (req, reply) => {
    const found = usageOf(req.params.id, reply, {
      message: `no request '${req.params.id}' was charged here`,
      code: "request_not_found",
    });
    return found ? { id: found.id, grad: found.row.grad ?? null } : reply;
  });
}
