// The end-of-job report: JSON with the curves and figures, and an HTML page that draws the loss and
// held-out curves as inline SVG beside sample generations of the base and the adapter.
import type { Sample } from "./train/embedded.ts";

export interface ReportData {
  job: string;
  name: string;
  baseModel: string;
  snapshots: string[];
  steps: { step: number; loss: number; learningRate: number }[];
  evals: { step: number; loss: number }[];
  perplexityBefore: number;
  perplexityAfter: number;
  heldOutLossBefore: number;
  heldOutLossAfter: number;
  trainedTokens: number;
  tokensPerSecond: number;
  samples: Sample[];
}

const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A line chart of one or two series as an SVG element. */
export function lineChart(
  title: string,
  series: { label: string; color: string; points: { x: number; y: number }[] }[],
  width = 560,
  height = 240,
): string {
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  const pad = { l: 48, r: 12, t: 24, b: 28 };
  if (pts.length === 0)
    return `<svg width="${width}" height="${height}"><text x="8" y="20">${esc(title)}: no data</text></svg>`;
  const xMin = Math.min(...pts.map((p) => p.x));
  const xMax = Math.max(...pts.map((p) => p.x), xMin + 1);
  const yMin = Math.min(...pts.map((p) => p.y));
  const yMax = Math.max(...pts.map((p) => p.y), yMin + 1e-6);
  const X = (x: number) => pad.l + ((x - xMin) / (xMax - xMin)) * (width - pad.l - pad.r);
  const Y = (y: number) => pad.t + (1 - (y - yMin) / (yMax - yMin)) * (height - pad.t - pad.b);
  const lines = series
    .map((s) => {
      const d = s.points
        .filter((p) => Number.isFinite(p.y))
        .map((p) => `${X(p.x).toFixed(1)},${Y(p.y).toFixed(1)}`)
        .join(" ");
      return `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${d}"><title>${esc(s.label)}</title></polyline>`;
    })
    .join("");
  const legend = series
    .map(
      (s, i) =>
        `<text x="${pad.l + 8 + i * 140}" y="16" fill="${s.color}" font-size="12">${esc(s.label)}</text>`,
    )
    .join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" role="img" aria-label="${esc(title)}">
<rect width="100%" height="100%" fill="#fff"/>${legend}
<line x1="${pad.l}" y1="${height - pad.b}" x2="${width - pad.r}" y2="${height - pad.b}" stroke="#999"/>
<line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${height - pad.b}" stroke="#999"/>
<text x="4" y="${pad.t + 4}" font-size="11">${yMax.toFixed(2)}</text>
<text x="4" y="${height - pad.b}" font-size="11">${yMin.toFixed(2)}</text>
<text x="${pad.l}" y="${height - 8}" font-size="11">step ${xMin}</text>
<text x="${width - pad.r - 60}" y="${height - 8}" font-size="11">step ${xMax}</text>
${lines}</svg>`;
}

export function reportHtml(r: ReportData): string {
  const chart = lineChart("loss", [
    { label: "training loss", color: "#1f77b4", points: r.steps.map((s) => ({ x: s.step, y: s.loss })) },
    { label: "held-out loss", color: "#d62728", points: r.evals.map((e) => ({ x: e.step, y: e.loss })) },
  ]);
  const samples = r.samples
    .map(
      (s) =>
        `<tr><td><pre>${esc(s.prompt)}</pre></td><td><pre>${esc(s.base)}</pre></td><td><pre>${esc(s.adapter)}</pre></td></tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.name)}: training report</title>
<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto}td,th{vertical-align:top;border:1px solid #ddd;padding:4px}pre{white-space:pre-wrap;margin:0}</style></head>
<body><h1>${esc(r.name)}</h1>
<p>Job <code>${esc(r.job)}</code>: LoRA on <b>${esc(r.baseModel)}</b> over ${r.snapshots.map((s) => `<code>${esc(s)}</code>`).join(", ")}.</p>
<table><tr><th></th><th>before</th><th>after</th></tr>
<tr><td>held-out loss</td><td>${r.heldOutLossBefore.toFixed(4)}</td><td>${r.heldOutLossAfter.toFixed(4)}</td></tr>
<tr><td>held-out perplexity</td><td>${r.perplexityBefore.toFixed(2)}</td><td>${r.perplexityAfter.toFixed(2)}</td></tr></table>
<p>${r.trainedTokens} tokens trained at ${r.tokensPerSecond.toFixed(0)} tokens/s.</p>
${chart}
<h2>Samples (greedy)</h2>
<table><tr><th>prompt</th><th>base</th><th>adapter</th></tr>
${samples}</table></body></html>
`;
}
