import type { Rng } from "../kernels/rng.ts";
import { ModelInputError } from "./errors.ts";

export interface SamplingOptions {
  /** 0 (default) is greedy */
  temperature?: number;
  /** keep only the k most likely tokens (0: off) */
  topK?: number;
  /** keep the smallest set whose probability reaches p (1: off) */
  topP?: number;
  seed?: number;
}

export function checkSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 0;
  if (!(t >= 0 && t <= 100)) throw new ModelInputError(`temperature must be in [0, 100], got ${t}`);
  const k = o.topK ?? 0;
  if (!Number.isInteger(k) || k < 0)
    throw new ModelInputError(`topK must be a non-negative integer, got ${k}`);
  const p = o.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new ModelInputError(`topP must be in (0, 1], got ${p}`);
}

/** log-softmax of the logits (the model's own distribution, temperature 1). */
export function logSoftmax(logits: Float32Array): Float64Array {
  let mx = -Infinity;
  for (const x of logits) if (x > mx) mx = x;
  let s = 0;
  for (const x of logits) s += Math.exp(x - mx);
  const lse = mx + Math.log(s);
  return Float64Array.from(logits, (x) => x - lse);
}

export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
  return best;
}

/** Picks the next token: greedy at temperature 0, else temperature → top-k → top-p → draw. */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  const t = o.temperature ?? 0;
  if (t === 0) return argmax(logits);
  const idx = Array.from(logits.keys());
  idx.sort((a, b) => logits[b] - logits[a] || a - b);
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, idx.length) : idx.length;
  const top = idx.slice(0, k);
  const mx = logits[top[0]];
  const w = top.map((i) => Math.exp((logits[i] - mx) / t));
  const total = w.reduce((a, b) => a + b, 0);
  const p = o.topP ?? 1;
  let keep = w.length;
  if (p < 1) {
    let acc = 0;
    for (let i = 0; i < w.length; i++) {
      acc += w[i] / total;
      if (acc >= p) {
        keep = i + 1;
        break;
      }
    }
  }
  const kept = w.slice(0, keep);
  const sum = kept.reduce((a, b) => a + b, 0);
  let r = rng.next() * sum;
  for (let i = 0; i < keep; i++) {
    r -= kept[i];
    if (r < 0) return top[i];
  }
  return top[keep - 1];
}
