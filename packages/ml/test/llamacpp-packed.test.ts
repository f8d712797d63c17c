// Packed weights against llama.cpp (node-llama-cpp 3.21.1, CPU) at SmolLM-135M's width, heads and
// vocabulary (two layers, to stay quick): the model is written by the test and loaded by both engines.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { getLlama, type Llama, LlamaLogLevel, type Token } from "node-llama-cpp";
import type { GgufWriteType } from "../src/formats/ggml-types.ts";
import { writeLlamaGguf } from "../src/formats/llama-gguf.ts";
import type { LlamaConfig } from "../src/formats/model-config.ts";
import { Engine } from "../src/kernels/engine.ts";
import { generate } from "../src/model/generate.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache } from "../src/model/llama.ts";
import { loadLlamaGguf } from "../src/model/load-gguf.ts";
import { argmax } from "../src/model/sampling.ts";
import { BYTE_TO_CHAR } from "../src/tokenizer/byte-level.ts";
import { type BpeVocab, TokenType } from "../src/tokenizer/vocab.ts";
import { randomWeights } from "./formats-util.ts";

const smol135m: LlamaConfig = {
  architecture: "llama",
  vocabSize: 49152,
  hiddenSize: 576,
  intermediateSize: 1536,
  numLayers: 2,
  numHeads: 9,
  numKvHeads: 3,
  headDim: 64,
  contextLength: 256,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  attentionBias: false,
};

/** The 256 byte tokens, unused fillers and an end-of-text token: enough for llama.cpp to load. */
function placeholderVocab(size: number): BpeVocab {
  const fill = Array.from({ length: size - 257 }, (_, i) => `<|unused_${i}|>`);
  return {
    tokens: [...BYTE_TO_CHAR, ...fill, "<|endoftext|>"],
    tokenTypes: [
      ...BYTE_TO_CHAR.map(() => TokenType.NORMAL),
      ...fill.map(() => TokenType.UNUSED),
      TokenType.CONTROL,
    ],
    merges: [],
    pre: "gpt-2",
    bosId: size - 1,
    eosId: size - 1,
    addBos: false,
  };
}

describe("packed weights agree with llama.cpp at a SmolLM-135M shape", () => {
  const dir = mkdtempSync(join(tmpdir(), "ml-llamacpp-packed-"));
  const weights = randomWeights(smol135m, 21);
  const vocab = placeholderVocab(smol135m.vocabSize);
  const prompt = Array.from({ length: 24 }, (_, i) => (i * 7919 + 13) % 49000);
  let llama: Llama;
  let engine: Engine;
  before(async () => {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    engine = await Engine.create({ threads: 2, maxMemoryMiB: 1024 });
  });
  after(async () => {
    await llama?.dispose();
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  // k-quants need rows of whole 256-value super-blocks: a 512-wide variant of the same shape
  const kshape: LlamaConfig = {
    ...smol135m,
    hiddenSize: 512,
    intermediateSize: 1536,
    numHeads: 8,
    numKvHeads: 4,
  };
  const kweights = randomWeights(kshape, 22);
  const cases: [GgufWriteType, LlamaConfig, typeof weights][] = [
    ["F16", smol135m, weights],
    ["Q8_0", smol135m, weights],
    ["Q4_0", smol135m, weights],
    ["Q4_K", kshape, kweights],
    ["Q6_K", kshape, kweights],
  ];
  for (const [type, shape, w] of cases) {
    test(`${type}: top-1 at every prompt position and the greedy continuation`, async (t) => {
      const path = join(dir, `smol-${type}.gguf`);
      writeLlamaGguf(path, { config: shape, weights: w, vocab, tensorType: type });
      const cpp = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      const { model, file } = loadLlamaGguf(engine, path);
      file.close();
      try {
        const ctx = await cpp.createContext({ contextSize: 256, batchSize: 256, threads: 2 });
        let theirs: number[];
        const theirGreedy: number[] = [];
        try {
          const seq = ctx.getSequence();
          const out = await seq.controlledEvaluate(
            prompt.map((tok) => [
              tok as Token,
              { generateNext: { token: true, options: { temperature: 0 } } },
            ]),
          );
          theirs = out.map((o) => Number(o?.next.token));
          await seq.clearHistory();
          for await (const tok of seq.evaluate(prompt as Token[], { temperature: 0 })) {
            theirGreedy.push(Number(tok));
            if (theirGreedy.length >= 16) break;
          }
        } finally {
          await ctx.dispose();
        }
        const cache = new KVCache(model);
        const [logits] = forward(model, [{ tokens: prompt, cache, allLogits: true }]);
        cache.free();
        const V = shape.vocabSize;
        const ours = prompt.map((_, i) => argmax(logits.subarray(i * V, (i + 1) * V)));
        const top1 = ours.filter((tok, i) => tok === theirs[i]).length;
        // where the choices differ, how far below our best llama.cpp's choice is, relative to the logit spread
        let gap = 0;
        ours.forEach((tok, i) => {
          const row = logits.subarray(i * V, (i + 1) * V);
          let lo = Number.POSITIVE_INFINITY;
          for (const v of row) lo = Math.min(lo, v);
          if (tok !== theirs[i]) gap = Math.max(gap, (row[tok] - row[theirs[i]]) / (row[tok] - lo));
        });
        // llama.cpp's greedy continuation replayed through our model (one decode step at a time, the
        // packed decode kernels): our top-1 after each of its tokens, so one near-tie does not derail the rest
        const replay = new KVCache(model);
        let [next] = forward(model, [{ tokens: prompt, cache: replay }]);
        let followed = 0;
        for (const tok of theirGreedy) {
          if (argmax(next) === tok) followed++;
          [next] = forward(model, [{ tokens: [tok], cache: replay }]);
        }
        replay.free();
        const greedy = (await generate(model, prompt, { maxTokens: 16, temperature: 0 })).tokens;
        let prefix = 0;
        while (prefix < 16 && greedy[prefix] === theirGreedy[prefix]) prefix++;
        t.diagnostic(
          `${type}: top-1 ${top1}/${prompt.length} (largest gap where they differ: ${(gap * 100).toFixed(2)}% of the logit range), ` +
            `llama.cpp's greedy tokens predicted ${followed}/16, free-running greedy agrees on the first ${prefix}/16`,
        );
        // random weights at a 49k vocabulary leave near-ties; llama.cpp also keeps its KV cache in F16
        assert.ok(top1 >= prompt.length - 3, `top-1 ${top1}/${prompt.length}`);
        assert.ok(gap < 0.01, `a disagreement ${gap} of the logit range apart is not a near-tie`);
        assert.ok(followed >= 12, `llama.cpp's greedy tokens predicted ${followed}/16`);
      } finally {
        model.free();
        await cpp.dispose();
      }
    });
  }
});
