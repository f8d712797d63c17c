import { openAIError } from "@openledger/common";
import type { FastifyInstance } from "fastify";
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

  app.get<{ Params: { id: string } }>("/v1/receipts/:id", async (req, reply) => {
    const id = req.params.id.replace(/^(chatcmpl|cmpl)-/, "");
    const row = o.db.usage(id);
    if (!row)
      return reply
        .code(404)
        .send(
          openAIError(
            `no receipt for request '${req.params.id}'`,
            "invalid_request_error",
            "receipt_not_found",
          ),
        );
    return JSON.parse(row.receipt);
  });

  // grad-v1 runs after the answer is sent: `grad` is null until it has run, and stays null for a
  // model without a gradient store
  app.get<{ Params: { id: string } }>("/v1/attribution/requests/:id", async (req, reply) => {
    const id = req.params.id.replace(/^(chatcmpl|cmpl)-/, "");
    const row = o.db.usage(id);
    if (!row)
      return reply
        .code(404)
        .send(
          openAIError(
            `no request '${req.params.id}' was charged here`,
            "invalid_request_error",
            "request_not_found",
          ),
        );
    return { id, grad: row.grad ?? null };
  });
}
