// The embedded backend: LoRA training with @openledger/ml in this process, step by step so the
// caller can heartbeat, report progress, checkpoint and stop between steps.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { GradientStoreBuilder } from "@openledger/attribution";
import {
  Engine,
  generate,
  LlamaModel,
  type LoraAdapter,
  type LoraAdapterFile,
  lossAndGrad,
  perExampleGradients,
  readLlamaGguf,
  type TrainExample,
  Trainer,
  tokenizerFromHfJson,
  writeGgufLora,
  writePeftAdapter,
} from "@openledger/ml";
import type { DatasetRecord } from "../dataset.ts";
import { TrainingError } from "../errors.ts";
import type { TrainingConfig } from "../hyperparameters.ts";
import { splitDataset } from "./examples.ts";

export interface StepMetrics {
  step: number;
  totalSteps: number;
  loss: number;
  learningRate: number;
  tokens: number;
  trainedTokens: number;
  tokensPerSecond: number;
  etaSeconds: number;
}

export interface TrainHooks {
  onStep?(m: StepMetrics): void | Promise<void>;
  onEval?(e: { step: number; loss: number; perplexity: number }): void | Promise<void>;
  /** called after each checkpoint file is written */
  onCheckpoint?(path: string, step: number, metrics: { train_loss: number }): void | Promise<void>;
  /** true stops the run (cancellation); checked between steps */
  shouldStop?(): boolean;
}

export interface Sample {
  prompt: string;
  base: string;
  adapter: string;
}

/** What a finished run reports (the rest of the curves come from the step events). */
export interface RunMetrics {
  totalSteps: number;
  trainExamples: number;
  heldOutExamples: number;
  trainedTokens: number;
  trainSeconds: number;
  tokensPerSecond: number;
  heldOutLossBefore: number;
  heldOutLossAfter: number;
  perplexityBefore: number;
  perplexityAfter: number;
  samples: Sample[];
}

export interface RunOutput {
  peftDir: string;
  ggufPath: string;
  gradStorePath: string;
  metrics: RunMetrics;
}

export interface EmbeddedRunInput {
  baseGgufPath: string;
  tokenizerJson: string;
  records: DatasetRecord[];
  config: TrainingConfig;
  workDir: string;
  threads?: number;
  /** fused multiply-add kernels: faster, but a checkpoint then resumes to the same bytes only on the same CPU */
  relaxedSimd?: boolean;
  /** a Trainer checkpoint to continue from */
  resumeFrom?: string;
  checkpointEvery?: number;
  /** skip the per-example gradient store (the external backend computes it separately) */
  gradients?: boolean;
  hooks?: TrainHooks;
}

export const GRAD_DIMS = 64;
const SAMPLE_PROMPTS = 3;
const SAMPLE_TOKENS = 32;

export class CancelledError extends Error {
  override name = "CancelledError";
}

export function evalLoss(
  model: LlamaModel,
  examples: TrainExample[],
  adapter: LoraAdapter | null,
  bs: number,
): number {
  let sum = 0;
  let scored = 0;
  for (let i = 0; i < examples.length; i += bs) {
    const r = lossAndGrad(model, examples.slice(i, i + bs), adapter, null);
    sum += r.loss * r.scored;
    scored += r.scored;
  }
  return scored === 0 ? Number.NaN : sum / scored;
}

function diverged(what: string, value: number): TrainingError {
  return new TrainingError(
    "training_diverged",
    `${what} became ${value}; the run diverged (lower the learning rate, or check the base model's weights)`,
  );
}

/** Steps a run will take: whole batches per epoch, at least one. */
export function totalStepsFor(trainCount: number, c: TrainingConfig): number {
  const bs = Math.min(c.batchSize, trainCount);
  return Math.max(1, c.epochs * Math.floor(trainCount / bs));
}

