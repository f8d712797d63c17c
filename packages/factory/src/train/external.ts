// The external-trainer backend: writes the split data as JSONL and a generated config, runs a
// configured command (PEFT/TRL, Axolotl, LLaMA-Factory on a GPU box, or this project's own trainer),
// then imports the PEFT safetensors it writes and evaluates, converts and fingerprints them here.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  LoraAdapter,
  type LoraAdapterFile,
  readPeftAdapter,
  tokenizerFromHfJson,
  writeGgufLora,
} from "@openledger/ml";
import { TrainingError } from "../errors.ts";
import {
  type EmbeddedRunInput,
  evalLoss,
  gradientStore,
  loadBase,
  type RunOutput,
  sampleGenerations,
  totalStepsFor,
} from "./embedded.ts";
import { splitDataset } from "./examples.ts";

export interface ExternalTrainer {
  /**
   * Shell command; `{config}`, `{data_dir}`, `{output_dir}` and `{base_model}` are replaced by quoted
   * paths. It must leave adapter_config.json + adapter_model.safetensors (PEFT) in `{output_dir}`.
   */
  command: string;
}

/** The config file handed to the external trainer (field names follow PEFT/LLaMA-Factory usage). */
export interface ExternalTrainerConfig {
  base_model_gguf: string;
  tokenizer_json: string;
  train_file: string;
  eval_file: string;
  output_dir: string;
  finetuning_type: "lora";
  lora_rank: number;
  lora_alpha: number;
  lora_target: string[];
  learning_rate: number;
  num_train_epochs: number;
  per_device_train_batch_size: number;
  cutoff_len: number;
  warmup_steps: number;
  weight_decay: number;
  seed: number;
  max_steps: number;
}

const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

export async function runExternal(
  input: EmbeddedRunInput & { trainer: ExternalTrainer },
): Promise<RunOutput> {
  const c = input.config;
  const hooks = input.hooks ?? {};
  const tokenizer = tokenizerFromHfJson(input.tokenizerJson);
  const split = splitDataset(tokenizer, input.records, c);
  const dataDir = join(input.workDir, "data");
  const outputDir = join(input.workDir, "external-output");
  mkdirSync(dataDir, { recursive: true });
  mkdirSync(outputDir, { recursive: true });
  const jsonl = (items: typeof split.train) =>
    items.map((i) => `${JSON.stringify({ text: i.record.text })}\n`).join("");
  writeFileSync(join(dataDir, "train.jsonl"), jsonl(split.train));
  writeFileSync(join(dataDir, "eval.jsonl"), jsonl(split.heldOut));
  const tokenizerPath = join(input.workDir, "tokenizer.json");
  writeFileSync(tokenizerPath, input.tokenizerJson);
  const totalSteps = totalStepsFor(split.train.length, c);
  const config: ExternalTrainerConfig = {
    base_model_gguf: input.baseGgufPath,
    tokenizer_json: tokenizerPath,
    train_file: join(dataDir, "train.jsonl"),
    eval_file: join(dataDir, "eval.jsonl"),
    output_dir: outputDir,
    finetuning_type: "lora",
    lora_rank: c.rank,
    lora_alpha: c.alpha,
    lora_target: c.targets,
    learning_rate: c.learningRate,
    num_train_epochs: c.epochs,
    per_device_train_batch_size: c.batchSize,
    cutoff_len: c.maxSeqLen,
    warmup_steps: c.warmupSteps,
    weight_decay: c.weightDecay,
    seed: c.seed,
    max_steps: totalSteps,
  };
  const configPath = join(input.workDir, "train-config.json");
  writeFileSync(configPath, `${JSON.stringify(config, null, 2)}\n`);
  const command = input.trainer.command
    .replaceAll("{config}", quote(configPath))
    .replaceAll("{data_dir}", quote(dataDir))
    .replaceAll("{output_dir}", quote(outputDir))
    .replaceAll("{base_model}", quote(input.baseGgufPath));
  await runCommand(command, configPath, totalSteps, hooks);

  let file: LoraAdapterFile;
  try {
    file = readPeftAdapter(outputDir);
  } catch (err) {
    throw new TrainingError(
      "invalid_external_output",
      `the external trainer left no readable PEFT adapter in its output dir: ${(err as Error).message}`,
    );
  }
  const { engine, model } = await loadBase(input.baseGgufPath, input.tokenizerJson, input.threads);
  let adapter: LoraAdapter | null = null;
  try {
    try {
      adapter = LoraAdapter.fromFile(engine, model.config, file);
    } catch (err) {
      throw new TrainingError(
        "invalid_external_output",
        `the PEFT adapter does not fit the base model: ${(err as Error).message}`,
      );
    }
    const evalSet = (split.heldOut.length ? split.heldOut : split.train).map((i) => i.example);
    const before = evalLoss(model, evalSet, null, c.batchSize);
    const after = evalLoss(model, evalSet, adapter, c.batchSize);
    if (!Number.isFinite(after)) {
      throw new TrainingError(
        "training_diverged",
        `the imported adapter's held-out loss is ${after}; the external run diverged`,
      );
    }
    await hooks.onEval?.({ step: totalSteps, loss: after, perplexity: Math.exp(after) });
    const ggufPath = join(input.workDir, "adapter.gguf");
    writeGgufLora(ggufPath, file, model.config);
    const gradStorePath = join(input.workDir, "gradients.olgrad");
    writeFileSync(gradStorePath, gradientStore(model, adapter, split.train, c));
    const samples = await sampleGenerations(model, tokenizer, adapter, split, c);
    const trainedTokens = split.train.reduce((n, i) => n + i.example.tokens.length, 0) * c.epochs;
    return {
      peftDir: outputDir,
      ggufPath,
      gradStorePath,
      metrics: {
        totalSteps,
        trainExamples: split.train.length,
        heldOutExamples: split.heldOut.length,
        trainedTokens,
        trainSeconds: 0,
        tokensPerSecond: 0,
        heldOutLossBefore: before,
        heldOutLossAfter: after,
        perplexityBefore: Math.exp(before),
        perplexityAfter: Math.exp(after),
        samples,
      },
    };
  } finally {
    adapter?.free();
    model.free();
    await engine.close();
  }
}

