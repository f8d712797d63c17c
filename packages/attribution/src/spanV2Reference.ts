import type { Hex } from "viem";
import { canonicalChunks } from "./chunks.ts";
import { wordCost } from "./costTable.ts";
import { compareOccurrences } from "./occurrence.ts";
import { assembleSpanV2, keptMatchMinimum } from "./spanV2.ts";
import { outputWords, splitWords } from "./text.ts";
import type { Occurrence, SpanChunk, SpanV2Result } from "./types.ts";

const latin1 = new TextDecoder("latin1");

/**
 * span-v2 by brute force, straight from the specification: every (output position, chunk position)
 * pair, every kept match it yields and every word that match covers. The indexed version is tested
 * against it.
 */
export function spanV2Reference(
  output: string | Uint8Array,
  chunks: readonly SpanChunk[],
  roots: readonly Hex[],
): SpanV2Result {
  const out = outputWords(output);
  const o = out.words.map((w) => latin1.decode(w));
  const need = keptMatchMinimum(out.words.map(wordCost));
  const m = o.length;
  const sources: (Occurrence | undefined)[] = new Array(m).fill(undefined);
  for (const c of canonicalChunks(chunks)) {
    const words = splitWords(c.bytes).words.map((w) => latin1.decode(w));
    for (let a = 0; a < m; a++) {
      if (need[a] === 0) continue;
      for (let j = 0; j < words.length; j++) {
        let k = 0;
        while (a + k < m && j + k < words.length && o[a + k] === words[j + k]) k++;
        if (k < need[a]) continue;
        // [a, a + k) is a kept match at (c, j): it covers each of its words.
        for (let w = a; w < a + k; w++) {
          const at = {
            contributionId: c.contributionId,
            chunkIndex: c.chunkIndex,
            chunkWordOffset: j + w - a,
          };
          const held = sources[w];
          if (!held || compareOccurrences(at, held) < 0) sources[w] = at;
        }
      }
    }
  }
  return assembleSpanV2(out, sources, roots);
}