/** Loads the base model and tokenizer into a fresh engine. */
export async function loadBase(
  baseGgufPath: string,
  tokenizerJson: string,
  threads?: number,
  relaxedSimd = false,
) {
  const engine = await Engine.create({ threads, relaxedSimd, maxMemoryMiB: 2048 });
  const { config, weights } = readLlamaGguf(baseGgufPath);
  const model = LlamaModel.fromWeights(engine, config, weights);
  return { engine, model, tokenizer: tokenizerFromHfJson(tokenizerJson) };
}

/** The adapter's projected per-example gradients as a grad-v1 store (one checkpoint: the final adapter). */
export function gradientStore(
  model: LlamaModel,
  adapter: LoraAdapter,
  items: { record: DatasetRecord; example: TrainExample }[],
  c: TrainingConfig,
): Uint8Array {
  const g = perExampleGradients(
    model,
    adapter,
    items.map((i) => i.example),
    { projectDims: GRAD_DIMS, seed: c.seed },
  );
  const builder = new GradientStoreBuilder({
    dims: GRAD_DIMS,
    learningRates: [c.learningRate],
    contributionIds: items.map((i) => BigInt(i.record.contributionId)),
  });
  g.vectors.forEach((v, i) => {
    builder.set(0, i, v);
  });
  return builder.toBuffer();
}

export async function runEmbedded(input: EmbeddedRunInput): Promise<RunOutput> {
  const c = input.config;
  const hooks = input.hooks ?? {};
  const { engine, model, tokenizer } = await loadBase(
    input.baseGgufPath,
    input.tokenizerJson,
    input.threads,
    input.relaxedSimd,
  );
  let trainer: Trainer | null = null;
  try {
    if (c.maxSeqLen > model.config.contextLength) {
      throw new TrainingError(
        "hyperparameter_out_of_range",
        `max_seq_len ${c.maxSeqLen} does not fit the base model's context of ${model.config.contextLength} tokens`,
      );
    }
    const split = splitDataset(tokenizer, input.records, c);
    const train = split.train.map((t) => t.example);
    const heldOut = split.heldOut.map((t) => t.example);
    const evalSet = heldOut.length > 0 ? heldOut : train;
    const totalSteps = totalStepsFor(train.length, c);
    const before = evalLoss(model, evalSet, null, c.batchSize);
    if (!Number.isFinite(before)) throw diverged("the base model's held-out loss", before);
    trainer = input.resumeFrom
      ? Trainer.resume(model, input.resumeFrom)
      : new Trainer(model, {
          mode: "lora",
          lora: { rank: c.rank, alpha: c.alpha, targets: c.targets },
          learningRate: c.learningRate,
          warmupSteps: c.warmupSteps,
          totalSteps,
          weightDecay: c.weightDecay,
          seed: c.seed,
          batchSize: c.batchSize,
          gradClip: 1,
        });
    const adapter = trainer.adapter!;
    if (trainer.step === 0) await hooks.onEval?.({ step: 0, loss: before, perplexity: Math.exp(before) });
    const evalEvery = Math.max(1, Math.floor(totalSteps / 8));
    const checkpointPath = join(input.workDir, "checkpoint.bin");
    let trainedTokens = 0;
    let trainMs = 0;
    while (trainer.step < totalSteps) {
      if (hooks.shouldStop?.()) throw new CancelledError("cancelled");
      const t0 = performance.now();
      let r: ReturnType<Trainer["trainStep"]>;
      try {
        r = trainer.trainStep(trainer.batchFor(train, trainer.step));
      } catch (err) {
        if (/loss became/.test((err as Error).message)) throw diverged("the training loss", Number.NaN);
        throw err;
      }
      trainMs += performance.now() - t0;
      trainedTokens += r.tokens;
      const tps = trainedTokens / (trainMs / 1000);
      await hooks.onStep?.({
        step: r.step,
        totalSteps,
        loss: r.loss,
        learningRate: r.lr,
        tokens: r.tokens,
        trainedTokens,
        tokensPerSecond: tps,
        etaSeconds: ((totalSteps - r.step) * r.tokens) / tps,
      });
      if (r.step % evalEvery === 0 && r.step < totalSteps) {
        const loss = evalLoss(model, evalSet, adapter, c.batchSize);
        if (!Number.isFinite(loss)) throw diverged("the held-out loss", loss);
        await hooks.onEval?.({ step: r.step, loss, perplexity: Math.exp(loss) });
      }
      const every = input.checkpointEvery ?? 0;
      if (every > 0 && r.step % every === 0 && r.step < totalSteps) {
        trainer.saveCheckpoint(checkpointPath);
        await hooks.onCheckpoint?.(checkpointPath, r.step, { train_loss: r.loss });
      }
    }
    const after = evalLoss(model, evalSet, adapter, c.batchSize);
    if (!Number.isFinite(after)) throw diverged("the held-out loss", after);
    await hooks.onEval?.({ step: totalSteps, loss: after, perplexity: Math.exp(after) });

    const file: LoraAdapterFile = adapter.toFile();
    const peftDir = join(input.workDir, "peft");
    mkdirSync(peftDir, { recursive: true });
    writePeftAdapter(peftDir, file);
    const ggufPath = join(input.workDir, "adapter.gguf");
    writeGgufLora(ggufPath, file, model.config);
    const gradStorePath = join(input.workDir, "gradients.olgrad");
    if (input.gradients !== false) {
      let store: Uint8Array;
      try {
        store = gradientStore(model, adapter, split.train, c);
      } catch (err) {
        throw new TrainingError(
          "gradient_overflow",
          `the per-example gradients cannot be stored: ${(err as Error).message}`,
        );
      }
      writeFileSync(gradStorePath, store);
    }
    const samples = await sampleGenerations(model, tokenizer, adapter, split, c);
    return {
      peftDir,
      ggufPath,
      gradStorePath,
      metrics: {
        totalSteps,
        trainExamples: train.length,
        heldOutExamples: heldOut.length,
        trainedTokens,
        trainSeconds: trainMs / 1000,
        tokensPerSecond: trainMs > 0 ? trainedTokens / (trainMs / 1000) : 0,
        heldOutLossBefore: before,
        heldOutLossAfter: after,
        perplexityBefore: Math.exp(before),
        perplexityAfter: Math.exp(after),
        samples,
      },
    };
  } finally {
    trainer?.free();
    model.free();
    await engine.close();
  }
}

