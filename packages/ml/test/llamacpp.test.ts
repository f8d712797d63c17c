// Cross-engine check: the same generated GGUF (and GGUF LoRA adapter) in llama.cpp (node-llama-cpp, CPU) and here.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  getLlama,
  type Llama,
  type LlamaModel as LlamaCppModel,
  LlamaLogLevel,
  type Token,
} from "node-llama-cpp";
import { loadRecipeConfig, runDemoRecipe } from "../recipes/demo-base/recipe.ts";
import type { GgufWriteType } from "../src/formats/ggml-types.ts";
import { writeGguf } from "../src/formats/gguf-write.ts";
import {
  ggufSpmVocabMetadata,
  ggufVocabMetadata,
  llamaGgufMetadata,
  llamaGgufTensors,
  readLlamaGguf,
  writeLlamaGguf,
} from "../src/formats/llama-gguf.ts";
import { LORA_TARGETS, type LoraAdapterFile, writeGgufLora } from "../src/formats/lora-formats.ts";
import type { LlamaConfig, Weights } from "../src/formats/model-config.ts";
import { Engine } from "../src/kernels/engine.ts";
import { LoraAdapter } from "../src/lora/adapter.ts";
import { generate } from "../src/model/generate.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache, LlamaModel } from "../src/model/llama.ts";
import { argmax } from "../src/model/sampling.ts";
import { BpeTokenizer } from "../src/tokenizer/bpe-tokenizer.ts";
import { SpmTokenizer } from "../src/tokenizer/spm-tokenizer.ts";
import { trainBpe } from "../src/tokenizer/train-bpe.ts";
import { type SpmVocab, TokenType } from "../src/tokenizer/vocab.ts";
import { randomData, randomWeights } from "./formats-util.ts";

const CORPUS = [
  "apple: the round fruit of a tree of the rose family, with red or green skin and crisp flesh.",
  "tree: a tall perennial woody plant having a main trunk and branches forming a distinct crown.",
  "river: a large natural stream of water flowing in a channel to the sea, a lake, or another river.",
  "book: a written or printed work consisting of pages glued or sewn together along one side.",
  "to run: to move at a speed faster than a walk, never having both feet on the ground at once.",
];
const TEXT =
  "apple: a sweet fruit; the tree of the river runs green. Book 42 — ñandú, 東京 and 🍎 at once!\n" +
  "river: water flowing to the sea, with crisp red skin and a tall trunk.\n" +
  "tree: to run at a speed faster than a walk; a printed work of pages sewn together along one side, " +
  "never both feet on the ground. The rose family has a distinct crown of branches!";

const config = (vocabSize: number): LlamaConfig => ({
  architecture: "llama",
  vocabSize,
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  contextLength: 256,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: false,
  attentionBias: false,
});

function randomAdapter(c: LlamaConfig, seed: number): LoraAdapterFile {
  const weights: Weights = new Map();
  const rank = 4;
  let i = 0;
  for (let l = 0; l < c.numLayers; l++) {
    const mods: [string, number, number][] = [
      [`model.layers.${l}.self_attn.q_proj`, c.hiddenSize, c.numHeads * c.headDim],
      [`model.layers.${l}.self_attn.k_proj`, c.hiddenSize, c.numKvHeads * c.headDim],
      [`model.layers.${l}.self_attn.v_proj`, c.hiddenSize, c.numKvHeads * c.headDim],
      [`model.layers.${l}.self_attn.o_proj`, c.numHeads * c.headDim, c.hiddenSize],
      [`model.layers.${l}.mlp.gate_proj`, c.hiddenSize, c.intermediateSize],
      [`model.layers.${l}.mlp.up_proj`, c.hiddenSize, c.intermediateSize],
      [`model.layers.${l}.mlp.down_proj`, c.intermediateSize, c.hiddenSize],
    ];
    for (const [mod, inp, out] of mods) {
      weights.set(`${mod}.lora_A.weight`, {
        shape: [rank, inp],
        data: randomData(rank * inp, seed + i++, 0.15),
      });
      weights.set(`${mod}.lora_B.weight`, {
        shape: [out, rank],
        data: randomData(out * rank, seed + i++, 0.15),
      });
    }
  }
  return { rank, alpha: 8, targetModules: [...LORA_TARGETS], weights };
}

