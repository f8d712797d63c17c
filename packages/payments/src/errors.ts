import { OpenLoraError } from "@openledger/openlora";

/** The request named no API key, an unknown one, or one that was revoked. */
export class InvalidApiKeyError extends OpenLoraError {
  override name = "InvalidApiKeyError";
  constructor(detail: string) {
    super(
      `${detail}; send 'Authorization: Bearer <key>' with a key from 'openledger keys create'`,
      401,
      "invalid_request_error",
      "invalid_api_key",
    );
  }
}

/** The payer's unreserved funds cannot cover the request's maximum cost. */
export class PaymentRequiredError extends OpenLoraError {
  override name = "PaymentRequiredError";
  constructor(
    readonly payer: string,
    /** the most the request may cost: prompt + max_tokens at the model's price (wei of $OPEN) */
    readonly required: bigint,
    /** what is left to reserve: escrow (bounded by the operator's authorisation) less reservations and unsettled use */
    readonly available: bigint,
  ) {
    super(
      `payment required: this request may cost up to ${required} wei of OPEN (prompt + max_tokens at the model's price) but ${payer} has ${available} wei available to this operator; deposit with 'openledger escrow deposit', raise the authorisation, or lower max_tokens`,
      402,
      "invalid_request_error",
      "insufficient_funds",
    );
  }
}

/** A key binding whose EIP-712 signature does not come from the payer it names, or is malformed. */
export class InvalidKeyBindingError extends Error {
  override name = "InvalidKeyBindingError";
}

/** A usage receipt that does not parse or whose signature is not the operator's. */
export class InvalidReceiptError extends Error {
  override name = "InvalidReceiptError";
}

/** A span-v2 witness whose chunk text and proof the snapshot source did not return. */
export class MissingWitnessError extends Error {
  override name = "MissingWitnessError";
  constructor(contributionId: bigint, chunkIndex: number) {
    super(
      `the witness chunk ${chunkIndex} of contribution ${contributionId} has no proven text: the snapshot source (witnessChunks) must return every witness of the model's training snapshots`,
    );
  }
}

/** A settlement batch that cannot be built as asked (no contributor to pay, an inactive model, ...). */
export class SettlementError extends Error {
  override name = "SettlementError";
}

/** grad-v1 could not run on an answer (reported through the attributor's onError, never to a request). */
export class GradAttributionError extends Error {
  override name = "GradAttributionError";
}
