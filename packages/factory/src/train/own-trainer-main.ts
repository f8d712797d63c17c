// This project's trainer as an external command, configured exactly like PEFT/LLaMA-Factory would
// be: `node --import tsx own-trainer-main.ts <config.json>` reads the generated config and the
// train.jsonl, trains a LoRA with @openledger/ml and writes PEFT safetensors to output_dir.
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DEFAULT_CONFIG } from "../hyperparameters.ts";
import { runEmbedded } from "./embedded.ts";
import type { ExternalTrainerConfig } from "./external.ts";

const path = process.argv[2] ?? process.env.OPENLEDGER_TRAIN_CONFIG;
if (!path) {
  process.stderr.write("usage: own-trainer-main.ts <config.json>\n");
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(path, "utf8")) as ExternalTrainerConfig;
const records = readFileSync(cfg.train_file, "utf8")
  .split("\n")
  .filter(Boolean)
  .map((line, i) => ({
    text: (JSON.parse(line) as { text: string }).text,
    contributionId: i + 1,
    snapshotId: 0,
    leafIndex: i,
    chunkIndex: 0,
  }));
const workDir = mkdtempSync(join(tmpdir(), "openledger-own-trainer-"));
try {
  const out = await runEmbedded({
    baseGgufPath: cfg.base_model_gguf,
    tokenizerJson: readFileSync(cfg.tokenizer_json, "utf8"),
    records,
    config: {
      ...DEFAULT_CONFIG,
      rank: cfg.lora_rank,
      alpha: cfg.lora_alpha,
      targets: cfg.lora_target as typeof DEFAULT_CONFIG.targets,
      learningRate: cfg.learning_rate,
      epochs: cfg.num_train_epochs,
      batchSize: cfg.per_device_train_batch_size,
      maxSeqLen: cfg.cutoff_len,
      warmupSteps: cfg.warmup_steps,
      weightDecay: cfg.weight_decay,
      seed: cfg.seed,
      evalFraction: 0,
    },
    workDir,
    gradients: false,
    threads: 1,
    hooks: {
      onStep: (m) =>
        void process.stdout.write(
          `${JSON.stringify({ step: m.step, loss: m.loss, learning_rate: m.learningRate, tokens: m.tokens, trained_tokens: m.trainedTokens, tokens_per_second: m.tokensPerSecond })}\n`,
        ),
    },
  });
  for (const f of ["adapter_config.json", "adapter_model.safetensors"])
    copyFileSync(join(out.peftDir, f), join(cfg.output_dir, f));
} finally {
  rmSync(workDir, { recursive: true, force: true });
}