/** llama.cpp's greedy next token after every prefix of `tokens`. */
async function llamaCppTop1(model: LlamaCppModel, tokens: number[], lora?: string): Promise<number[]> {
  const context = await model.createContext({
    contextSize: 256,
    batchSize: 256,
    threads: 2,
    ...(lora ? { lora: { adapters: [{ filePath: lora }] } } : {}),
  });
  try {
    const seq = context.getSequence();
    const out = await seq.controlledEvaluate(
      tokens.map((t) => [t as Token, { generateNext: { token: true, options: { temperature: 0 } } }]),
    );
    return out.map((o) => Number(o?.next.token));
  } finally {
    await context.dispose();
  }
}

async function llamaCppGreedy(
  model: LlamaCppModel,
  prompt: number[],
  n: number,
  stop = -1,
): Promise<number[]> {
  const context = await model.createContext({ contextSize: 256, batchSize: 256, threads: 2 });
  try {
    const out: number[] = [];
    for await (const t of context.getSequence().evaluate(prompt as Token[], { temperature: 0 })) {
      if (Number(t) === stop) break;
      out.push(Number(t));
      if (out.length >= n) break;
    }
    return out;
  } finally {
    await context.dispose();
  }
}

function ourLogits(model: LlamaModel, tokens: number[], adapter?: LoraAdapter): Float32Array[] {
  const cache = new KVCache(model);
  try {
    const [logits] = forward(model, [{ tokens, cache, adapter, allLogits: true }]);
    const V = model.config.vocabSize;
    return tokens.map((_, i) => logits.slice(i * V, (i + 1) * V));
  } finally {
    cache.free();
  }
}

const top1 = (rows: Float32Array[]) => rows.map((r) => argmax(r));

/** Largest gap, in our logits, between our top-1 and llama.cpp's choice where they differ. */
function worstGap(rows: Float32Array[], theirs: number[]): number {
  let worst = 0;
  rows.forEach((r, i) => {
    const mine = argmax(r);
    if (mine !== theirs[i]) worst = Math.max(worst, r[mine] - r[theirs[i]]);
  });
  return worst;
}

const agreement = (a: number[], b: number[]) => a.filter((t, i) => t === b[i]).length / a.length;

