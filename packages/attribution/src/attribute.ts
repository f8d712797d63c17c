import type { Hex } from "viem";
import { assembleResult } from "./assemble.ts";
import { MIN_WORDS } from "./constants.ts";
import { AttributionError } from "./errors.ts";
import { compareOccurrences } from "./occurrence.ts";
import { SpanIndex } from "./spanIndex.ts";
import { outputWords } from "./text.ts";
import type { MaximalSpan, SpanChunk, SpanV1Result } from "./types.ts";

/**
 * Steps 4-5 of span-v1 over indexed chunks: the maximal candidate spans. Only maximal candidates are
 * resolved: a position inside an earlier span is asked for at least one more word than it covers.
 */
function maximalSpans(words: readonly Uint8Array[], indexes: readonly SpanIndex[]): MaximalSpan[] {
  const maximal: MaximalSpan[] = [];
  const symbols = indexes.map((index) => index.symbolsOf(words));
  let earlierEnd = 0;
  for (let i = 0; i + MIN_WORDS <= words.length; i++) {
    const minLength = Math.max(MIN_WORDS, earlierEnd - i + 1);
    let length = 0;
    let found: { index: SpanIndex; lo: number; hi: number }[] = [];
    for (const [x, index] of indexes.entries()) {
      const m = index.longestMatch(symbols[x], i, minLength);
      if (!m || m.length < length) continue;
      if (m.length > length) found = [];
      length = m.length;
      found.push({ index, lo: m.lo, hi: m.hi });
    }
    if (length === 0) continue;
    const occurrence = () =>
      found
        .map((f) => f.index.firstOccurrence(f.lo, f.hi))
        .reduce((best, o) => (compareOccurrences(o, best) < 0 ? o : best));
    maximal.push({ wordStart: i, length, occurrence });
    earlierEnd = i + length;
  }
  return maximal;
}

/** span-v1 of `output` over the chunks of one or more indexed snapshots, queried together. */
export function attributeSpanV1(output: string | Uint8Array, indexes: readonly SpanIndex[]): SpanV1Result {
  if (!Array.isArray(indexes) || indexes.some((x) => !(x instanceof SpanIndex))) {
    throw new AttributionError("indexes must be an array of SpanIndex");
  }
  const out = outputWords(output);
  return assembleResult(
    out,
    maximalSpans(out.words, indexes),
    indexes.map((x) => x.root),
  );
}

const NO_ROOT = `0x${"00".repeat(32)}` as Hex;

/** span-v1 over plain chunks (through an in-memory index); `roots` are the snapshots they come from. */
export function computeSpanV1(
  output: string | Uint8Array,
  chunks: readonly SpanChunk[],
  roots: readonly Hex[],
): SpanV1Result {
  const out = outputWords(output);
  return assembleResult(out, maximalSpans(out.words, [SpanIndex.build(chunks, NO_ROOT)]), roots);
}
