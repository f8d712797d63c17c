import { SHARE_TOTAL } from "./constants.ts";

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
