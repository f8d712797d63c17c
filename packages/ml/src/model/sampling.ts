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

/** Indices of the k largest values, largest first (ties: lower index first); O(V·log k). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  k = Math.min(k, values.length);
  if (k <= 0) return [];
  // min-heap of the best k seen so far, ordered by (value, -index)
  const heap: number[] = [];
  const worse = (a: number, b: number) => values[a] < values[b] || (values[a] === values[b] && a > b);
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && worse(heap[l], heap[m])) m = l;
      if (r < heap.length && worse(heap[r], heap[m])) m = r;
      if (m === i) return;
      [heap[i], heap[m]] = [heap[m], heap[i]];
      i = m;
    }
  };
  for (let i = 0; i < values.length; i++) {
    if (heap.length < k) {
      heap.push(i);
      for (let j = heap.length - 1; j > 0; ) {
        const p = (j - 1) >> 1;
        if (!worse(heap[j], heap[p])) break;
        [heap[j], heap[p]] = [heap[p], heap[j]];
        j = p;
      }
    } else if (worse(heap[0], i)) {
      heap[0] = i;
      down(0);
    }
  }
  return heap.sort((a, b) => values[b] - values[a] || a - b);
}

/** Picks the next token: greedy at temperature 0, else temperature → top-k → top-p → draw. */
export function sampleToken(logits: Float32Array, o: SamplingOptions, rng: Rng): number {
  const t = o.temperature ?? 0;
  if (t === 0) return argmax(logits);
  const p = o.topP ?? 1;
  const k = o.topK && o.topK > 0 ? Math.min(o.topK, logits.length) : logits.length;
  if (k === logits.length && p >= 1) {
    // plain temperature sampling: no ordering needed
    let mx = -Infinity;
    for (const x of logits) if (x > mx) mx = x;
    const w = new Float64Array(logits.length);
    let total = 0;
    for (let i = 0; i < w.length; i++) total += w[i] = Math.exp((logits[i] - mx) / t);
    let r = rng.next() * total;
    for (let i = 0; i < w.length; i++) {
      r -= w[i];
      if (r < 0) return i;
    }
    return w.length - 1;
  }
  const top = topIndices(logits, k);
  const mx = logits[top[0]];
  const w = top.map((i) => Math.exp((logits[i] - mx) / t));
  const total = w.reduce((a, b) => a + b, 0);
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
  let sum = 0;
  for (let i = 0; i < keep; i++) sum += w[i];
  let r = rng.next() * sum;
  for (let i = 0; i < keep; i++) {
    r -= w[i];
    if (r < 0) return top[i];
  }
  return top[keep - 1];
}