/** Runs the command; JSON lines `{"step","loss",...}` on its stdout become progress events. */
function runCommand(
  command: string,
  configPath: string,
  totalSteps: number,
  hooks: EmbeddedRunInput["hooks"],
) {
  return new Promise<void>((resolve, reject) => {
    const child = spawn("sh", ["-c", command], {
      env: { ...process.env, OPENLEDGER_TRAIN_CONFIG: configPath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const tail: string[] = [];
    let buffered = "";
    let chain: Promise<unknown> = Promise.resolve();
    const stopTimer = setInterval(() => {
      if (hooks?.shouldStop?.()) child.kill("SIGTERM");
    }, 250);
    child.stdout.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        let m: Record<string, number> | null = null;
        try {
          m = line.startsWith("{") ? (JSON.parse(line) as Record<string, number>) : null;
        } catch {
          m = null;
        }
        if (m && typeof m.step === "number" && typeof m.loss === "number") {
          const r = m;
          chain = chain.then(() =>
            hooks?.onStep?.({
              step: r.step,
              totalSteps,
              loss: r.loss,
              learningRate: r.learning_rate ?? 0,
              tokens: r.tokens ?? 0,
              trainedTokens: r.trained_tokens ?? 0,
              tokensPerSecond: r.tokens_per_second ?? 0,
              etaSeconds: r.eta_seconds ?? 0,
            }),
          );
        }
      }
    });
    child.stderr.on("data", (chunk: Buffer) => {
      tail.push(...chunk.toString("utf8").split("\n").filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 5));
    });
    child.once("error", (err) => {
      clearInterval(stopTimer);
      reject(
        new TrainingError("external_trainer_failed", `cannot start the external trainer: ${err.message}`),
      );
    });
    child.once("exit", (code, signal) => {
      clearInterval(stopTimer);
      chain.then(() => {
        if (code === 0) resolve();
        else
          reject(
            new TrainingError(
              "external_trainer_failed",
              `the external trainer exited with ${code ?? signal}${tail.length ? `: ${tail.join(" | ")}` : ""}`,
            ),
          );
      }, reject);
    });
  });
}
