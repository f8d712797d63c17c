// Prefill and decode tokens/s of this engine beside llama.cpp (node-llama-cpp, prebuilt CPU binaries) on the
// same generated GGUF and thread count. Env: BENCH_THREADS (default 2), BENCH_SIZE ("small" | "medium"),
// BENCH_REPEAT (default 3).
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { getLlama, type LlamaModel as LlamaCppModel, LlamaLogLevel, type Token } from "node-llama-cpp";
import type { GgufWriteType } from "../packages/ml/src/formats/ggml-types.ts";
import { readLlamaGguf, writeLlamaGguf } from "../packages/ml/src/formats/llama-gguf.ts";
import type { LlamaConfig } from "../packages/ml/src/formats/model-config.ts";
import { Engine } from "../packages/ml/src/kernels/engine.ts";
import { forward } from "../packages/ml/src/model/infer.ts";
import { initWeights, KVCache, LlamaModel } from "../packages/ml/src/model/llama.ts";
import { argmax } from "../packages/ml/src/model/sampling.ts";
import { BYTE_TO_CHAR } from "../packages/ml/src/tokenizer/byte-level.ts";
import { type BpeVocab, TokenType } from "../packages/ml/src/tokenizer/vocab.ts";

const threads = Number(process.env.BENCH_THREADS ?? 2);
const sizes: Record<string, Omit<LlamaConfig, "architecture">> = {
  small: {
    vocabSize: 4096,
    hiddenSize: 256,
    intermediateSize: 704,
    numLayers: 6,
    numHeads: 8,
    numKvHeads: 4,
    headDim: 32,
    contextLength: 512,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
  },
  medium: {
    vocabSize: 8192,
    hiddenSize: 512,
    intermediateSize: 1408,
    numLayers: 8,
    numHeads: 8,
    numKvHeads: 4,
    headDim: 64,
    contextLength: 512,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
  },
};
const size = process.env.BENCH_SIZE ?? "small";
const config: LlamaConfig = { architecture: "llama", ...sizes[size] };
const PROMPT = 128;
const DECODE = 32;
const DEMO = new URL("../packages/ml/recipes/demo-base/out/demo-base.gguf", import.meta.url).pathname;
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const promptFor = (vocabSize: number, length: number) =>
  Array.from({ length }, (_, i) => (i * 7919 + 13) % vocabSize);

async function llamaCpp(
  model: LlamaCppModel,
  prompt: number[],
): Promise<{ prefill: number; decode: number }> {
  const context = await model.createContext({ contextSize: 512, batchSize: 512, threads });
  try {
    const seq = context.getSequence();
    let t0 = performance.now();
    await seq.evaluateWithoutGeneratingNewTokens(prompt as Token[]);
    const prefill = prompt.length / ((performance.now() - t0) / 1000);
    await seq.clearHistory();
    let n = 0;
    for await (const _ of seq.evaluate(prompt as Token[], { temperature: 0 })) {
      if (++n === 1) t0 = performance.now(); // after prefill and the first token
      if (n > DECODE) break;
    }
    return { prefill, decode: DECODE / ((performance.now() - t0) / 1000) };
  } finally {
    await context.dispose();
  }
}

function ours(model: LlamaModel, prompt: number[]): { prefill: number; decode: number } {
  const cache = new KVCache(model);
  try {
    let t0 = performance.now();
    let [logits] = forward(model, [{ tokens: prompt, cache }]);
    const prefill = prompt.length / ((performance.now() - t0) / 1000);
    t0 = performance.now();
    for (let i = 0; i < DECODE; i++) [logits] = forward(model, [{ tokens: [argmax(logits)], cache }]);
    return { prefill, decode: DECODE / ((performance.now() - t0) / 1000) };
  } finally {
    cache.free();
  }
}

/** llama.cpp needs a vocabulary: the 256 byte tokens, unused fillers, and an end-of-text token. */
function placeholderVocab(size: number): BpeVocab {
  const fill = Array.from({ length: size - 257 }, (_, i) => `<|unused_${i}|>`);
  const tokens = [...BYTE_TO_CHAR, ...fill, "<|endoftext|>"];
  const tokenTypes = [
    ...BYTE_TO_CHAR.map(() => TokenType.NORMAL),
    ...fill.map(() => TokenType.UNUSED),
    TokenType.CONTROL,
  ];
  return { tokens, tokenTypes, merges: [], pre: "gpt-2", bosId: size - 1, eosId: size - 1, addBos: false };
}

const dir = mkdtempSync(join(tmpdir(), "bench-llamacpp-"));
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const engine = await Engine.create({ threads, maxMemoryMiB: 2048 });
const weights = initWeights(config, 1);
const rows: string[][] = [];

async function benchFile(label: string, path: string, promptLength: number): Promise<void> {
  const { config: c, weights: w } = readLlamaGguf(path);
  const prompt = promptFor(c.vocabSize, promptLength);
  const cpp = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  const mine = LlamaModel.fromWeights(engine, c, w);
  try {
    await llamaCpp(cpp, prompt); // warm-up
    ours(mine, prompt);
    // best of REPEAT runs each, alternating engines, since the machine may be shared
    const a = { prefill: 0, decode: 0 };
    const b = { prefill: 0, decode: 0 };
    for (let i = 0; i < REPEAT; i++) {
      const x = await llamaCpp(cpp, prompt);
      const y = ours(mine, prompt);
      a.prefill = Math.max(a.prefill, x.prefill);
      a.decode = Math.max(a.decode, x.decode);
      b.prefill = Math.max(b.prefill, y.prefill);
      b.decode = Math.max(b.decode, y.decode);
    }
    const name = `${label} (${(statSync(path).size / 2 ** 20).toFixed(1)} MiB)`;
    for (const phase of ["prefill", "decode"] as const) {
      const digits = phase === "prefill" ? 0 : 1;
      rows.push([
        name,
        phase,
        b[phase].toFixed(digits),
        a[phase].toFixed(digits),
        (b[phase] / a[phase]).toFixed(2),
      ]);
    }
  } finally {
    mine.free();
    await cpp.dispose();
  }
}

try {
  for (const type of ["F32", "F16"] as GgufWriteType[]) {
    const path = join(dir, `bench-${type}.gguf`);
    writeLlamaGguf(path, { config, weights, tensorType: type, vocab: placeholderVocab(config.vocabSize) });
    await benchFile(`${size} ${type}`, path, PROMPT);
  }
  // the demo base model, when its recipe has been run (context 128: a 64-token prompt)
  if (existsSync(DEMO)) await benchFile("demo-base F32, prompt 64", DEMO, 64);
} finally {
  await llama.dispose();
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

const params = [...weights.values()].reduce((n, t) => n + t.data.length, 0);
console.log(
  `generated LLaMA ${size}: ${(params / 1e6).toFixed(1)}M parameters; ${threads} threads, prompt ${PROMPT}, ` +
    `decode ${DECODE}, best of ${REPEAT}` +
    " (this engine computes in f32; F16 weights are widened on load)",
);
const load = loadavg()[0];
if (load > cpus().length) {
  console.log(
    `warning: load average ${load.toFixed(1)} on ${cpus().length} CPUs; llama.cpp's spinning thread barrier ` +
      "degrades badly when its threads are descheduled, so multi-thread figures are not comparable now",
  );
}
const header = ["weights", "phase", "ours tok/s", "llama.cpp tok/s", "ratio"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
