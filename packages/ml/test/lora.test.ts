import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readPeftAdapter, writePeftAdapter } from "../src/formats/lora-formats.ts";
import { Engine } from "../src/kernels/engine.ts";
import { Rng } from "../src/kernels/rng.ts";
import { LoraAdapter, type LoraTarget } from "../src/lora/adapter.ts";
import { mergeAdapter } from "../src/lora/merge.ts";
import { perExampleGradients } from "../src/lora/per-example.ts";
import { WeightShapeError } from "../src/model/errors.ts";
import { generate, generateBatch } from "../src/model/generate.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache, LlamaModel } from "../src/model/llama.ts";
import { causalExample, lossAndGrad } from "../src/train/backprop.ts";
import { tinyConfig, tinyWeights } from "./helpers/tiny.ts";

const ALL: LoraTarget[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

function maxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe("LoRA adapters", () => {
  let e: Engine;
  let m: LlamaModel;
  let adapters: LoraAdapter[];
  let dir: string;
  const c = tinyConfig();
  before(async () => {
    e = await Engine.create({ threads: 2, maxMemoryMiB: 256 });
    m = LlamaModel.fromWeights(e, c, tinyWeights(c, 40));
    const rng = new Rng(9);
    adapters = [
      LoraAdapter.create(e, c, { rank: 2, alpha: 4, targets: ALL }, 1),
      LoraAdapter.create(e, c, { rank: 4, alpha: 4, targets: ["q_proj", "v_proj"] }, 2),
      LoraAdapter.create(e, c, { rank: 3, alpha: 6, targets: ["down_proj", "o_proj"] }, 3),
    ];
    for (const a of adapters)
      for (const s of a.orderedSlots()) for (let i = 0; i < s.B.length; i++) s.B.f32[i] = rng.normal() * 0.5;
    dir = mkdtempSync(join(tmpdir(), "ml-lora-"));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    for (const a of adapters) a.free();
    m.free();
    await e.close();
  });

  test("a batch whose rows use different adapters equals each row alone with its adapter", () => {
    const rows = [
      { tokens: [1, 2, 3], adapter: adapters[0] },
      { tokens: [4, 5], adapter: null },
      { tokens: [6, 7, 8, 9], adapter: adapters[1] },
      { tokens: [10], adapter: adapters[0] },
      { tokens: [11, 12], adapter: adapters[2] },
    ];
    const alone = rows.map((r) => {
      const cache = new KVCache(m);
      const out = [
        forward(m, [{ ...r, cache, allLogits: true }])[0],
        forward(m, [{ tokens: [5], adapter: r.adapter, cache }])[0],
      ];
      cache.free();
      return out;
    });
    const caches = rows.map(() => new KVCache(m));
    const prefill = forward(
      m,
      rows.map((r, i) => ({ ...r, cache: caches[i], allLogits: true })),
    );
    const decode = forward(
      m,
      rows.map((r, i) => ({ tokens: [5], adapter: r.adapter, cache: caches[i] })),
    );
    rows.forEach((_, i) => {
      assert.ok(maxErr(prefill[i], alone[i][0]) < 1e-5, `prefill row ${i}`);
      assert.ok(maxErr(decode[i], alone[i][1]) < 1e-5, `decode row ${i}`);
    });
    const base = new KVCache(m);
    const plain = forward(m, [{ tokens: [1, 2, 3], cache: base, allLogits: true }])[0];
    assert.ok(maxErr(plain, alone[0][0]) > 1e-2, "the adapter changes the output");
    for (const x of [...caches, base]) x.free();
  });

  test("batched generation with mixed adapters equals one request at a time", async () => {
    const reqs = adapters.map((a, i) => ({ prompt: [i + 1, 7], adapter: a, maxTokens: 5 }));
    reqs.push({ prompt: [2, 7], adapter: null as never, maxTokens: 5 });
    const batch = await generateBatch(m, reqs);
    for (let i = 0; i < reqs.length; i++) {
      assert.deepEqual(batch[i].tokens, (await generate(m, reqs[i].prompt, reqs[i])).tokens);
    }
  });

  test("merging an adapter into the base gives the same logits; unmerging restores the base", () => {
    const w = m.exportWeights();
    const toks = [3, 1, 4, 1, 5, 9, 2, 6];
    const run = (adapter: LoraAdapter | null) => {
      const cache = new KVCache(m);
      const r = forward(m, [{ tokens: toks, cache, adapter, allLogits: true }])[0];
      cache.free();
      return r;
    };
    const withAdapter = run(adapters[0]);
    mergeAdapter(m, adapters[0]);
    assert.ok(maxErr(run(null), withAdapter) < 1e-4);
    mergeAdapter(m, adapters[0], -1);
    for (const [n, t] of m.exportWeights()) assert.ok(maxErr(t.data, w.get(n)!.data) < 1e-5, n);
  });

  test("PEFT export then import round-trips bit-exactly", () => {
    const path = join(dir, "peft");
    writePeftAdapter(path, adapters[2].toFile("tiny"));
    const back = LoraAdapter.fromFile(e, c, readPeftAdapter(path));
    const a = adapters[2].toFile().weights;
    const b = back.toFile().weights;
    assert.equal(b.size, a.size);
    for (const [n, t] of a) assert.deepEqual(b.get(n)!.data, t.data, n);
    assert.equal(back.options.alpha, 6);
    assert.equal(back.options.rank, 3);
    back.free();
  });

  test("an adapter that does not fit the base is rejected with the tensor named", () => {
    const f = adapters[1].toFile();
    const wrong = new Map(f.weights);
    wrong.set("model.layers.0.self_attn.q_proj.lora_A.weight", {
      shape: [4, 15],
      data: new Float32Array(60),
    });
    assert.throws(
      () => LoraAdapter.fromFile(e, c, { ...f, weights: wrong }),
      (err: Error) =>
        err instanceof WeightShapeError && /q_proj\.lora_A\.weight.*\[4, 16\]/.test(err.message),
    );
    const deep = new Map(f.weights);
    deep.set("model.layers.7.self_attn.q_proj.lora_A.weight", { shape: [4, 16], data: new Float32Array(64) });
    assert.throws(() => LoraAdapter.fromFile(e, c, { ...f, weights: deep }), /layer 7; the base has 2/);
    const other = tinyConfig({ hiddenSize: 24 });
    assert.throws(() => LoraAdapter.fromFile(e, other, f), WeightShapeError);
    assert.throws(
      () => LoraAdapter.create(e, c, { rank: 2, alpha: 1, targets: ["w_proj" as never] }, 0),
      /unknown LoRA target/,
    );
  });

  test("per-example gradients sum to the batch gradient; projections are seeded", () => {
    const a = adapters[1];
    const examples = [
      causalExample([1, 2, 3, 4, 5]),
      causalExample([9, 8, 7], 1),
      causalExample([20, 21, 22, 23]),
    ];
    const pe = perExampleGradients(m, a, examples);
    assert.equal(pe.vectors.length, 3);
    assert.equal(pe.vectors[0].length, a.parameterCount);
    // the batch loss is the token-weighted mean of per-example losses, and so is its gradient
    const counts = examples.map((x) => (x.targets as number[]).filter((t) => t >= 0).length);
    const total = counts.reduce((s, n) => s + n, 0);
    const grads = new Map(
      a.orderedSlots().map((s) => [s, { dA: e.alloc(s.A.length), dB: e.alloc(s.B.length) }]),
    );
    const r = lossAndGrad(m, examples, a, { full: null, lora: grads });
    const batch: number[] = [];
    for (const s of a.orderedSlots()) batch.push(...grads.get(s)!.dA.f32, ...grads.get(s)!.dB.f32);
    const combined = batch.map((_, i) => pe.vectors.reduce((s, v, k) => s + (v[i] * counts[k]) / total, 0));
    assert.ok(maxErr(combined, batch) < 1e-5);
    assert.ok(Math.abs(r.loss - pe.losses.reduce((s, l, k) => s + (l * counts[k]) / total, 0)) < 1e-5);
    for (const g of grads.values()) {
      g.dA.free();
      g.dB.free();
    }
    const p1 = perExampleGradients(m, a, examples, { projectDims: 16, seed: 5 });
    const p2 = perExampleGradients(m, a, examples, { projectDims: 16, seed: 5 });
    const p3 = perExampleGradients(m, a, examples, { projectDims: 16, seed: 6 });
    assert.equal(p1.vectors[0].length, 16);
    assert.deepEqual(p1.vectors, p2.vectors);
    assert.notDeepEqual(p1.vectors, p3.vectors);
    for (const v of p1.vectors) assert.ok(v.some((x) => x !== 0));
    assert.throws(() => perExampleGradients(m, a, examples, { projectDims: 0 }), /projectDims/);
  });
});
