import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Engine } from "../src/kernels/engine.ts";
import { ModelInputError, WeightShapeError } from "../src/model/errors.ts";
import { generate, generateBatch, stream } from "../src/model/generate.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache, LlamaModel } from "../src/model/llama.ts";
import { Sequence } from "../src/model/sequence.ts";
import { referenceLogits } from "./helpers/reference-model.ts";
import { tinyConfig, tinyWeights } from "./helpers/tiny.ts";

function maxErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

const tokens = [1, 5, 9, 2, 33, 17, 0, 36, 4, 4, 12];

describe("LLaMA-family model", () => {
  let e: Engine;
  before(async () => {
    e = await Engine.create({ threads: 2, maxMemoryMiB: 256 });
  });
  after(() => e.close());

  for (const [label, over] of [
    ["llama, GQA, untied", {}],
    ["tied embeddings", { tieWordEmbeddings: true }],
    ["qwen2 with QKV bias, MHA", { architecture: "qwen2", attentionBias: true, numKvHeads: 4 }],
  ] as const) {
    test(`prefill logits match the float64 reference (${label})`, () => {
      const c = tinyConfig(over);
      const w = tinyWeights(c, 3);
      const m = LlamaModel.fromWeights(e, c, w);
      const cache = new KVCache(m);
      const [logits] = forward(m, [{ tokens, cache, allLogits: true }]);
      const want = referenceLogits(c, w, tokens);
      assert.ok(maxErr(logits, want) < 1e-4, `max error ${maxErr(logits, want)}`);
      cache.free();
      m.free();
    });
  }

  test("decoding token by token with the KV cache equals the full prefill", () => {
    const c = tinyConfig();
    const w = tinyWeights(c, 4);
    const m = LlamaModel.fromWeights(e, c, w);
    const want = referenceLogits(c, w, tokens);
    const cache = new KVCache(m);
    forward(m, [{ tokens: tokens.slice(0, 4), cache }]);
    for (let i = 4; i < tokens.length; i++) {
      const [l] = forward(m, [{ tokens: [tokens[i]], cache }]);
      assert.ok(maxErr(l, want.subarray(i * c.vocabSize, (i + 1) * c.vocabSize)) < 1e-4, `position ${i}`);
    }
    assert.equal(cache.length, tokens.length);
    cache.free();
    m.free();
  });

  test("a batch of sequences at different positions equals each alone", () => {
    const c = tinyConfig();
    const m = LlamaModel.fromWeights(e, c, tinyWeights(c, 5));
    const prompts = [tokens, [3, 3, 3], [7]];
    const alone = prompts.map((p) => {
      const cache = new KVCache(m);
      const r = forward(m, [{ tokens: p, cache }])[0];
      const r2 = forward(m, [{ tokens: [8], cache }])[0];
      cache.free();
      return [r, r2];
    });
    const caches = prompts.map(() => new KVCache(m));
    const first = forward(
      m,
      prompts.map((p, i) => ({ tokens: p, cache: caches[i] })),
    );
    const second = forward(
      m,
      prompts.map((_, i) => ({ tokens: [8], cache: caches[i] })),
    );
    prompts.forEach((_, i) => {
      assert.ok(maxErr(first[i], alone[i][0]) < 1e-5);
      assert.ok(maxErr(second[i], alone[i][1]) < 1e-5);
    });
    for (const x of caches) x.free();
    m.free();
  });

  test("bad input: architecture, missing or mis-shaped weights, token ids, context", () => {
    const c = tinyConfig();
    const w = tinyWeights(c, 6);
    assert.throws(
      () => LlamaModel.fromWeights(e, { ...c, architecture: "gpt2" as "llama" }, w),
      (err: Error) => err instanceof WeightShapeError && /llama.*qwen2/.test(err.message),
    );
    const missing = new Map(w);
    missing.delete("model.layers.1.mlp.up_proj.weight");
    assert.throws(
      () => LlamaModel.fromWeights(e, c, missing),
      /model\.layers\.1\.mlp\.up_proj\.weight' is missing/,
    );
    const bad = new Map(w);
    bad.set("model.norm.weight", { shape: [3], data: new Float32Array(3) });
    assert.throws(() => LlamaModel.fromWeights(e, c, bad), /model\.norm\.weight.*needs \[16\]/);
    assert.throws(() => LlamaModel.fromWeights(e, { ...c, numKvHeads: 3 }, w), WeightShapeError);
    const m = LlamaModel.fromWeights(e, c, w, { maxContext: 8 });
    const cache = new KVCache(m);
    assert.throws(() => forward(m, [{ tokens: [1, 99], cache }]), /token id 99 outside the vocabulary of 37/);
    assert.throws(() => forward(m, [{ tokens: [1, 2.5], cache }]), ModelInputError);
    assert.throws(() => forward(m, [{ tokens: [], cache }]), ModelInputError);
    assert.throws(() => forward(m, [{ tokens: new Array(9).fill(1), cache }]), /exceed the context of 8/);
    assert.equal(cache.length, 0);
    assert.throws(
      () =>
        forward(m, [
          { tokens: [1], cache },
          { tokens: [2], cache },
        ]),
      /share a KV cache/,
    );
    cache.free();
    m.free();
  });
});

