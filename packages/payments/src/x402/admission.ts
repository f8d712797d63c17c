import { type AdmissionRequest, OpenLoraError } from "@openledger/openlora";
import { encodePaymentRequiredHeader, encodePaymentResponseHeader } from "@x402/core/http";
import type { PaymentRequired, SettleResponse } from "@x402/core/types";
import { type Address, getAddress } from "viem";
import { type X402Facilitator, X402Reason } from "./facilitator.ts";
import { decodePaymentHeader, eip3009Of, MalformedPaymentError } from "./payload.ts";
import { paymentRequiredFor, requirementsFor } from "./terms.ts";

/** x402 v2 HTTP headers: the 402's requirements, and the settlement of a paid answer. */
export const PAYMENT_REQUIRED_HEADER = "payment-required";
export const PAYMENT_RESPONSE_HEADER = "payment-response";

/**
 * 402 in both protocols at once: the OpenAI-style body names the x402 reason as its `code`, and the
 * `PAYMENT-REQUIRED` header carries the x402 v2 requirements a client can pay (with `error` = reason).
 */
export class X402PaymentError extends OpenLoraError {
  override name = "X402PaymentError";
  override readonly headers: Record<string, string>;
  constructor(
    readonly reason: string,
    message: string,
    readonly paymentRequired: PaymentRequired,
  ) {
    super(message, 402, "invalid_request_error", reason);
    this.headers = { [PAYMENT_REQUIRED_HEADER]: encodePaymentRequiredHeader(paymentRequired) };
  }
}

/** A request paid by x402: who paid, how much, and the mined settlement. */
export interface X402Paid {
  payer: Address;
  amount: bigint;
  settlement: SettleResponse;
  /** the `PAYMENT-RESPONSE` header value (base64 JSON of `settlement`) */
  header: string;
}

/**
 * Takes an x402 payment for one request, before it runs: the payment must be for at least the
 * request's maximum cost, verified and settled on chain by the facilitator; anything else is a 402
 * carrying the requirements again. Settling up front means an answer is never released unpaid (a
 * transfer that fails after the run could not be taken back from the client).
 */
export class X402Admission {
  constructor(
    readonly facilitator: X402Facilitator,
    private readonly o: {
      /** the server's public origin, for the requirements' `resource.url` (default: a path only) */
      publicUrl?: string;
    } = {},
  ) {}

  async pay(req: AdmissionRequest, required: bigint): Promise<X402Paid> {
    const terms = this.facilitator.terms;
    const resource = {
      url: `${this.o.publicUrl ?? ""}/v1/models/${encodeURIComponent(req.model.name)}`,
      description: `one answer of ${req.model.name}: ${req.promptTokens} prompt + up to ${req.maxTokens} tokens`,
    };
    const refuse = (reason: string, message: string): never => {
      throw new X402PaymentError(reason, message, paymentRequiredFor(terms, required, resource, reason));
    };
    const header = req.credentials.payment;
    if (header === undefined)
      return refuse(
        "payment_required",
        `payment required: this request may cost up to ${required} wei of OPEN (prompt + max_tokens at the model's price); pay it with x402 (the PAYMENT-REQUIRED header has the terms) or send 'Authorization: Bearer <key>' for a prepaid account`,
      );
    let payment: ReturnType<typeof decodePaymentHeader>;
    let from: Address;
    let value: bigint;
    try {
      payment = decodePaymentHeader(header);
      ({ from, value } = eip3009Of(payment));
    } catch (err) {
      if (err instanceof MalformedPaymentError) return refuse(err.reason, err.message);
      throw err;
    }
    if (value < required)
      return refuse(
        X402Reason.underpaid,
        `the payment authorizes ${value} wei of OPEN but this request may cost up to ${required} wei; pay the amount in the PAYMENT-REQUIRED header`,
      );
    if (payment.accepted.amount !== value.toString())
      return refuse(
        "invalid_exact_evm_payload_authorization_value_mismatch",
        `the authorization's value (${value}) differs from the amount the payment says it accepted (${payment.accepted.amount})`,
      );
    // a payment above the maximum cost is taken as it is (the exact scheme settles what was signed)
    const requirements = requirementsFor(terms, value);
    const settlement = await this.facilitator.settle(payment, requirements);
    if (!settlement.success) {
      const why = settlement.errorMessage?.split("\n")[0]?.slice(0, 300);
      return refuse(
        settlement.errorReason ?? "unexpected_settle_error",
        `the x402 payment was refused (${settlement.errorReason ?? "settlement failed"})${why ? `: ${why}` : ""}`,
      );
    }
    return {
      payer: getAddress(from),
      amount: value,
      settlement,
      header: encodePaymentResponseHeader(settlement),
    };
  }
}
