// The load-time warm-up (model/warm-up.ts): a stand-in model with the loaded model's matrix types runs on
// the same engine and must leave it as it found it: no buffers held, the same results afterwards.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { GgufWriteType } from "../src/formats/ggml-types.ts";
import { writeLlamaGguf } from "../src/formats/llama-gguf.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache, type LlamaModel } from "../src/model/llama.ts";
import { loadLlamaGguf, loadLlamaGgufSplit } from "../src/model/load-gguf.ts";
import { warmUp } from "../src/model/warm-up.ts";
import { tinyConfig, tinyWeights } from "./helpers/tiny.ts";

// rows of 256 so every format stays packed (the K-quants need whole 256-value super-blocks); Qwen2 biases
const config = tinyConfig({
  architecture: "qwen2",
  vocabSize: 300,
  hiddenSize: 256,
  intermediateSize: 512,
  numLayers: 3,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 64,
  attentionBias: true,
});
const weights = tinyWeights(config, 3);
const dir = mkdtempSync(join(tmpdir(), "ml-warm-up-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function fileOf(type: GgufWriteType): string {
  const path = join(dir, `${type}.gguf`);
  writeLlamaGguf(path, { config, weights, tensorType: type });
  return path;
}

/** Logits of a prompt and three greedy decode steps. */
function run(model: LlamaModel): Float32Array[] {
  const cache = new KVCache(model, 16);
  try {
    const out = forward(model, [{ tokens: [5, 17, 299, 42, 0, 8], cache }]);
    for (let i = 0; i < 3; i++) {
      const last = out[out.length - 1];
      out.push(forward(model, [{ tokens: [last.indexOf(Math.max(...last))], cache }])[0]);
    }
    return out;
  } finally {
    cache.free();
  }
}

describe("warm-up at load", () => {
  // F32: matrices held as f32 buffers, the stand-in's too
  for (const type of ["Q4_0", "Q8_0", "F16", "Q4_K", "Q6_K", "F32"] as GgufWriteType[]) {
    test(`${type}: the stand-in frees what it allocates and changes no result`, async () => {
      const path = fileOf(type);
      const e = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
      try {
        const { model, file } = loadLlamaGguf(e, path, { maxContext: 32, warmUp: false });
        file.close();
        assert.equal(model.layers[0].q instanceof QTensor, type !== "F32", "matrices stay as stored");
        const before = run(model);
        const held = e.allocatedBytes;
        // the first warm-up for these types in this process: it runs
        warmUp(model);
        assert.equal(e.allocatedBytes, held, "no buffer left behind");
        assert.deepEqual(run(model), before, "bit-identical logits after the warm-up");
        model.free();
        assert.equal(e.allocatedBytes, 0);
      } finally {
        await e.close();
      }
    });
  }

  test("a split model is warmed with every part's layer types, and loads as without", async () => {
    const path = fileOf("Q5_0");
    const cold = await loadLlamaGgufSplit(path, { threads: 1, parts: 2, maxContext: 32, warmUp: false });
    const warm = await loadLlamaGgufSplit(path, { threads: 1, parts: 2, maxContext: 32 });
    try {
      assert.equal(warm.engines.length, 2);
      assert.deepEqual(
        warm.engines.map((e) => e.allocatedBytes),
        cold.engines.map((e) => e.allocatedBytes),
      );
      assert.deepEqual(run(warm.model), run(cold.model));
    } finally {
      for (const m of [cold, warm]) {
        m.file.close();
        m.model.free();
        await Promise.all(m.engines.map((e) => e.close()));
      }
    }
  });
});