describe("generation", () => {
  let e: Engine;
  let m: LlamaModel;
  const c = tinyConfig();
  const w = tinyWeights(c, 9);
  const decode = (ids: number[]) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join("");
  before(async () => {
    e = await Engine.create({ threads: 2, maxMemoryMiB: 256 });
    m = LlamaModel.fromWeights(e, c, w);
  });
  after(async () => {
    m.free();
    await e.close();
  });

  test("greedy decoding follows the reference model's argmax", async () => {
    const prompt = [1, 2, 3];
    const r = await generate(m, prompt, { maxTokens: 6 });
    assert.equal(r.finishReason, "length");
    const seq = [...prompt];
    for (const t of r.tokens) {
      const logits = referenceLogits(c, w, seq);
      const last = logits.subarray((seq.length - 1) * c.vocabSize);
      let best = 0;
      for (let i = 1; i < last.length; i++) if (last[i] > last[best]) best = i;
      assert.equal(t, best);
      seq.push(t);
    }
  });

  test("seeded sampling is reproducible and seeds differ", async () => {
    const o = { maxTokens: 12, temperature: 1.5, topK: 20, topP: 0.95 };
    const a = await generate(m, [4, 5], { ...o, seed: 1 });
    const b = await generate(m, [4, 5], { ...o, seed: 1 });
    const d = await generate(m, [4, 5], { ...o, seed: 2 });
    assert.deepEqual(a.tokens, b.tokens);
    assert.notDeepEqual(a.tokens, d.tokens);
    const k1 = await generate(m, [4, 5], { maxTokens: 8, temperature: 5, topK: 1, seed: 3 });
    const greedy = await generate(m, [4, 5], { maxTokens: 8 });
    assert.deepEqual(k1.tokens, greedy.tokens, "top-k 1 is greedy at any temperature");
  });

  test("streaming yields the same tokens and text; stop strings and stop tokens end it", async () => {
    const full = await generate(m, [6], { maxTokens: 10, decode });
    assert.equal(full.text, decode(full.tokens));
    const stop = full.text.slice(4, 6);
    const cut = full.text.indexOf(stop);
    const events: string[] = [];
    const it = stream(m, [6], { maxTokens: 10, decode, stop: [stop] });
    let r = await it.next();
    while (!r.done) {
      events.push(r.value.text);
      r = await it.next();
    }
    assert.equal(r.value.finishReason, "stop");
    assert.equal(r.value.text, full.text.slice(0, cut));
    assert.equal(events.join(""), full.text.slice(0, cut));
    const st = await generate(m, [6], { maxTokens: 10, stopTokens: [full.tokens[3]] });
    assert.equal(st.finishReason, "stop");
    assert.deepEqual(st.tokens, full.tokens.slice(0, full.tokens.indexOf(full.tokens[3])));
  });

  test("log-probs are normalised and the top list is sorted", async () => {
    const r = await generate(m, [7, 8], { maxTokens: 3, logprobs: 5 });
    for (const lp of r.logprobs!) {
      assert.ok(lp.logprob <= 0);
      assert.equal(lp.top!.length, 5);
      assert.equal(lp.top![0].token, lp.token, "greedy picks the top token");
      for (let i = 1; i < 5; i++) assert.ok(lp.top![i - 1].logprob >= lp.top![i].logprob);
    }
  });

  test("batched generation equals one request at a time", async () => {
    const reqs = [
      { prompt: [1, 2, 3], maxTokens: 5 },
      { prompt: [9], maxTokens: 7, temperature: 1, seed: 4 },
      { prompt: [5, 5, 5, 5, 5], maxTokens: 3 },
    ];
    const batch = await generateBatch(m, reqs);
    for (let i = 0; i < reqs.length; i++) {
      const one = await generate(m, reqs[i].prompt, reqs[i]);
      assert.deepEqual(batch[i].tokens, one.tokens);
    }
  });

  test("a Sequence stepped by hand equals generate; its cache is allocated on first input and capped", async () => {
    const before = e.allocatedBytes;
    const seq = new Sequence(m, [2, 4, 6], { maxTokens: 100, temperature: 0.7, seed: 5, decode });
    assert.equal(e.allocatedBytes, before, "a queued sequence holds no cache");
    const first = seq.input();
    assert.deepEqual(Array.from(first.tokens), [2, 4, 6], "the first input is the prefill");
    assert.ok(e.allocatedBytes > before);
    const ev = seq.accept(forward(m, [first])[0])!;
    assert.deepEqual(Array.from(seq.input().tokens), [ev.token], "then the last sampled token");
    while (!seq.done) seq.step();
    const r = seq.result();
    assert.equal(r.finishReason, "length");
    assert.equal(r.tokens.length, 64 - 3 + 1, "the context (64) caps it before maxTokens");
    const g = await generate(m, [2, 4, 6], { maxTokens: 100, temperature: 0.7, seed: 5, decode });
    assert.deepEqual(r.tokens, g.tokens);
    assert.equal(r.text, g.text);
    seq.free();
    assert.equal(e.allocatedBytes, before, "free releases the cache");
    assert.throws(() => seq.input(), ModelInputError);
  });

  test("invalid generation options are rejected", async () => {
    await assert.rejects(generate(m, [], {}), /no tokens/);
    await assert.rejects(generate(m, [1], { temperature: -1 }), /temperature/);
    await assert.rejects(generate(m, [1], { topP: 0 }), /topP/);
    await assert.rejects(generate(m, [1], { stop: ["x"] }), /decode/);
    await assert.rejects(generate(m, new Array(65).fill(1)), /context holds 64/);
  });
});

