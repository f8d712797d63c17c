import type { Buf } from "../kernels/engine.ts";
import { ModelInputError } from "../model/errors.ts";

export interface ScheduleOptions {
  learningRate: number;
  /** linear warm-up from 0 over this many steps */
  warmupSteps: number;
  /** cosine decay ends here */
  totalSteps: number;
  /** floor of the cosine decay; default learningRate / 10 */
  minLearningRate?: number;
}

/** Learning rate at `step` (0-based): linear warm-up, then cosine decay to the floor. */
export function learningRateAt(o: ScheduleOptions, step: number): number {
  const min = o.minLearningRate ?? o.learningRate / 10;
  if (step < o.warmupSteps) return (o.learningRate * (step + 1)) / o.warmupSteps;
  const span = Math.max(1, o.totalSteps - o.warmupSteps);
  const t = Math.min(1, (step - o.warmupSteps) / span);
  return min + 0.5 * (o.learningRate - min) * (1 + Math.cos(Math.PI * t));
}

export interface AdamWOptions {
  beta1?: number;
  beta2?: number;
  eps?: number;
  weightDecay?: number;
}

export interface Param {
  name: string;
  value: Buf;
  grad: Buf;
  /** weight decay applies (matrices, not norms or biases) */
  decay: boolean;
}

/** AdamW with bias correction; parameters and moments live in engine memory. */
export class AdamW {
  readonly m: Buf[];
  readonly v: Buf[];
  t = 0;

  constructor(
    readonly params: Param[],
    readonly o: AdamWOptions = {},
  ) {
    this.m = params.map((p) => p.value.engine.alloc(p.value.length));
    this.v = params.map((p) => p.value.engine.alloc(p.value.length));
  }

  /** Global L2 norm of all gradients. */
  gradNorm(): number {
    let s = 0;
    for (const p of this.params) s += p.grad.engine.sumSquares(p.grad);
    return Math.sqrt(s);
  }

  /** One update with learning rate lr; gradients are multiplied by gradScale first (clipping). */
  step(lr: number, gradScale = 1): void {
    if (!Number.isFinite(lr) || !Number.isFinite(gradScale)) {
      throw new ModelInputError("non-finite learning rate or gradient");
    }
    const beta1 = this.o.beta1 ?? 0.9;
    const beta2 = this.o.beta2 ?? 0.999;
    const eps = this.o.eps ?? 1e-8;
    const wd = this.o.weightDecay ?? 0;
    this.t++;
    const c1 = 1 - beta1 ** this.t;
    const c2 = 1 - beta2 ** this.t;
    this.params.forEach((p, k) => {
      p.value.engine.adamw(p.value, p.grad, this.m[k], this.v[k], {
        lr,
        beta1,
        beta2,
        eps,
        decay: p.decay ? lr * wd : 0,
        c1,
        c2,
        gradScale,
      });
    });
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad.f32.fill(0);
  }

  free(): void {
    for (const b of [...this.m, ...this.v]) b.free();
  }
}
