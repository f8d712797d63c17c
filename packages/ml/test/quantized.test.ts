// Linear kernels on weights kept in their GGUF storage format, against float64 products of the same
// weights decoded by the formats module (the decoder the GGUF tests check bit by bit).
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FormatError } from "../src/formats/errors.ts";
import { decodeTensor, encodeTensor, GgmlType, type GgufWriteType } from "../src/formats/ggml-types.ts";
import { readLlamaGguf, writeLlamaGguf } from "../src/formats/llama-gguf.ts";
import type { LlamaConfig } from "../src/formats/model-config.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import * as ref from "../src/kernels/reference.ts";
import { LoraAdapter, type LoraSlot } from "../src/lora/adapter.ts";
import { mergeAdapter } from "../src/lora/merge.ts";
import { ModelInputError, ModelMemoryError } from "../src/model/errors.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache, LlamaModel } from "../src/model/llama.ts";
import { loadLlamaGguf } from "../src/model/load-gguf.ts";
import { causalExample, type LoraGrad, lossAndGrad } from "../src/train/backprop.ts";
import { Trainer } from "../src/train/trainer.ts";
import { randomData, randomWeights } from "./formats-util.ts";

const TYPES: GgufWriteType[] = [
  "F16",
  "BF16",
  "Q8_0",
  "Q4_0",
  "Q4_1",
  "Q5_0",
  "Q5_1",
  "Q4_K",
  "Q5_K",
  "Q6_K",
];