test("running out of kernel memory mid-pass leaks nothing and leaves the cache usable", async () => {
  const e = await Engine.create({ threads: 1, maxMemoryMiB: 16 });
  const c = tinyConfig({ vocabSize: 5000, contextLength: 4096 });
  const m = LlamaModel.fromWeights(e, c, tinyWeights(c, 1), { maxContext: 4096 });
  const cache = new KVCache(m);
  const before = e.allocatedBytes;
  // the last chunks of a 4000-token prefill need more attention scratch than the engine may hold
  assert.throws(() => forward(m, [{ tokens: new Array(4000).fill(1), cache }]), /out of kernel memory/);
  assert.equal(e.allocatedBytes, before);
  assert.equal(cache.length, 0);
  assert.equal(forward(m, [{ tokens: [1, 2], cache }])[0].length, c.vocabSize);
  cache.free();
  m.free();
  await e.close();
});

test("topIndices and sampling distributions", async () => {
  const { topIndices, sampleToken } = await import("../src/model/sampling.ts");
  const { Rng } = await import("../src/kernels/rng.ts");
  const v = [0.5, 3, -1, 3, 2, 7, 0.5];
  assert.deepEqual(topIndices(v, 4), [5, 1, 3, 4]);
  assert.deepEqual(topIndices(v, 10), [5, 1, 3, 4, 0, 6, 2]);
  assert.deepEqual(topIndices(v, 0), []);
  // empirical frequencies follow softmax(logits / T), and top-p removes the tail
  const logits = Float32Array.from([Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)]);
  const rng = new Rng(12);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 20000; i++) counts[sampleToken(logits, { temperature: 1 }, rng)]++;
  [0.5, 0.3, 0.15, 0.05].forEach((p, i) => {
    assert.ok(Math.abs(counts[i] / 20000 - p) < 0.015, `token ${i}`);
  });
  const nucleus = [0, 0, 0, 0];
  for (let i = 0; i < 5000; i++) nucleus[sampleToken(logits, { temperature: 1, topP: 0.8 }, rng)]++;
  assert.equal(nucleus[2] + nucleus[3], 0);
  assert.ok(Math.abs(nucleus[0] / 5000 - 0.625) < 0.03);
});

test("long prompts are prefilled in chunks with the same logits", async () => {
  const e = await Engine.create({ threads: 2, maxMemoryMiB: 128 });
  const c = tinyConfig({ contextLength: 1024 });
  const w = tinyWeights(c, 2);
  const m = LlamaModel.fromWeights(e, c, w);
  const long = Array.from({ length: 600 }, (_, i) => (i * 7 + 3) % c.vocabSize);
  const cache = new KVCache(m);
  const [all] = forward(m, [{ tokens: long, cache, allLogits: true }]);
  assert.equal(all.length, long.length * c.vocabSize);
  assert.equal(cache.length, 600);
  const want = referenceLogits(c, w, long.slice(0, 300));
  assert.ok(maxErr(all.subarray(0, 300 * c.vocabSize), want) < 1e-4);
  const other = new KVCache(m);
  const [last] = forward(m, [{ tokens: long, cache: other }]);
  assert.ok(maxErr(last, all.subarray(599 * c.vocabSize)) < 1e-5);
  for (const x of [cache, other]) x.free();
  m.free();
  await e.close();
});
