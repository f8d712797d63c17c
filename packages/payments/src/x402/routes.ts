import type { PaymentPayload, PaymentRequirements } from "@x402/core/types";
import type { FastifyInstance } from "fastify";
import type { X402Facilitator } from "./facilitator.ts";
import { checkPaymentPayload, MalformedPaymentError } from "./payload.ts";

export interface X402RoutesOptions {
  facilitator: X402Facilitator;
}

/** A facilitator request body larger than this is refused (a payment is well under 4 kB). */
const BODY_LIMIT = 64 * 1024;

/** `{x402Version, paymentPayload, paymentRequirements}`, or why not. */
function parseBody(body: unknown): { payment: PaymentPayload; requirements: PaymentRequirements } {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw new MalformedPaymentError("invalid_payload", "the body must be a JSON object");
  const b = body as Record<string, unknown>;
  const payment = checkPaymentPayload(b.paymentPayload);
  const r = b.paymentRequirements as Record<string, unknown> | undefined;
  const str = (k: string) => typeof r?.[k] === "string";
  if (
    !r ||
    !str("scheme") ||
    !str("network") ||
    !str("asset") ||
    !str("amount") ||
    !str("payTo") ||
    typeof r.maxTimeoutSeconds !== "number" ||
    (r.extra !== undefined && (typeof r.extra !== "object" || r.extra === null))
  )
    throw new MalformedPaymentError(
      "invalid_payload",
      "paymentRequirements must have scheme, network, asset, amount, payTo (strings), maxTimeoutSeconds (number) and extra (object)",
    );
  return {
    payment,
    requirements: { ...(r as PaymentRequirements), extra: (r.extra as Record<string, unknown>) ?? {} },
  };
}

/**
 * The x402 v2 facilitator API, so other resource servers (or `HTTPFacilitatorClient` with
 * `url: <server>/v1/x402`) can verify and settle $OPEN payments to this operator:
 * `GET /v1/x402/supported`, `POST /v1/x402/verify`, `POST /v1/x402/settle`. A malformed request is a
 * 400 in the same shape as the answer (`{isValid:false, invalidReason, invalidMessage}` /
 * `{success:false, errorReason, errorMessage, transaction:"", network}`).
 */
export async function x402FacilitatorRoutes(app: FastifyInstance, o: X402RoutesOptions): Promise<void> {
  const f = o.facilitator;
  const refusal = (path: string, reason: string, message: string) =>
    path.endsWith("/settle")
      ? {
          success: false,
          errorReason: reason,
          errorMessage: message,
          transaction: "",
          network: f.terms.network,
        }
      : { isValid: false, invalidReason: reason, invalidMessage: message };

  app.setErrorHandler((err, req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    if (status >= 500) throw err;
    return reply.code(status).send(refusal(req.url, "invalid_payload", (err as Error).message));
  });

  app.get("/v1/x402/supported", async () => f.supported());

  for (const path of ["/v1/x402/verify", "/v1/x402/settle"] as const) {
    app.post(path, { bodyLimit: BODY_LIMIT }, async (req, reply) => {
      let parsed: ReturnType<typeof parseBody>;
      try {
        parsed = parseBody(req.body);
      } catch (err) {
        if (!(err instanceof MalformedPaymentError)) throw err;
        return reply.code(400).send(refusal(path, err.reason, err.message));
      }
      return path === "/v1/x402/verify"
        ? f.verify(parsed.payment, parsed.requirements)
        : f.settle(parsed.payment, parsed.requirements);
    });
  }
}
