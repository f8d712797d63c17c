import type { AdmissionRequest, UsageRecord } from "@openledger/openlora";

/**
 * The price per 1,000 tokens of a request (wei of $OPEN): each applied adapter's price (an ensemble
 * pays every adapter it runs), or the model's own price when no adapter is applied.
 */
export function pricePer1k(req: Pick<AdmissionRequest, "model" | "adapters">): bigint {
  if (req.adapters.length === 0) return req.model.pricePer1kTokens;
  return req.adapters.reduce((sum, a) => sum + a.model.pricePer1kTokens, 0n);
}

/** Same as {@link pricePer1k} from a metering record. */
export function recordPricePer1k(r: UsageRecord): bigint {
  if (r.adapters.length === 0) return r.model.pricePer1kTokens;
  return r.adapters.reduce((sum, a) => sum + a.pricePer1kTokens, 0n);
}

/** The fee for `tokens` tokens, rounded down (integer, so every party computes the same wei). */
export function feeFor(tokens: number, per1k: bigint): bigint {
  return (BigInt(tokens) * per1k) / 1000n;
}