describe("llama.cpp (node-llama-cpp 3.21.1, CPU) and this engine on the same GGUF", () => {
  const dir = mkdtempSync(join(tmpdir(), "ml-llamacpp-"));
  const vocab = trainBpe(CORPUS, { vocabSize: 384, minFrequency: 1 });
  const tokenizer = new BpeTokenizer(vocab);
  const cfg = config(vocab.tokens.length);
  const weights = randomWeights(cfg, 11);
  const tokens = tokenizer.encode(TEXT);
  let llama: Llama;
  let engine: Engine;

  before(async () => {
    llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    engine = await Engine.create({ threads: 2, maxMemoryMiB: 128 });
  });
  after(async () => {
    await llama?.dispose();
    await engine?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const pre of ["gpt-2", "llama-bpe", "qwen2", "smollm", "default"]) {
    test(`llama.cpp tokenizes a generated vocabulary exactly as we do (pre-tokenizer ${pre})`, async () => {
      const path = join(dir, `tok-${pre}.gguf`);
      const v = { ...vocab, pre };
      writeLlamaGguf(path, { config: cfg, weights, vocab: v });
      const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      try {
        const ours = new BpeTokenizer(v);
        const tricky = `${TEXT}\nI'LL pay 1234567 now...  \n\n\tdon't stop; 3.14159 ÉCOLE über 東京 🍎🍏\r\n  end `;
        assert.deepEqual(model.tokenize(tricky, false).map(Number), ours.encode(tricky));
        assert.equal(model.detokenize(ours.encode(tricky) as Token[]), tricky);
      } finally {
        await model.dispose();
      }
    });
  }

  test("llama.cpp tokenizes a SentencePiece-style (model llama) vocabulary exactly as we do", async (t) => {
    // pieces: control tokens, byte fallbacks, printable characters, then the BPE-trained pieces as text
    const bytes = Array.from(
      { length: 256 },
      (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`,
    );
    const chars = ["▁", ...Array.from({ length: 94 }, (_, i) => String.fromCharCode(33 + i))];
    const learned = vocab.tokens
      .slice(256)
      .filter((_, i) => vocab.tokenTypes[256 + i] === TokenType.NORMAL)
      .map((t) =>
        new TextDecoder("utf-8", { fatal: false }).decode(tokenizer.decodeBytes([tokenizer.tokenToId(t)!])),
      )
      .filter((t) => !t.includes("\ufffd"))
      .map((t) => t.replaceAll(" ", "▁"));
    const pieces = [...new Set([...chars, ...learned])];
    const spmVocab: SpmVocab = {
      tokens: ["<unk>", "<s>", "</s>", ...bytes, ...pieces],
      scores: [0, 0, 0, ...bytes.map(() => 0), ...pieces.map((p, i) => (p.length === 1 ? -1e6 : -i))],
      tokenTypes: [2, 3, 3, ...bytes.map(() => TokenType.BYTE), ...pieces.map(() => TokenType.NORMAL)],
      unkId: 0,
      bosId: 1,
      eosId: 2,
      addBos: true,
      addSpacePrefix: true,
    };
    const scfg = config(spmVocab.tokens.length);
    const path = join(dir, "spm.gguf");
    const metadata = llamaGgufMetadata(scfg, "spm", "F32");
    for (const [k, v] of ggufSpmVocabMetadata(spmVocab)) metadata.set(k, v);
    writeGguf(path, { metadata, tensors: llamaGgufTensors(scfg, randomWeights(scfg, 15), "F32") });
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    try {
      const ours = new SpmTokenizer(spmVocab);
      const tricky = `${TEXT}\n  double  spaces, ÉCOLE über 東京 🍎\ttab </s> after`;
      assert.deepEqual(
        model.tokenize(tricky, false).map(Number),
        ours.encode(tricky, { addBos: false, allowSpecial: false }),
      );
      assert.deepEqual(model.tokenize(tricky, true).map(Number), ours.encode(tricky, { addBos: false }));
      assert.equal(ours.decode(ours.encode(TEXT), { skipSpecial: true }), TEXT);
      const n = ours.encode(tricky).length;
      t.diagnostic(`SPM: ${n} tokens for ${tricky.length} characters, identical in both engines`);
      assert.ok(n < tricky.length / 1.5, "pieces should merge");
    } finally {
      await model.dispose();
    }
  });

  for (const type of ["F32", "F16", "BF16"] as GgufWriteType[]) {
    test(`top-1 next tokens agree on >= 99% of positions (${type})`, async (t) => {
      const path = join(dir, `tiny-${type}.gguf`);
      writeLlamaGguf(path, { config: cfg, weights, vocab, tensorType: type });
      const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      const ours = LlamaModel.fromWeights(engine, cfg, readLlamaGguf(path).weights);
      try {
        const theirs = await llamaCppTop1(model, tokens);
        const rows = ourLogits(ours, tokens);
        const rate = agreement(top1(rows), theirs);
        const gap = worstGap(rows, theirs);
        t.diagnostic(
          `${type}: top-1 agreement ${(rate * 100).toFixed(1)}% over ${tokens.length} positions; ` +
            `largest logit gap where they differ ${gap.toFixed(4)}`,
        );
        assert.ok(rate >= 0.99, `agreement ${rate}`);
        if (type === "F32") {
          const prompt = tokens.slice(0, 12);
          const g1 = await llamaCppGreedy(model, prompt, 24);
          const g2 = (await generate(ours, prompt, { maxTokens: 24, temperature: 0 })).tokens;
          const same = agreement(g2, g1);
          t.diagnostic(`F32: greedy continuation agreement ${(same * 100).toFixed(1)}% of 24 tokens`);
          assert.deepEqual(g2, g1);
        }
      } finally {
        ours.free();
        await model.dispose();
      }
    });
  }

  test("quantised types: our decoding equals llama.cpp's (embedding lookups) and matmuls agree", async (t) => {
    // rows must be whole 256-value super-blocks for k-quants: hidden 256, intermediate 512
    const kcfg: LlamaConfig = { ...cfg, hiddenSize: 256, intermediateSize: 512, numLayers: 1, headDim: 64 };
    const kweights = randomWeights(kcfg, 13);
    for (const type of ["Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"] as GgufWriteType[]) {
      for (const scope of ["embedding", "all"] as const) {
        const path = join(dir, `k-${type}-${scope}.gguf`);
        // Only token_embd quantised: llama.cpp dequantises it exactly in the row lookup, the rest is F32.
        const tensors = llamaGgufTensors(kcfg, kweights, scope === "all" ? type : "F32");
        if (scope === "embedding") tensors.find((x) => x.name === "token_embd.weight")!.type = type;
        const metadata = llamaGgufMetadata(kcfg, "k", "F32");
        for (const [k, v] of ggufVocabMetadata(vocab)) metadata.set(k, v);
        writeGguf(path, { metadata, tensors });
        const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
        const ours = LlamaModel.fromWeights(engine, kcfg, readLlamaGguf(path).weights);
        try {
          const theirs = await llamaCppTop1(model, tokens);
          const rows = ourLogits(ours, tokens);
          const rate = agreement(top1(rows), theirs);
          const gap = worstGap(rows, theirs);
          t.diagnostic(
            `${type} (${scope}): top-1 agreement ${(rate * 100).toFixed(1)}%, largest gap where they differ ${gap.toFixed(4)}`,
          );
          if (scope === "embedding") assert.ok(rate >= 0.99, `agreement ${rate}`);
          // llama.cpp rounds activations to 8 bits for quantised matmuls: only near-ties (small gaps) may flip
          else assert.ok(rate >= 0.9 && gap < 0.1, `agreement ${rate}, gap ${gap}`);
        } finally {
          ours.free();
          await model.dispose();
        }
      }
    }
  });

  test("qwen2 (NeoX rope, q/k/v biases, tied embeddings): top-1 agreement >= 99%", async (t) => {
    const qcfg: LlamaConfig = { ...cfg, architecture: "qwen2", attentionBias: true, tieWordEmbeddings: true };
    const qweights = randomWeights(qcfg, 12);
    const path = join(dir, "qwen2.gguf");
    writeLlamaGguf(path, { config: qcfg, weights: qweights, vocab: { ...vocab, pre: "qwen2" } });
    const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
    const ours = LlamaModel.fromWeights(engine, qcfg, qweights);
    try {
      const theirs = await llamaCppTop1(model, tokens);
      const rate = agreement(top1(ourLogits(ours, tokens)), theirs);
      t.diagnostic(`qwen2: top-1 agreement ${(rate * 100).toFixed(1)}% over ${tokens.length} positions`);
      assert.ok(rate >= 0.99, `agreement ${rate}`);
    } finally {
      ours.free();
      await model.dispose();
    }
  });

  for (const arch of ["llama", "qwen2"] as const) {
    test(`a GGUF LoRA adapter on all 7 projections loads in llama.cpp and changes its output as it changes ours (${arch})`, async (t) => {
      const c: LlamaConfig = { ...cfg, architecture: arch, attentionBias: arch === "qwen2" };
      const w = arch === "llama" ? weights : randomWeights(c, 14);
      const path = join(dir, `base-${arch}.gguf`);
      const loraPath = join(dir, `lora-${arch}.gguf`);
      writeLlamaGguf(path, { config: c, weights: w, vocab });
      const file = randomAdapter(c, 500);
      writeGgufLora(loraPath, file, c);
      const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
      const ours = LlamaModel.fromWeights(engine, c, w);
      const adapter = LoraAdapter.fromFile(engine, c, file);
      try {
        const baseTop = top1(ourLogits(ours, tokens));
        const mine = top1(ourLogits(ours, tokens, adapter));
        const theirs = await llamaCppTop1(model, tokens, loraPath);
        const changed = 1 - agreement(mine, baseTop);
        const rate = agreement(mine, theirs);
        t.diagnostic(
          `LoRA (${arch}): top-1 agreement ${(rate * 100).toFixed(1)}%; the adapter changed ${(changed * 100).toFixed(1)}% of top-1 tokens`,
        );
        assert.ok(changed > 0.1, "the adapter should change the model's predictions");
        assert.ok(rate >= 0.99, `agreement ${rate}`);
      } finally {
        adapter.free();
        ours.free();
        await model.dispose();
      }
    });
  }

  test("demo-base recipe (tiny setting) trains, writes a GGUF llama.cpp loads, and both engines agree", async (t) => {
    const recipe = loadRecipeConfig();
    recipe.corpus.limit = 1500;
    recipe.tokenizer.vocabSize = 512;
    recipe.model = { ...recipe.model, hiddenSize: 64, intermediateSize: 128, numLayers: 2, headDim: 16 };
    recipe.train = {
      ...recipe.train,
      steps: 8,
      warmupSteps: 2,
      seqLen: 64,
      evalSequences: 4,
      checkpointEvery: 4,
    };
    recipe.sampleTokens = 8;
    const out = join(dir, "demo");
    const report = await runDemoRecipe(recipe, out, { log: () => {} });
    t.diagnostic(
      `tiny recipe: held-out perplexity ${report.heldOutPerplexity.toFixed(1)} after ${report.steps} steps`,
    );
    assert.equal(report.steps, 8);
    assert.ok(report.heldOutPerplexity > 1 && report.heldOutPerplexity < report.vocabSize * 2);
    const { config: c, weights: w, vocab: v } = readLlamaGguf(report.gguf);
    assert.equal(c.vocabSize, 512);
    const tok = new BpeTokenizer(v!);
    const text = "apple: fruit with red or yellow or green skin and sweet to tart crisp whitish flesh";
    const ids = tok.encode(text);
    const model = await llama.loadModel({ modelPath: report.gguf, gpuLayers: 0 });
    const ours = LlamaModel.fromWeights(engine, c, w);
    try {
      assert.deepEqual(model.tokenize(text, false).map(Number), ids.slice(1)); // ours adds BOS by default
      const theirs = await llamaCppTop1(model, ids);
      const rate = agreement(top1(ourLogits(ours, ids)), theirs);
      t.diagnostic(
        `tiny recipe model: top-1 agreement ${(rate * 100).toFixed(1)}% over ${ids.length} positions`,
      );
      assert.ok(rate >= 0.99, `agreement ${rate}`);
    } finally {
      ours.free();
      await model.dispose();
    }
  });

  const demo = new URL("../recipes/demo-base/out/demo-base.gguf", import.meta.url).pathname;
  test("the trained demo-base GGUF: top-1 agreement >= 99%; greedy continuations part only at near-ties", {
    skip: !existsSync(demo) && "demo-base.gguf not built: run packages/ml/recipes/demo-base/train.ts",
  }, async (t) => {
    const { config: c, weights: w, vocab: v } = readLlamaGguf(demo);
    const tok = new BpeTokenizer(v!);
    const ids = tok.encode(`${CORPUS[0]}\n${CORPUS[2]}`);
    const model = await llama.loadModel({ modelPath: demo, gpuLayers: 0 });
    const ours = LlamaModel.fromWeights(engine, c, w);
    try {
      const rate = agreement(top1(ourLogits(ours, ids)), await llamaCppTop1(model, ids));
      const prompt = tok.encode("apple:");
      const g1 = await llamaCppGreedy(model, prompt, 24);
      const g2 = (await generate(ours, prompt, { maxTokens: 24, temperature: 0 })).tokens;
      t.diagnostic(
        `demo-base: top-1 agreement ${(rate * 100).toFixed(1)}%, greedy ${agreement(g2, g1) * 100}%`,
      );
      assert.ok(rate >= 0.99, `agreement ${rate}`);
      // Greedy decoding follows the two engines' float rounding: the continuations may part, but
      // only where our own top two candidates are a near-tie (llama.cpp picked our runner-up).
      const split = g1.findIndex((tok, i) => tok !== g2[i]);
      if (split >= 0) {
        const logits = ourLogits(ours, [...prompt, ...g2.slice(0, split)]).at(-1)!;
        const gap = Math.abs(logits[g2[split]] - logits[g1[split]]);
        assert.ok(gap < 0.05, `continuations part at token ${split} with a logit gap of ${gap}`);
      }
    } finally {
      ours.free();
      await model.dispose();
    }
  });
});
