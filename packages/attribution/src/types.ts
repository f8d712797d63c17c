import type { Hex } from "viem";

/** One snapshot chunk as plain data. `text` is the chunk's (NFC) text or its UTF-8 bytes. */
export interface SpanChunk {
  contributionId: bigint;
  chunkIndex: number;
  text: string | Uint8Array;
}

/** Where a matched span occurs first, in (contributionId, chunkIndex, word offset) order. */
export interface Occurrence {
  contributionId: bigint;
  chunkIndex: number;
  /** Offset of the span's first word among the chunk's words. */
  chunkWordOffset: number;
}

/** A kept span of the output and the occurrence credited for it. */
export interface SpanMatch extends Occurrence {
  /** Output word range [wordStart, wordEnd). */
  wordStart: number;
  wordEnd: number;
  /** Output byte range in the NFC UTF-8 output (display only, not committed). */
  byteStart: number;
  byteEnd: number;
  /** Rarity cost (bits) of the output words this span is paid for. */
  weight: number;
}

export interface Credit {
  contributionId: bigint;
  weight: number;
  /** Parts per million; all shares of a result sum to exactly 1,000,000. */
  share: number;
}

export interface ChunkRef {
  contributionId: bigint;
  chunkIndex: number;
}

export interface SpanV1Result {
  algorithm: "span-v1";
  outputHash: Hex;
  /** Snapshot roots the result was computed over, ascending and distinct. */
  roots: Hex[];
  credits: Credit[];
  spans: SpanMatch[];
  /** The chunks credited for kept spans: the set a settler must submit (with proofs). */
  witnesses: ChunkRef[];
  commitment: Hex;
}

/**
 * A span-v2 result: `spans` are the credited segments (runs of output words with one owner), each
 * with the first source of its first word (display and witness only; not committed).
 */
export interface SpanV2Result extends Omit<SpanV1Result, "algorithm"> {
  algorithm: "span-v2";
}

/** Either version's result (same shape; see README for what `spans` means in each). */
export type SpanResult = SpanV1Result | SpanV2Result;

/** A maximal candidate span found by a matcher; its occurrence is resolved only if it is kept. */
export interface MaximalSpan {
  wordStart: number;
  length: number;
  occurrence: () => Occurrence;
}