/** Worst |a − b| relative to the largest |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    worst = Math.max(worst, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return worst / scale;
}

function packed(e: Engine, type: GgufWriteType, rows: number, cols: number, seed: number) {
  const data = randomData(rows * cols, seed, 0.5);
  const bytes = encodeTensor(type, data, "w");
  const buf = e.allocBytes(bytes.byteLength);
  const W = new QTensor(buf, GgmlType[type], rows, cols);
  W.bytes.set(bytes);
  return { W, decoded: decodeTensor(GgmlType[type], bytes, rows * cols, "w") };
}

for (const [threads, relaxedSimd] of [
  [1, false],
  [3, true],
] as const) {
  describe(`packed weights, ${threads} thread(s), ${relaxedSimd ? "relaxed" : "plain"} SIMD`, () => {
    let e: Engine;
    before(async () => {
      e = await Engine.create({ threads, relaxedSimd, maxMemoryMiB: 256 });
      assert.equal(e.relaxedSimd, relaxedSimd);
    });
    after(() => e.close());

    for (const type of TYPES) {
      test(`${type}: dequantised rows equal the format decoder; linear and its input gradient match`, () => {
        const N = 70;
        const K = 512;
        const { W, decoded } = packed(e, type, N, K, 7);
        const rows = e.alloc(N * K);
        e.dequantRows(W, 0, N, rows);
        assert.deepEqual(rows.f32, decoded, "dequant_rows");
        // M = 1 and 3 dot from the blocks (8-bit activations for block types), M = 9 goes through panels
        for (const M of [1, 3, 9]) {
          const xs = randomData(M * K, 11 + M);
          const x = e.from(xs);
          const out = e.alloc(M * N);
          e.linear(x, W, out, M, N, K);
          const want = ref.matmulABt(xs, decoded, M, N, K);
          // block types round activations to 8 bits (as llama.cpp does) unless `exact` (training) asks not to
          const rounded = !type.startsWith("F") && type !== "BF16";
          const tol = rounded ? 0.02 : 1e-5;
          assert.ok(relErr(out.f32, want) < tol, `${type} M=${M}: relative error ${relErr(out.f32, want)}`);
          e.linear(x, W, out, M, N, K, { accumulate: true });
          const twice = want.map((v) => 2 * v);
          assert.ok(relErr(out.f32, twice) < tol, `${type} accumulate`);
          if (M > 4) {
            e.linear(x, W, out, M, N, K, { exact: true });
            assert.ok(relErr(out.f32, want) < 1e-5, `${type} M=${M} exact: ${relErr(out.f32, want)}`);
          }
          const dys = randomData(M * N, 5 + M);
          const dy = e.from(dys);
          const dx = e.alloc(M * K);
          e.linearInputGrad(dy, W, dx, M, N, K);
          const err2 = relErr(dx.f32, ref.matmulAB(dys, decoded, M, K, N));
          assert.ok(err2 < 1e-5, `${type} M=${M} input gradient: relative error ${err2}`);
          for (const b of [x, out, dy, dx]) b.free();
        }
        rows.free();
        W.free();
      });
    }
  });
}

test("block scales that are f16 subnormals (weights below about 1e-4) decode to the same values", async () => {
  // the kernels convert such scales without a subnormal f32 on the way (a slow path on x86): same values
  const e = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
  try {
    for (const type of ["Q4_0", "Q8_0", "Q4_K", "Q6_K"] as const) {
      const N = 8;
      const K = 256;
      const data = randomData(N * K, 13, 2e-4);
      const bytes = encodeTensor(type, data, "w");
      const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType[type], N, K);
      W.bytes.set(bytes);
      const decoded = decodeTensor(GgmlType[type], bytes, N * K, "w");
      assert.ok(
        decoded.some((v) => v !== 0 && Math.abs(v) < 6.1e-5),
        `${type}: values in f16's subnormal range`,
      );
      const rows = e.alloc(N * K);
      e.dequantRows(W, 0, N, rows);
      assert.deepEqual(rows.f32, decoded, `${type} dequant_rows`);
      const xs = randomData(K, 14);
      const x = e.from(xs);
      const out = e.alloc(N);
      e.linear(x, W, out, 1, N, K);
      const err = relErr(out.f32, ref.matmulABt(xs, decoded, 1, N, K));
      assert.ok(err < 0.02, `${type}: relative error ${err}`);
      for (const b of [W, rows, x, out]) b.free();
    }
  } finally {
    await e.close();
  }
});

test("repacked four rows at a time: the same values and products as stored; other shapes stay as stored", async () => {
  for (const [threads, relaxedSimd] of [
    [1, false],
    [2, true],
  ] as const) {
    const e = await Engine.create({ threads, relaxedSimd, maxMemoryMiB: 64 });
    try {
      for (const type of ["Q4_0", "Q8_0"] as const) {
        const N = 72;
        const K = 512;
        const { W, decoded } = packed(e, type, N, K, 9);
        const plain = packed(e, type, N, K, 9).W;
        e.repackForDecode(W);
        assert.notEqual(W.kernelType, GgmlType[type], type);
        const rows = e.alloc(N * K);
        e.dequantRows(W, 0, N, rows);
        assert.deepEqual(rows.f32, decoded, "dequant_rows");
        e.dequantRows(W, 5, 6, rows.at(0, K)); // one row, as an embedding lookup reads it
        assert.deepEqual(rows.f32.subarray(0, K), decoded.subarray(5 * K, 6 * K));
        for (const M of [1, 3, 9]) {
          const xs = randomData(M * K, 30 + M);
          const x = e.from(xs);
          const [a, b] = [e.alloc(M * N), e.alloc(M * N)];
          e.linear(x, W, a, M, N, K);
          e.linear(x, plain, b, M, N, K);
          const want = ref.matmulABt(xs, decoded, M, N, K);
          assert.ok(relErr(a.f32, want) < 0.02, `${type} M=${M}: ${relErr(a.f32, want)}`);
          // the same 8-bit products: equal to the row-by-row kernel up to float rounding
          assert.ok(
            relErr(a.f32, b.f32) < 1e-5,
            `${type} M=${M} against rows as stored: ${relErr(a.f32, b.f32)}`,
          );
          const dy = e.from(randomData(M * N, 40 + M));
          const [dx1, dx2] = [e.alloc(M * K), e.alloc(M * K)];
          e.linearInputGrad(dy, W, dx1, M, N, K);
          e.linearInputGrad(dy, plain, dx2, M, N, K);
          assert.deepEqual(dx1.f32, dx2.f32, `${type} M=${M} input gradient`);
          for (const buf of [x, a, b, dy, dx1, dx2]) buf.free();
        }
        const odd = packed(e, type, 70, K, 9).W;
        e.repackForDecode(odd);
        assert.equal(odd.kernelType, GgmlType[type], "70 rows are not whole groups of 4: left as stored");
        for (const buf of [W, plain, odd, rows]) buf.free();
      }
    } finally {
      await e.close();
    }
  }
});

test("the relaxed build's byte dots give the plain build's integer sums (decode, every block type)", async () => {
  // both builds sum the same 8-bit products exactly; only the float scaling may round differently (FMA)
  const plain = await Engine.create({ threads: 1, relaxedSimd: false, maxMemoryMiB: 64 });
  const relaxed = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
  try {
    if (!relaxed.relaxedSimd) return;
    const N = 40;
    const K = 768;
    for (const type of TYPES) {
      const outs = [plain, relaxed].map((e) => {
        const { W } = packed(e, type, N, K, 3);
        const x = e.from(randomData(K, 4));
        const out = e.alloc(N);
        e.linear(x, W, out, 1, N, K);
        const r = Float64Array.from(out.f32);
        for (const b of [W, x, out]) b.free();
        return r;
      });
      assert.ok(relErr(outs[1], outs[0]) < 1e-5, `${type}: ${relErr(outs[1], outs[0])}`);
    }
  } finally {
    await plain.close();
    await relaxed.close();
  }
});

describe("models loaded with packed weights", () => {
  const dir = mkdtempSync(join(tmpdir(), "ml-packed-"));
  const cfg: LlamaConfig = {
    architecture: "llama",
    vocabSize: 96,
    hiddenSize: 64,
    intermediateSize: 128,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 16,
    contextLength: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
  };
  const weights = randomWeights(cfg, 3);
  let e: Engine;
  before(async () => {
    e = await Engine.create({ threads: 2, maxMemoryMiB: 64 });
  });
  after(async () => {
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("Q4_0: memory is the file's size, logits match the decoded f32 model, LoRA gradients too", () => {
    const path = join(dir, "q4.gguf");
    writeLlamaGguf(path, { config: cfg, weights, tensorType: "Q4_0" });
    const { model: q, file } = loadLlamaGguf(e, path);
    file.close();
    const f = LlamaModel.fromWeights(e, cfg, readLlamaGguf(path).weights);
    try {
      assert.ok(q.packed && !f.packed);
      assert.ok(
        q.weightBytes < f.weightBytes / 5,
        `${q.weightBytes} bytes packed vs ${f.weightBytes} as f32`,
      );
      // prefill (dequantised panels) and a decode step (blocks) round activations to 8 bits: close to f32
      const tokens = [5, 17, 33, 2, 90, 41, 8, 64];
      const [cq, cf] = [new KVCache(q), new KVCache(f)];
      const [lq] = forward(q, [{ tokens, cache: cq, allLogits: true }]);
      const [lf] = forward(f, [{ tokens, cache: cf, allLogits: true }]);
      assert.ok(relErr(lq, lf) < 0.05, `prefill ${relErr(lq, lf)}`);
      const [dq] = forward(q, [{ tokens: [7], cache: cq }]);
      const [df] = forward(f, [{ tokens: [7], cache: cf }]);
      assert.ok(relErr(dq, df) < 0.05, `decode ${relErr(dq, df)}`);
      cq.free();
      cf.free();

      const opts = { rank: 4, alpha: 8, targets: ["q_proj", "v_proj", "down_proj"] as const };
      const grads = (m: LlamaModel) => {
        const a = LoraAdapter.create(e, cfg, { ...opts, targets: [...opts.targets] }, 9);
        for (const slots of a.slots)
          for (const s of slots.values()) s.B.f32.set(randomData(s.B.length, 4, 0.1));
        const sink = new Map<LoraSlot, LoraGrad>();
        for (const slots of a.slots)
          for (const s of slots.values()) sink.set(s, { dA: e.alloc(s.A.length), dB: e.alloc(s.B.length) });
        const batch = [
          causalExample([1, 4, 9, 16, 25, 36, 49, 64, 81]),
          causalExample([3, 1, 4, 1, 5, 9, 2, 6]),
        ];
        const r = lossAndGrad(m, batch, a, { full: null, lora: sink });
        const out = [...sink.values()].flatMap((g) => [g.dA.f32.slice(), g.dB.f32.slice()]);
        for (const g of sink.values()) {
          g.dA.free();
          g.dB.free();
        }
        a.free();
        return { loss: r.loss, out };
      };
      const gq = grads(q);
      const gf = grads(f);
      assert.ok(Math.abs(gq.loss - gf.loss) < 1e-5, `${gq.loss} vs ${gf.loss}`);
      for (const [i, g] of gq.out.entries()) {
        assert.ok(relErr(g, gf.out[i]) < 1e-4, `gradient ${i}: ${relErr(g, gf.out[i])}`);
      }

      // a quantised base trains LoRA; full training and merging into packed weights are refused
      const trainer = new Trainer(q, {
        mode: "lora",
        lora: { rank: 4, alpha: 8, targets: ["q_proj", "v_proj"] },
        learningRate: 1e-2,
        warmupSteps: 0,
        totalSteps: 8,
        seed: 1,
      });
      const batch = [causalExample([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])];
      const first = trainer.trainStep(batch).loss;
      let last = first;
      for (let i = 0; i < 7; i++) last = trainer.trainStep(batch).loss;
      assert.ok(last < first, `loss ${first} -> ${last}`);
      assert.throws(() => mergeAdapter(q, trainer.adapter!), ModelInputError);
      trainer.free();
      assert.throws(
        () => new Trainer(q, { mode: "full", learningRate: 1e-3, warmupSteps: 0, totalSteps: 1, seed: 1 }),
        /full-parameter training needs float32 weights/,
      );
    } finally {
      q.free();
      f.free();
    }
  });

  test("a truncated or mis-shaped GGUF is a FormatError and leaves no memory allocated", async (t) => {
    const path = join(dir, "good.gguf");
    writeLlamaGguf(path, { config: cfg, weights, tensorType: "Q4_0" });
    const bytes = readFileSync(path);
    const cut = join(dir, "cut.gguf");
    writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 32 });
    t.after(() => engine.close());
    assert.throws(
      () => loadLlamaGguf(engine, cut),
      (err: Error) => err instanceof FormatError && /truncated/.test(err.message),
    );
    // a config that disagrees with the tensors (one more layer claimed than stored)
    const wrong = join(dir, "wrong.gguf");
    writeLlamaGguf(wrong, {
      config: { ...cfg, numLayers: 1 },
      weights: new Map([...weights].filter(([n]) => !n.includes("layers.1."))),
      tensorType: "Q4_0",
    });
    const patched = readFileSync(wrong);
    const key = Buffer.from("llama.block_count");
    const at = patched.indexOf(key) + key.length + 4; // u32 value after the type tag
    patched.writeUInt32LE(2, at);
    writeFileSync(wrong, patched);
    assert.throws(
      () => loadLlamaGguf(engine, wrong),
      (err: Error) => err instanceof FormatError && /missing/.test(err.message),
    );
    assert.equal(engine.allocatedBytes, 0);
  });

  test("a model that cannot fit is refused before any tensor is read, naming sizes and what to change", async (t) => {
    const big: LlamaConfig = { ...cfg, vocabSize: 20000, hiddenSize: 256, headDim: 64 };
    const path = join(dir, "big.gguf");
    writeLlamaGguf(path, { config: big, weights: randomWeights(big, 5), tensorType: "F16" });
    const small = await Engine.create({ threads: 1, maxMemoryMiB: 16 });
    t.after(() => small.close());
    assert.throws(
      () => loadLlamaGguf(small, path),
      (err: Error) =>
        err instanceof ModelMemoryError &&
        /needs [\d.]+ MiB \([\d.]+ MiB of F16 weights as stored\).*can hold [\d.]+ MiB more \(maxMemoryMiB 16\).*larger maxMemoryMiB/.test(
          err.message,
        ),
    );
    assert.equal(small.allocatedBytes, 0);
  });
});
