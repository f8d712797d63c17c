import { InvalidChunkError } from "./errors.ts";
import { nfcBytes } from "./text.ts";
import type { SpanChunk } from "./types.ts";

const MAX_UINT256 = (1n << 256n) - 1n;

/** A chunk with its canonical NFC UTF-8 bytes. */
export interface CanonicalChunk {
  contributionId: bigint;
  chunkIndex: number;
  bytes: Uint8Array;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Validates chunks, normalises their text and returns them sorted by (contributionId, chunkIndex),
 * with exact duplicates merged. Two different texts under one (contributionId, chunkIndex) are an error.
 */
export function canonicalChunks(chunks: readonly SpanChunk[]): CanonicalChunk[] {
  if (!Array.isArray(chunks)) throw new InvalidChunkError("chunks must be an array");
  const out: CanonicalChunk[] = chunks.map((c, k) => {
    if (c === null || typeof c !== "object") throw new InvalidChunkError(`chunk ${k} is not an object`);
    const { contributionId, chunkIndex } = c;
    if (typeof contributionId !== "bigint" || contributionId < 1n || contributionId > MAX_UINT256) {
      throw new InvalidChunkError(`chunk ${k}: contributionId must be a bigint in [1, 2^256 - 1]`);
    }
    if (!Number.isInteger(chunkIndex) || chunkIndex < 0 || chunkIndex > 0xffffffff) {
      throw new InvalidChunkError(`chunk ${k}: chunkIndex must be an integer in [0, 2^32 - 1]`);
    }
    return {
      contributionId,
      chunkIndex,
      bytes: nfcBytes(c.text, `chunk ${k} (contribution ${contributionId})`),
    };
  });
  out.sort((a, b) =>
    a.contributionId !== b.contributionId
      ? a.contributionId < b.contributionId
        ? -1
        : 1
      : a.chunkIndex - b.chunkIndex,
  );
  const merged: CanonicalChunk[] = [];
  for (const c of out) {
    const last = merged[merged.length - 1];
    if (last && last.contributionId === c.contributionId && last.chunkIndex === c.chunkIndex) {
      if (!sameBytes(last.bytes, c.bytes)) {
        throw new InvalidChunkError(
          `contribution ${c.contributionId} chunk ${c.chunkIndex} is given twice with different text`,
        );
      }
      continue;
    }
    merged.push(c);
  }
  return merged;
}
