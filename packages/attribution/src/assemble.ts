import { bytesToHex, type Hex, keccak256 } from "viem";
import { canonicalRoots, encodeSpanV1Result } from "./commitment.ts";
import { MIN_SPAN_COST } from "./constants.ts";
import { wordCost } from "./costTable.ts";
import { compareOccurrences } from "./occurrence.ts";
import { creditsFromSpans } from "./shares.ts";
import type { Words } from "./text.ts";
import type { ChunkRef, MaximalSpan, SpanMatch, SpanV1Result } from "./types.ts";

/** Steps 6-9 of span-v1: rarity filter, weights, credit, shares and commitment. */
export function assembleResult(
  output: Words,
  maximal: readonly MaximalSpan[],
  roots: readonly Hex[],
): SpanV1Result {
  const costs = output.words.map(wordCost);
  const spans: SpanMatch[] = [];
  let covered = 0;
  for (const m of maximal) {
    const end = m.wordStart + m.length;
    let cost = 0;
    for (let w = m.wordStart; w < end; w++) cost += costs[w];
    if (cost < MIN_SPAN_COST) continue;
    let weight = 0;
    for (let w = Math.max(m.wordStart, covered); w < end; w++) weight += costs[w];
    covered = end;
    spans.push({
      wordStart: m.wordStart,
      wordEnd: end,
      byteStart: output.starts[m.wordStart],
      byteEnd: output.ends[end - 1],
      ...m.occurrence(),
      weight,
    });
  }
  const credits = creditsFromSpans(spans);
  const witnessMap = new Map<string, ChunkRef>();
  for (const m of [...spans].sort(compareOccurrences)) {
    const ref = { contributionId: m.contributionId, chunkIndex: m.chunkIndex };
    witnessMap.set(`${ref.contributionId}:${ref.chunkIndex}`, ref);
  }
  const outputHash = keccak256(bytesToHex(output.bytes));
  const sortedRoots = canonicalRoots(roots);
  return {
    algorithm: "span-v1",
    outputHash,
    roots: sortedRoots,
    credits,
    spans,
    witnesses: [...witnessMap.values()],
    commitment: keccak256(encodeSpanV1Result(outputHash, sortedRoots, credits, spans)),
  };
}
