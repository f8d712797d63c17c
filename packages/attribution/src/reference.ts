import type { Hex } from "viem";
import { assembleResult } from "./assemble.ts";
import { canonicalChunks } from "./chunks.ts";
import { MIN_WORDS } from "./constants.ts";
import { outputWords, splitWords } from "./text.ts";
import type { MaximalSpan, Occurrence, SpanChunk, SpanV1Result } from "./types.ts";

const latin1 = new TextDecoder("latin1");

/**
 * span-v1 by brute force, straight from the specification: every L(i) over every chunk position,
 * O(output words x corpus words x span length). The reference the indexed version is tested against.
 */
export function spanV1Reference(
  output: string | Uint8Array,
  chunks: readonly SpanChunk[],
  roots: readonly Hex[],
): SpanV1Result {
  const out = outputWords(output);
  const o = out.words.map((w) => latin1.decode(w));
  const corpus = canonicalChunks(chunks).map((c) => ({
    contributionId: c.contributionId,
    chunkIndex: c.chunkIndex,
    words: splitWords(c.bytes).words.map((w) => latin1.decode(w)),
  }));
  const m = o.length;
  const lengths = new Array<number>(m).fill(0);
  const occurrences: Occurrence[] = new Array(m);
  for (let i = 0; i < m; i++) {
    for (const c of corpus) {
      for (let j = 0; j < c.words.length; j++) {
        let k = 0;
        while (i + k < m && j + k < c.words.length && o[i + k] === c.words[j + k]) k++;
        // Chunks are in (contributionId, chunkIndex) order and j ascends: the first longest is the smallest.
        if (k > lengths[i]) {
          lengths[i] = k;
          occurrences[i] = { contributionId: c.contributionId, chunkIndex: c.chunkIndex, chunkWordOffset: j };
        }
      }
    }
  }
  const maximal: MaximalSpan[] = [];
  for (let i = 0; i < m; i++) {
    if (lengths[i] < MIN_WORDS) continue;
    let earlierEnd = 0;
    for (let j = 0; j < i; j++)
      if (lengths[j] >= MIN_WORDS) earlierEnd = Math.max(earlierEnd, j + lengths[j]);
    if (i + lengths[i] > earlierEnd)
      maximal.push({ wordStart: i, length: lengths[i], occurrence: () => occurrences[i] });
  }
  return assembleResult(out, maximal, roots);
}
