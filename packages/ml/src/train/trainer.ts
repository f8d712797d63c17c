import { closeSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import type { Buf } from "../kernels/engine.ts";
import { QTensor } from "../kernels/qtensor.ts";
import { Rng } from "../kernels/rng.ts";
import { LoraAdapter, type LoraOptions, type LoraSlot } from "../lora/adapter.ts";
import { ModelInputError } from "../model/errors.ts";
import type { LlamaModel } from "../model/llama.ts";
import { type GradSink, type LoraGrad, type LossResult, lossAndGrad, type TrainExample } from "./backprop.ts";
import { AdamW, type AdamWOptions, learningRateAt, type Param, type ScheduleOptions } from "./optim.ts";

export class CheckpointError extends Error {
  override name = "CheckpointError";
}

export interface TrainerOptions extends ScheduleOptions, AdamWOptions {
  /** "lora": train a LoRA adapter on a frozen base; "full": train every weight (pre-training) */
  mode: "lora" | "full";
  /** adapter shape for mode "lora" (ignored when an adapter is passed in) */
  lora?: LoraOptions;
  /** clip the global gradient norm to this (0: no clipping); default 1 */
  gradClip?: number;
  /** seeds adapter init and the data order */
  seed: number;
  /** examples per step for run(); default 8 */
  batchSize?: number;
  /**
   * gradient accumulation: run each step's batch through the model this many examples at a time and
   * sum their gradients (the same update as the whole batch, with activation memory for this many);
   * default: the whole batch at once
   */
  microBatchSize?: number;
  /** activation checkpointing (recompute each layer in the backward pass): for long sequences */
  checkpointActivations?: boolean;
}

export interface StepResult extends LossResult {
  step: number;
  lr: number;
  gradNorm: number;
}

const MAGIC = "OLTRAIN1";

/**
 * Trains a LoRA adapter (base frozen) or the full model with AdamW, warm-up + cosine schedule and
 * gradient clipping. The data order is a pure function of (seed, step), so a run resumed from a
 * checkpoint continues exactly as if it had not stopped.
 */
export class Trainer {
  readonly adapter: LoraAdapter | null;
  readonly optimizer: AdamW;
  step = 0;
  private readonly sink: GradSink;
  private ownsAdapter: boolean;

  constructor(
    readonly model: LlamaModel,
    readonly options: TrainerOptions,
    adapter?: LoraAdapter,
  ) {
    const o = options;
    if (!(o.learningRate > 0))
      throw new ModelInputError(`learningRate must be positive, got ${o.learningRate}`);
    if (o.microBatchSize !== undefined && !(Number.isInteger(o.microBatchSize) && o.microBatchSize >= 1))
      throw new ModelInputError(`microBatchSize must be a positive integer, got ${o.microBatchSize}`);
    if (!Number.isInteger(o.totalSteps) || o.totalSteps < 1)
      throw new ModelInputError("totalSteps must be a positive integer");
    if (!Number.isInteger(o.warmupSteps) || o.warmupSteps < 0)
      throw new ModelInputError("warmupSteps must be >= 0");
    const e = model.engine;
    const params: Param[] = [];
    this.ownsAdapter = o.mode === "lora" && !adapter;
    if (o.mode === "lora") {
      if (!adapter && !o.lora) throw new ModelInputError('mode "lora" needs options.lora or an adapter');
      this.adapter = adapter ?? LoraAdapter.create(e, model.config, o.lora!, o.seed);
      const grads = new Map<LoraSlot, LoraGrad>();
      this.adapter.slots.forEach((m, l) => {
        for (const [t, s] of m) {
          const g = { dA: e.alloc(s.A.length), dB: e.alloc(s.B.length) };
          grads.set(s, g);
          params.push({ name: `${l}.${t}.A`, value: s.A, grad: g.dA, decay: true });
          params.push({ name: `${l}.${t}.B`, value: s.B, grad: g.dB, decay: true });
        }
      });
      this.sink = { full: null, lora: grads };
    } else if (o.mode === "full") {
      this.adapter = null;
      const grads = new Map<string, Buf>();
      for (const [name, buf] of model.params) {
        if (buf instanceof QTensor) {
          for (const g of grads.values()) g.free();
          throw new ModelInputError(
            `full-parameter training needs float32 weights; '${name}' is ${buf.typeName}, kept packed: use mode "lora", or load the model with readLlamaGguf + LlamaModel.fromWeights`,
          );
        }
        const g = e.alloc(buf.length);
        grads.set(name, g);
        params.push({ name, value: buf, grad: g, decay: !/norm\.weight$|\.bias$/.test(name) });
      }
      this.sink = { full: grads, lora: null };
    } else throw new ModelInputError(`mode must be "lora" or "full", got ${String(o.mode)}`);
    this.optimizer = new AdamW(params, o);
  }

  /** One optimisation step on one batch (in micro-batches of microBatchSize when set). */
  trainStep(batch: TrainExample[]): StepResult {
    this.optimizer.zeroGrad();
    const r = this.accumulate(batch);
    if (!Number.isFinite(r.loss))
      throw new ModelInputError(`loss became ${r.loss} at step ${this.step}; lower the learning rate`);
    const gradNorm = this.optimizer.gradNorm();
    const clip = this.options.gradClip ?? 1;
    const scale = clip > 0 && gradNorm > clip ? clip / gradNorm : 1;
    const lr = learningRateAt(this.options, this.step);
    this.optimizer.step(lr, scale);
    this.step++;
    return { ...r, step: this.step, lr, gradNorm };
  }

  /** Loss and summed gradients of the batch, micro-batch by micro-batch. */
  private accumulate(batch: TrainExample[]): LossResult {
    const micro = this.options.microBatchSize ?? batch.length;
    const checkpoint = this.options.checkpointActivations === true;
    if (micro >= batch.length) return lossAndGrad(this.model, batch, this.adapter, this.sink, { checkpoint });
    let scored = 0;
    for (const ex of batch) for (let i = 0; i < ex.targets.length; i++) if (ex.targets[i] >= 0) scored++;
    if (scored === 0) throw new ModelInputError("the batch has no scored targets (all masked)");
    let sum = 0;
    let tokens = 0;
    for (let i = 0; i < batch.length; i += micro) {
      const part = batch.slice(i, i + micro);
      if (!part.some((ex) => Array.prototype.some.call(ex.targets, (t: number) => t >= 0))) continue;
      const r = lossAndGrad(this.model, part, this.adapter, this.sink, {
        gradientDivisor: scored,
        checkpoint,
      });
      sum += r.loss * r.scored;
      tokens += r.tokens;
    }
    return { loss: sum / scored, scored, tokens };
  }

  /** Releases gradients and optimiser state, and the adapter if this trainer created it. */
  free(): void {
    for (const p of this.optimizer.params) p.grad.free();
    this.optimizer.free();
    if (this.ownsAdapter) this.adapter?.free();
  }

  /** Loss without gradients (held-out evaluation), in batches of batchSize. */
  evaluate(examples: TrainExample[]): LossResult {
    const bs = this.options.batchSize ?? 8;
    let sum = 0;
    let scored = 0;
    let tokens = 0;
    for (let i = 0; i < examples.length; i += bs) {
      const r = lossAndGrad(this.model, examples.slice(i, i + bs), this.adapter, null);
      sum += r.loss * r.scored;
      scored += r.scored;
      tokens += r.tokens;
    }
    return { loss: sum / scored, scored, tokens };
  }

  /** The batch that step `step` trains on: a seeded shuffle per epoch. */
  batchFor(examples: TrainExample[], step: number): TrainExample[] {
    const bs = Math.min(this.options.batchSize ?? 8, examples.length);
    const perEpoch = Math.floor(examples.length / bs);
    const epoch = Math.floor(step / perEpoch);
    const at = (step % perEpoch) * bs;
    const order = Array.from(examples.keys());
    const rng = new Rng((this.options.seed ^ Math.imul(epoch + 1, 0x9e3779b1)) >>> 0);
    for (let i = order.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    return order.slice(at, at + bs).map((i) => examples[i]);
  }

  /**
   * Trains until `totalSteps` (or `steps` more), checkpointing every `checkpointEvery` steps to
   * `checkpointPath` when given. `onStep` sees every result.
   */
  run(
    examples: TrainExample[],
    opts: {
      steps?: number;
      onStep?: (r: StepResult) => void;
      checkpointPath?: string;
      checkpointEvery?: number;
    } = {},
  ): StepResult | null {
    if (examples.length === 0) throw new ModelInputError("no training examples");
    const end = Math.min(this.options.totalSteps, this.step + (opts.steps ?? Number.POSITIVE_INFINITY));
    let last: StepResult | null = null;
    while (this.step < end) {
      last = this.trainStep(this.batchFor(examples, this.step));
      opts.onStep?.(last);
      if (opts.checkpointPath && opts.checkpointEvery && this.step % opts.checkpointEvery === 0) {
        this.saveCheckpoint(opts.checkpointPath);
      }
    }
    return last;
  }

  /** Writes trainable values and optimiser state (atomically: temp file, then rename). */
  saveCheckpoint(path: string): void {
    const ps = this.optimizer.params;
    const header = JSON.stringify({
      step: this.step,
      adamT: this.optimizer.t,
      options: this.options,
      lora: this.adapter?.options ?? null,
      params: ps.map((p) => ({ name: p.name, length: p.value.length })),
    });
    const tmp = `${path}.tmp`;
    const fd = openSync(tmp, "w");
    try {
      const h = Buffer.from(header);
      const pre = Buffer.alloc(12);
      pre.write(MAGIC, 0, "latin1");
      pre.writeUInt32LE(h.length, 8);
      writeSync(fd, pre);
      writeSync(fd, h);
      ps.forEach((p, k) => {
        for (const a of [p.value.f32, this.optimizer.m[k].f32, this.optimizer.v[k].f32]) {
          writeSync(fd, new Uint8Array(a.buffer.slice(a.byteOffset, a.byteOffset + a.byteLength)));
        }
      });
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  }

  /** Restores a trainer (and its adapter, in LoRA mode) from a checkpoint on the same base model. */
  static resume(model: LlamaModel, path: string): Trainer {
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch (e) {
      throw new CheckpointError(`cannot read checkpoint ${path}: ${(e as Error).message}`);
    }
    if (bytes.length < 12 || bytes.toString("latin1", 0, 8) !== MAGIC) {
      throw new CheckpointError(`${path} is not a training checkpoint`);
    }
    const hl = bytes.readUInt32LE(8);
    if (12 + hl > bytes.length) throw new CheckpointError(`${path}: truncated header`);
    const header = JSON.parse(bytes.toString("utf8", 12, 12 + hl)) as {
      step: number;
      adamT: number;
      options: TrainerOptions;
      lora: LoraOptions | null;
      params: { name: string; length: number }[];
    };
    const adapter = header.lora ? LoraAdapter.create(model.engine, model.config, header.lora, 0) : undefined;
    const t = new Trainer(model, header.options, adapter);
    t.ownsAdapter = adapter !== undefined;
    const ps = t.optimizer.params;
    if (ps.length !== header.params.length) {
      throw new CheckpointError(
        `${path}: holds ${header.params.length} tensors, this model/adapter has ${ps.length}`,
      );
    }
    let off = 12 + hl;
    ps.forEach((p, k) => {
      const h = header.params[k];
      if (h.name !== p.name || h.length !== p.value.length) {
        throw new CheckpointError(
          `${path}: tensor '${h.name}' (${h.length}) does not match '${p.name}' (${p.value.length})`,
        );
      }
      for (const dst of [p.value.f32, t.optimizer.m[k].f32, t.optimizer.v[k].f32]) {
        const n = dst.length * 4;
        if (off + n > bytes.length)
          throw new CheckpointError(`${path}: truncated at tensor '${h.name}' (offset ${off})`);
        dst.set(new Float32Array(bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + n)));
        off += n;
      }
    });
    t.step = header.step;
    t.optimizer.t = header.adamT;
    return t;
  }
}
