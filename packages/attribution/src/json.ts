import type { SpanResult } from "./types.ts";

/** A span-v1 or span-v2 result as plain JSON (contribution ids as decimal strings). */
export function resultToJson(r: SpanResult) {
  return {
    algorithm: r.algorithm,
    outputHash: r.outputHash,
    roots: r.roots,
    commitment: r.commitment,
    credits: r.credits.map((c) => ({ ...c, contributionId: c.contributionId.toString() })),
    spans: r.spans.map((s) => ({ ...s, contributionId: s.contributionId.toString() })),
    witnesses: r.witnesses.map((w) => ({ ...w, contributionId: w.contributionId.toString() })),
  };
}
