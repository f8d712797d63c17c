// Per-example gradients of the loss with respect to LoRA parameters, for gradient-based attribution
// (TRAK / LoGra style): each example's flattened gradient, optionally projected to k dimensions by a
// seeded Gaussian random matrix so gradients of different examples can be compared cheaply.
import { Rng } from "../kernels/rng.ts";
import { ModelInputError } from "../model/errors.ts";
import type { LlamaModel } from "../model/llama.ts";
import { type LoraGrad, lossAndGrad, type TrainExample } from "../train/backprop.ts";
import type { LoraAdapter, LoraSlot } from "./adapter.ts";

export interface PerExampleOptions {
  /** project each gradient to this many dimensions (absent: the full gradient) */
  projectDims?: number;
  /** seed of the projection matrix; default 0 */
  seed?: number;
}

export interface PerExampleGradients {
  /** one vector per example: full length parameterCount, or projectDims */
  vectors: Float32Array[];
  losses: number[];
  /** flattening order: for each slot (layer, then target order), A then B */
  parameterCount: number;
}

/** Projection rows: R[j] ~ N(0, 1/k) over the flattened parameters, generated from the seed. */
function projection(k: number, P: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const r = new Float32Array(k * P);
  const s = 1 / Math.sqrt(k);
  for (let i = 0; i < r.length; i++) r[i] = rng.normal() * s;
  return r;
}

export function perExampleGradients(
  model: LlamaModel,
  adapter: LoraAdapter,
  examples: TrainExample[],
  options: PerExampleOptions = {},
): PerExampleGradients {
  const e = model.engine;
  const slots: LoraSlot[] = adapter.orderedSlots();
  const P = adapter.parameterCount;
  const k = options.projectDims;
  if (k !== undefined && (!Number.isInteger(k) || k < 1 || k > 65536)) {
    throw new ModelInputError(`projectDims must be an integer in 1..65536, got ${k}`);
  }
  const grads = new Map<LoraSlot, LoraGrad>();
  for (const s of slots) grads.set(s, { dA: e.alloc(s.A.length), dB: e.alloc(s.B.length) });
  const G = e.alloc(examples.length * P);
  const losses: number[] = [];
  try {
    const gv = G.f32;
    examples.forEach((ex, i) => {
      for (const g of grads.values()) {
        g.dA.f32.fill(0);
        g.dB.f32.fill(0);
      }
      losses.push(lossAndGrad(model, [ex], adapter, { full: null, lora: grads }).loss);
      let at = i * P;
      for (const s of slots) {
        const g = grads.get(s)!;
        gv.set(g.dA.f32, at);
        at += s.A.length;
        gv.set(g.dB.f32, at);
        at += s.B.length;
      }
    });
    if (k === undefined) {
      return { vectors: examples.map((_, i) => gv.slice(i * P, (i + 1) * P)), losses, parameterCount: P };
    }
    const R = e.from(projection(k, P, options.seed ?? 0));
    const out = e.alloc(examples.length * k);
    e.matmulABt(G, R, out, examples.length, k, P);
    const ov = out.f32;
    const vectors = examples.map((_, i) => ov.slice(i * k, (i + 1) * k));
    R.free();
    out.free();
    return { vectors, losses, parameterCount: P };
  } finally {
    G.free();
    for (const g of grads.values()) {
      g.dA.free();
      g.dB.free();
    }
  }
}
