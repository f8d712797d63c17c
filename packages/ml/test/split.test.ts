// Models split across engines (one WebAssembly memory each): a small model forced to split gives the
// same logits and generations as the same file in one engine.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { writeLlamaGguf } from "../src/formats/llama-gguf.ts";
import type { LlamaConfig } from "../src/formats/model-config.ts";
import { Engine } from "../src/kernels/engine.ts";
import { LoraAdapter } from "../src/lora/adapter.ts";
import { ModelInputError, ModelMemoryError } from "../src/model/errors.ts";
import { generate } from "../src/model/generate.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache } from "../src/model/llama.ts";
import { loadLlamaGguf, loadLlamaGgufSplit } from "../src/model/load-gguf.ts";
import { randomWeights } from "./formats-util.ts";

const dir = mkdtempSync(join(tmpdir(), "ml-split-"));
after(() => rmSync(dir, { recursive: true, force: true }));

// [layers, parts, tied head]: two layers in two parts leaves no choice of cut (the head outweighs the layers)
const cases: [number, number, boolean][] = [
  [5, 3, false],
  [5, 3, true],
  [2, 2, true],
  [2, 2, false],
];
for (const [numLayers, nParts, tied] of cases) {
  test(`a Q8_0 model of ${numLayers} layers forced into ${nParts} parts matches one engine (${tied ? "tied" : "separate"} output head)`, async () => {
    const cfg: LlamaConfig = {
      architecture: "qwen2",
      vocabSize: 128,
      hiddenSize: 64,
      intermediateSize: 96,
      numLayers,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 16,
      contextLength: 64,
      ropeTheta: 10000,
      rmsNormEps: 1e-6,
      tieWordEmbeddings: tied,
      attentionBias: true,
    };
    const path = join(dir, `split-${numLayers}-${tied}.gguf`);
    writeLlamaGguf(path, { config: cfg, weights: randomWeights(cfg, 9), tensorType: "Q8_0" });
    const one = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
    const single = loadLlamaGguf(one, path);
    single.file.close();
    const split = await loadLlamaGgufSplit(path, { threads: 1, maxMemoryMiB: 64, parts: nParts });
    split.file.close();
    try {
      assert.equal(split.engines.length, nParts);
      const parts: [number, number][] = [];
      for (let m: typeof split.model | null = split.model; m; m = m.next) parts.push([m.first, m.end]);
      assert.equal(parts.length, nParts);
      assert.equal(parts[0][0], 0);
      for (let i = 1; i < nParts; i++) assert.equal(parts[i][0], parts[i - 1][1]);
      assert.equal(parts[nParts - 1][1], cfg.numLayers);
      // with a tied head the last part keeps its own copy of the embedding
      if (tied) assert.ok(split.model.weightBytes > single.model.weightBytes);
      else assert.equal(split.model.weightBytes, single.model.weightBytes);

      const prompts = [
        [3, 14, 15, 92, 65, 35],
        [8, 9, 7],
      ];
      const caches = prompts.map(() => [new KVCache(single.model), new KVCache(split.model)]);
      const a = forward(
        single.model,
        prompts.map((tokens, i) => ({ tokens, cache: caches[i][0], allLogits: true })),
      );
      const b = forward(
        split.model,
        prompts.map((tokens, i) => ({ tokens, cache: caches[i][1], allLogits: true })),
      );
      assert.deepEqual(b, a);
      const [da] = forward(single.model, [{ tokens: [5], cache: caches[0][0] }]);
      const [db] = forward(split.model, [{ tokens: [5], cache: caches[0][1] }]);
      assert.deepEqual(db, da);
      for (const pair of caches) for (const c of pair) c.free();
      const g1 = await generate(single.model, [1, 2, 3], { maxTokens: 12, temperature: 0 });
      const g2 = await generate(split.model, [1, 2, 3], { maxTokens: 12, temperature: 0 });
      assert.deepEqual(g2.tokens, g1.tokens);

      const adapter = LoraAdapter.create(
        split.engines[0],
        cfg,
        { rank: 2, alpha: 4, targets: ["q_proj"] },
        1,
      );
      const cache = new KVCache(split.model);
      assert.throws(() => forward(split.model, [{ tokens: [1], cache, adapter }]), ModelInputError);
      cache.free();
      adapter.free();
      for (const e of split.engines) assert.ok(e.allocatedBytes > 0);
    } finally {
      split.model.free();
      single.model.free();
      await Promise.all([...split.engines, one].map((e) => e.close()));
    }
  });
}

test("a split that cannot fit its parts is refused with the sizes and what to change", async () => {
  const cfg: LlamaConfig = {
    architecture: "llama",
    vocabSize: 20000,
    hiddenSize: 256,
    intermediateSize: 512,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 64,
    contextLength: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
  };
  const path = join(dir, "big.gguf");
  writeLlamaGguf(path, { config: cfg, weights: randomWeights(cfg, 4), tensorType: "F16" });
  await assert.rejects(
    loadLlamaGgufSplit(path, { threads: 1, maxMemoryMiB: 16 }),
    (err: Error) =>
      err instanceof ModelMemoryError &&
      /do not split into any number of parts of at most 16 MiB/.test(err.message),
  );
});
