import { encodeAbiParameters, type Hex, keccak256, parseAbiParameters, stringToHex } from "viem";
import { SPAN_V1_TAG_TEXT, SPAN_V2_TAG_TEXT } from "./constants.ts";
import type { Credit, SpanMatch } from "./types.ts";

export const SPAN_V1_TAG: Hex = keccak256(stringToHex(SPAN_V1_TAG_TEXT));

const COMMITMENT_ABI = parseAbiParameters(
  "bytes32 tag, bytes32 outputHash, bytes32[] roots, (uint256 contributionId, uint256 share)[] credits, (uint32 wordStart, uint32 wordEnd, uint256 contributionId, uint32 chunkIndex, uint32 chunkWordOffset, uint64 weight)[] spans",
);

/** The canonical encoding of a span-v1 result (README, step 9); its keccak256 is the commitment. */
export function encodeSpanV1Result(
  outputHash: Hex,
  roots: readonly Hex[],
  credits: readonly Credit[],
  spans: readonly SpanMatch[],
): Hex {
  return encodeAbiParameters(COMMITMENT_ABI, [
    SPAN_V1_TAG,
    outputHash,
    roots,
    credits.map((c) => ({ contributionId: c.contributionId, share: BigInt(c.share) })),
    spans.map((s) => ({
      wordStart: s.wordStart,
      wordEnd: s.wordEnd,
      contributionId: s.contributionId,
      chunkIndex: s.chunkIndex,
      chunkWordOffset: s.chunkWordOffset,
      weight: BigInt(s.weight),
    })),
  ]);
}

export const SPAN_V2_TAG: Hex = keccak256(stringToHex(SPAN_V2_TAG_TEXT));

const COMMITMENT_V2_ABI = parseAbiParameters(
  "bytes32 tag, bytes32 outputHash, bytes32[] roots, (uint256 contributionId, uint256 share)[] credits, (uint32 wordStart, uint32 wordEnd, uint256 contributionId, uint64 weight)[] segments",
);

/** The canonical encoding of a span-v2 result (README, span-v2 step 5); its keccak256 is the commitment. */
export function encodeSpanV2Result(
  outputHash: Hex,
  roots: readonly Hex[],
  credits: readonly Credit[],
  segments: readonly SpanMatch[],
): Hex {
  return encodeAbiParameters(COMMITMENT_V2_ABI, [
    SPAN_V2_TAG,
    outputHash,
    roots,
    credits.map((c) => ({ contributionId: c.contributionId, share: BigInt(c.share) })),
    segments.map((s) => ({
      wordStart: s.wordStart,
      wordEnd: s.wordEnd,
      contributionId: s.contributionId,
      weight: BigInt(s.weight),
    })),
  ]);
}

/** Normalises a root list: lower-case, distinct, ascending. */
export function canonicalRoots(roots: readonly Hex[]): Hex[] {
  const set = new Set(roots.map((r) => r.toLowerCase() as Hex));
  return [...set].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : BigInt(a) > BigInt(b) ? 1 : 0));
}
