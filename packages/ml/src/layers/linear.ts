// A linear layer with per-row LoRA adapters: out (+)= x·Wᵀ + bias + Σ_runs scale·(x·Aᵀ)·Bᵀ, and its
// backward (input gradient through f32 or packed W, full-weight and LoRA gradients).
import type { Buf, Engine } from "../kernels/engine.ts";
import type { Weight } from "../kernels/qtensor.ts";
import type { LoraTarget } from "../lora/adapter.ts";
import type { AdapterRun } from "../model/forward.ts";
import type { GradSink } from "../train/backprop.ts";

/**
 * out (+)= x·Wᵀ + bias + Σ_runs scale·(x·Aᵀ)·Bᵀ. x [N, inDim], W [outDim, inDim]. The scaled x·Aᵀ of
 * each run is left in xa for the backward pass.
 */
export function linearForward(
  e: Engine,
  x: Buf,
  N: number,
  W: Weight,
  bias: Buf | null,
  out: Buf,
  accumulate: boolean,
  runs: AdapterRun[],
  layer: number,
  target: LoraTarget,
  xa: Buf | undefined,
  rmax: number,
  exact = false,
): void {
  const outDim = W.length / (x.length / N);
  const inDim = x.length / N;
  e.linear(x, W, out, N, outDim, inDim, { accumulate, exact });
  biasAndLora(e, x, N, W, bias, out, runs, layer, target, xa, rmax);
}

/** One projection of linearForwardEach. */
export interface Projection {
  W: Weight;
  bias: Buf | null;
  out: Buf;
  target: LoraTarget;
  xa: Buf | undefined;
}

/**
 * linearForward (without accumulation) of several projections of the same input (q/k/v, gate/up): the
 * base matmuls share one preparation of x (decode-sized calls quantise it once).
 */
export function linearForwardEach(
  e: Engine,
  x: Buf,
  N: number,
  ps: Projection[],
  runs: AdapterRun[],
  layer: number,
  rmax: number,
  exact = false,
): void {
  e.linearEach(
    x,
    ps.map((p) => p.W),
    ps.map((p) => p.out),
    N,
    x.length / N,
    { exact },
  );
  for (const p of ps) biasAndLora(e, x, N, p.W, p.bias, p.out, runs, layer, p.target, p.xa, rmax);
}

/** out += bias + Σ_runs scale·(x·Aᵀ)·Bᵀ, the scaled x·Aᵀ of each run left in xa. */
function biasAndLora(
  e: Engine,
  x: Buf,
  N: number,
  W: Weight,
  bias: Buf | null,
  out: Buf,
  runs: AdapterRun[],
  layer: number,
  target: LoraTarget,
  xa: Buf | undefined,
  rmax: number,
): void {
  const inDim = x.length / N;
  const outDim = W.length / inDim;
  if (bias) {
    for (let r = 0; r < N; r++) {
      const row = out.at(r * outDim, outDim);
      e.add(row, bias, row, outDim);
    }
  }
  for (const run of runs) {
    const slot = run.adapter?.slots[layer].get(target);
    if (!slot || !xa) continue;
    const n = run.r1 - run.r0;
    const xar = xa.at(run.r0 * rmax);
    e.matmulABt(x.at(run.r0 * inDim), slot.A, xar, n, slot.rank, inDim, { ldc: rmax });
    const v = xar.f32;
    for (let r = 0; r < n; r++) for (let j = 0; j < slot.rank; j++) v[r * rmax + j] *= slot.scale;
    e.matmulABt(xar, slot.B, out.at(run.r0 * outDim), n, outDim, slot.rank, { lda: rmax, accumulate: true });
  }
}

export function linearBackward(
  e: Engine,
  dy: Buf,
  x: Buf,
  N: number,
  W: Weight,
  dx: Buf | null,
  dxAccumulate: boolean,
  gradW: Buf | null,
  gradBias: Buf | null,
  runs: AdapterRun[],
  layer: number,
  target: LoraTarget,
  xa: Buf | undefined,
  rmax: number,
  sink: GradSink,
  dxa: Buf,
): void {
  const inDim = x.length / N;
  const outDim = W.length / inDim;
  if (dx) e.linearInputGrad(dy, W, dx, N, outDim, inDim, dxAccumulate);
  if (gradW) e.matmulAtB(dy, x, gradW, outDim, inDim, N, { accumulate: true });
  if (gradBias) {
    const g = gradBias.f32;
    const d = dy.f32;
    for (let r = 0; r < N; r++) for (let j = 0; j < outDim; j++) g[j] += d[r * outDim + j];
  }
  for (const run of runs) {
    const slot = run.adapter?.slots[layer].get(target);
    if (!slot || !xa) continue;
    const n = run.r1 - run.r0;
    const dyr = dy.at(run.r0 * outDim);
    const xr = x.at(run.r0 * inDim);
    const g = sink.lora?.get(slot);
    if (g)
      e.matmulAtB(dyr, xa.at(run.r0 * rmax), g.dB, outDim, slot.rank, n, { ldb: rmax, accumulate: true });
    e.matmulAB(dyr, slot.B, dxa, n, slot.rank, outDim);
    const v = dxa.f32;
    for (let i = 0; i < n * slot.rank; i++) v[i] *= slot.scale;
    if (g) e.matmulAtB(dxa, xr, g.dA, slot.rank, inDim, n, { accumulate: true });
    if (dx) e.matmulAB(dxa, slot.A, dx.at(run.r0 * inDim), n, inDim, slot.rank, { accumulate: true });
  }
}