/** Greedy continuations of a few held-out prompts (the first line of each text), base beside adapter. */
export async function sampleGenerations(
  model: LlamaModel,
  tokenizer: ReturnType<typeof tokenizerFromHfJson>,
  adapter: LoraAdapter,
  split: ReturnType<typeof splitDataset>,
  c: TrainingConfig,
): Promise<Sample[]> {
  const pool = split.heldOut.length > 0 ? split.heldOut : split.train;
  const eos = tokenizer.eosId ?? tokenizer.bosId;
  const samples: Sample[] = [];
  for (const { record } of pool.slice(0, SAMPLE_PROMPTS)) {
    const nl = record.text.indexOf("\n");
    const prompt = nl > 0 ? record.text.slice(0, nl + 1) : record.text.slice(0, 24);
    const ids = tokenizer.encode(prompt, { addBos: false, allowSpecial: false });
    const promptIds = (eos === undefined ? ids : [eos, ...ids]).slice(
      0,
      Math.max(1, c.maxSeqLen - SAMPLE_TOKENS),
    );
    const opts = {
      maxTokens: SAMPLE_TOKENS,
      temperature: 0,
      stopTokens: eos === undefined ? [] : [eos],
      decode: (t: number[]) => tokenizer.decode(t),
    };
    const base = await generate(model, promptIds, { ...opts, adapter: null });
    const tuned = await generate(model, promptIds, { ...opts, adapter });
    samples.push({ prompt, base: base.text, adapter: tuned.text });
  }
  return samples;
}
