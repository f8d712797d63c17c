import { SHARE_TOTAL } from "./constants.ts";
import type { Credit } from "./types.ts";

/**
 * Integer shares of SHARE_TOTAL proportional to `weights` by largest remainder; ties go to the
 * lower key. Keys must be ascending. Returns no shares when the total weight is zero.
 */
export function largestRemainderShares(keys: readonly bigint[], weights: readonly bigint[]): bigint[] {
  const total = weights.reduce((a, b) => a + b, 0n);
  if (total === 0n) return weights.map(() => 0n);
  const shares = weights.map((w) => (w * SHARE_TOTAL) / total);
  let left = SHARE_TOTAL - shares.reduce((a, b) => a + b, 0n);
  const order = weights
    .map((w, i) => ({ i, rem: (w * SHARE_TOTAL) % total }))
    .sort((a, b) => (a.rem !== b.rem ? (a.rem > b.rem ? -1 : 1) : keys[a.i] < keys[b.i] ? -1 : 1));
  for (const { i } of order) {
    if (left === 0n) break;
    shares[i] += 1n;
    left -= 1n;
  }
  return shares;
}

/** Sums span weights per contribution and gives each its share, contributions by id ascending. */
export function creditsFromSpans(spans: readonly { contributionId: bigint; weight: number }[]): Credit[] {
  const byContribution = new Map<bigint, number>();
  for (const s of spans)
    byContribution.set(s.contributionId, (byContribution.get(s.contributionId) ?? 0) + s.weight);
  const ids = [...byContribution.keys()].sort((a, b) => (a < b ? -1 : 1));
  const weights = ids.map((id) => BigInt(byContribution.get(id)!));
  const shares = largestRemainderShares(ids, weights);
  return ids.map((id, k) => ({ contributionId: id, weight: Number(weights[k]), share: Number(shares[k]) }));
}
