import { bytesToHex, type Hex, keccak256 } from "viem";
import { canonicalRoots, encodeSpanV2Result } from "./commitment.ts";
import { MIN_SPAN_COST, MIN_WORDS } from "./constants.ts";
import { wordCost } from "./costTable.ts";
import { AttributionError } from "./errors.ts";
import { compareOccurrences } from "./occurrence.ts";
import { creditsFromSpans } from "./shares.ts";
import { SpanIndex } from "./spanIndex.ts";
import { outputWords, type Words } from "./text.ts";
import type { ChunkRef, Occurrence, SpanChunk, SpanMatch, SpanV2Result } from "./types.ts";

/**
 * span-v2 step 1: per output position a, the fewest words a kept match starting at a needs (at
 * least MIN_WORDS and MIN_SPAN_COST bits), or 0 when no run from a is rare enough.
 */
export function keptMatchMinimum(costs: readonly number[]): Int32Array {
  const m = costs.length;
  const need = new Int32Array(m);
  for (let a = 0; a < m; a++) {
    let cost = 0;
    for (let k = 1; a + k <= m; k++) {
      cost += costs[a + k - 1];
      if (k >= MIN_WORDS && cost >= MIN_SPAN_COST) {
        need[a] = k;
        break;
      }
    }
  }
  return need;
}

/**
 * Steps 3-5 of span-v2 from each output word's first source (undefined: not covered by a kept
 * match): owner segments, the credited ones, weights, shares, witnesses and the commitment.
 */
export function assembleSpanV2(
  output: Words,
  sources: readonly (Occurrence | undefined)[],
  roots: readonly Hex[],
): SpanV2Result {
  const costs = output.words.map(wordCost);
  const spans: SpanMatch[] = [];
  const witnessMap = new Map<string, ChunkRef>();
  for (let w = 0; w < sources.length; ) {
    const first = sources[w];
    if (!first) {
      w++;
      continue;
    }
    let end = w;
    let cost = 0;
    while (end < sources.length && sources[end]?.contributionId === first.contributionId) {
      const s = sources[end]!;
      witnessMap.set(`${s.contributionId}:${s.chunkIndex}`, {
        contributionId: s.contributionId,
        chunkIndex: s.chunkIndex,
      });
      cost += costs[end++];
    }
    // A segment earns only if it would be kept on its own: an extended copy's added words do not.
    if (end - w >= MIN_WORDS && cost >= MIN_SPAN_COST) {
      spans.push({
        wordStart: w,
        wordEnd: end,
        byteStart: output.starts[w],
        byteEnd: output.ends[end - 1],
        ...first,
        weight: cost,
      });
    }
    w = end;
  }
  const credits = creditsFromSpans(spans);
  const witnesses = [...witnessMap.values()].sort((a, b) =>
    compareOccurrences({ ...a, chunkWordOffset: 0 }, { ...b, chunkWordOffset: 0 }),
  );
  const outputHash = keccak256(bytesToHex(output.bytes));
  const sortedRoots = canonicalRoots(roots);
  return {
    algorithm: "span-v2",
    outputHash,
    roots: sortedRoots,
    credits,
    spans,
    witnesses,
    commitment: keccak256(encodeSpanV2Result(outputHash, sortedRoots, credits, spans)),
  };
}

/**
 * Step 2 of span-v2 over one index: per output word, the smallest corpus position (which orders as
 * (contributionId, chunkIndex, offset)) of that word inside a kept match.
 * For a start a, the occurrences of a run shrink as it grows, so word w's best source from a is the
 * smallest occurrence of the shortest kept run from a that reaches w.
 */
function firstSourcesIn(words: readonly Uint8Array[], need: Int32Array, index: SpanIndex): Float64Array {
  const m = words.length;
  const best = new Float64Array(m).fill(Number.POSITIVE_INFINITY);
  const symbols = index.symbolsOf(words);
  for (let a = 0; a + MIN_WORDS <= m; a++) {
    const k0 = need[a];
    if (k0 === 0) continue;
    const { lo, hi } = index.matchIntervals(symbols, a, k0);
    const length = lo.length;
    if (length === 0) continue;
    // smallest[k-1]: the smallest occurrence of the run of k words from a (intervals nest as k grows).
    const smallest = new Float64Array(length);
    let g = index.minPosition(lo[length - 1], hi[length - 1]);
    smallest[length - 1] = g;
    for (let k = length - 1; k >= k0; k--) {
      g = Math.min(g, index.minPosition(lo[k - 1], lo[k]), index.minPosition(hi[k], hi[k - 1]));
      smallest[k - 1] = g;
    }
    for (let w = a; w < a + length; w++) {
      const k = Math.max(w - a + 1, k0);
      const at = smallest[k - 1] + (w - a);
      if (at < best[w]) best[w] = at;
    }
  }
  return best;
}

function firstSources(
  words: readonly Uint8Array[],
  indexes: readonly SpanIndex[],
): (Occurrence | undefined)[] {
  const need = keptMatchMinimum(words.map(wordCost));
  const sources: (Occurrence | undefined)[] = new Array(words.length).fill(undefined);
  for (const index of indexes) {
    const best = firstSourcesIn(words, need, index);
    for (let w = 0; w < words.length; w++) {
      if (best[w] === Number.POSITIVE_INFINITY) continue;
      const o = index.occurrenceAt(best[w]);
      const held = sources[w];
      if (!held || compareOccurrences(o, held) < 0) sources[w] = o;
    }
  }
  return sources;
}

/** span-v2 of `output` over the chunks of one or more indexed snapshots, queried together. */
export function attributeSpanV2(output: string | Uint8Array, indexes: readonly SpanIndex[]): SpanV2Result {
  if (!Array.isArray(indexes) || indexes.some((x) => !(x instanceof SpanIndex))) {
    throw new AttributionError("indexes must be an array of SpanIndex");
  }
  const out = outputWords(output);
  return assembleSpanV2(
    out,
    firstSources(out.words, indexes),
    indexes.map((x) => x.root),
  );
}

const NO_ROOT = `0x${"00".repeat(32)}` as Hex;

/** span-v2 over plain chunks (through an in-memory index); `roots` are the snapshots they come from. */
export function computeSpanV2(
  output: string | Uint8Array,
  chunks: readonly SpanChunk[],
  roots: readonly Hex[],
): SpanV2Result {
  const out = outputWords(output);
  return assembleSpanV2(out, firstSources(out.words, [SpanIndex.build(chunks, NO_ROOT)]), roots);
}
