import type { SpanResult } from "./types.ts";

const COLORS = [32, 36, 33, 35, 34, 31];
const decoder = new TextDecoder();

/**
 * The output with matched spans highlighted (ANSI colours per contribution, or [[...]]#id markers
 * without colour) and a table of credited contributions.
 */
export function renderAttribution(
  nfcOutput: Uint8Array,
  result: SpanResult,
  opts: { color: boolean },
): string {
  const colorOf = new Map(result.credits.map((c, k) => [c.contributionId, COLORS[k % COLORS.length]]));
  let text = "";
  let p = 0;
  for (const s of result.spans) {
    const start = Math.max(p, s.byteStart);
    text += decoder.decode(nfcOutput.subarray(p, start));
    const piece = decoder.decode(nfcOutput.subarray(start, s.byteEnd));
    text += opts.color
      ? `\x1b[1;${colorOf.get(s.contributionId)}m${piece}\x1b[0m`
      : `[[${piece}]]#${s.contributionId}`;
    p = Math.max(p, s.byteEnd);
  }
  text += decoder.decode(nfcOutput.subarray(p));
  const rows = result.credits.map((c) => {
    const spans = result.spans.filter((s) => s.contributionId === c.contributionId);
    const where = spans.map((s) => `chunk ${s.chunkIndex} word ${s.chunkWordOffset}`).join(", ");
    return [
      c.contributionId.toString(),
      `${(c.share / 10_000).toFixed(4)} %`,
      String(c.weight),
      String(spans.length),
      where,
    ];
  });
  const header = ["contribution", "share", "weight", "spans", "where"];
  const widths = header.map((h, k) => Math.max(h.length, ...rows.map((r) => r[k].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, k) => c.padEnd(widths[k]))
      .join("  ")
      .trimEnd();
  const table = rows.length
    ? [line(header), ...rows.map(line)].join("\n")
    : "no contribution credited (no rare span of 4+ words matched)";
  return `${text}\n\n${table}\ncommitment ${result.commitment}`;
}
