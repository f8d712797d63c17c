// The integer GEMM (assembly/qgemm.ts) that `Engine.linear` runs for more than four rows on Q4_0 (as
// stored, or repacked four rows at a time), Q4_1, Q5_0, Q5_1 and K-quant weights in the relaxed build.
//
// Exact cases: block scales that are powers of two and activations that quantise to themselves (every
// block holds a −127, the rest is small), so every product and partial sum is a float with room to spare
// and the result must equal the float64 product of the format decoder's weights bit for bit: this checks
// the integer sums, the unpacking and the tile edges. Both builds (the plain one takes the dequantised
// panels) and the decode path (M ≤ 4) must give the same numbers.
// Random cases: the integer GEMM against the plain build's f32 panels on the same 8-bit activations.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeTensor, encodeTensor, GgmlType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import * as ref from "../src/kernels/reference.ts";
import { randomData, seeded } from "./formats-util.ts";

type IntType = "Q4_0" | "Q4_1" | "Q5_0" | "Q5_1" | "Q4_K" | "Q5_K" | "Q6_K";
const TYPES: IntType[] = ["Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K", "Q5_K", "Q6_K"];
const BLOCK_BYTES: Record<IntType, number> = {
  Q4_0: 18,
  Q4_1: 20,
  Q5_0: 22,
  Q5_1: 24,
  Q4_K: 144,
  Q5_K: 176,
  Q6_K: 210,
};
const isKQuant = (type: IntType) => type.endsWith("_K");
const MS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 17, 64];

const F16_ONE = 0x3c00;
const F16_HALF = 0x3800;

/** Blocks with power-of-two scales and random values (small sub-block scales, so sums stay exact). */
function exactBlocks(type: IntType, rows: number, cols: number, seed: number): Uint8Array {
  const r = seeded(seed);
  const byte = () => Math.floor(r() * 256);
  const bs = BLOCK_BYTES[type];
  const out = new Uint8Array((rows * cols * bs) / (isKQuant(type) ? 256 : 32));
  const view = new DataView(out.buffer);
  for (let o = 0; o < out.length; o += bs) {
    for (let i = 0; i < bs; i++) out[o + i] = byte();
    const scale = () => (r() < 0.5 ? F16_ONE : F16_HALF);
    if (!isKQuant(type)) {
      view.setUint16(o, scale(), true);
      // Q4_1/Q5_1 mins of either sign
      if (type === "Q4_1" || type === "Q5_1") view.setUint16(o + 2, scale() | (r() < 0.5 ? 0x8000 : 0), true);
    } else if (type === "Q6_K") {
      for (let g = 0; g < 16; g++) view.setInt8(o + 192 + g, Math.floor(r() * 64) - 32);
      view.setUint16(o + 208, scale(), true);
    } else {
      view.setUint16(o, scale(), true);
      view.setUint16(o + 2, scale(), true);
    }
  }
  return out;
}

/** Activations that 8-bit block quantisation keeps as they are: one −127 per 32 values, the rest in −4..4. */
function exactActivations(M: number, K: number, seed: number): Float32Array {
  const r = seeded(seed);
  const x = Float32Array.from({ length: M * K }, () => Math.floor(r() * 9) - 4);
  for (let b = 0; b < (M * K) / 32; b++) x[b * 32 + Math.floor(r() * 32)] = -127;
  return x;
}

function weight(e: Engine, type: IntType, bytes: Uint8Array, N: number, K: number): QTensor {
  const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType[type], N, K);
  W.bytes.set(bytes);
  e.repackForDecode(W);
  return W;
}

for (const relaxedSimd of [true, false]) {
  describe(`integer GEMM on packed weights, ${relaxedSimd ? "relaxed" : "plain"} build`, () => {
    let e: Engine;
    before(async () => {
      e = await Engine.create({ threads: 3, relaxedSimd, maxMemoryMiB: 256 });
    });
    after(() => e.close());

    for (const type of TYPES) {
      test(`${type}: exact sums at M = ${MS.join(", ")}, tile and panel edges`, () => {
        const K = 512;
        // 100 rows span two panels and three threads' ranges (Q4_0 repacked: rows a multiple of 4);
        // matrices of 7 and 102 rows end in a partial group of four (Q4_0 as stored)
        const Ns = type === "Q4_0" ? [4, 100, 7] : [7, 102];
        for (const N of Ns) {
          const bytes = exactBlocks(type, N, K, N);
          const w = decodeTensor(GgmlType[type], bytes, N * K, "w");
          const W = weight(e, type, bytes, N, K);
          // Q4_0 in groups of four rows; Q6_K permuted within its super-blocks in the relaxed build
          const repacked = (type === "Q4_0" && N % 4 === 0) || (type === "Q6_K" && relaxedSimd);
          assert.equal(W.kernelType !== W.type, repacked, "only Q4_0 and (relaxed) Q6_K are repacked");
          for (const M of MS) {
            const xs = exactActivations(M, K, 100 * N + M);
            const x = e.from(xs);
            const out = e.alloc(M * N);
            e.linear(x, W, out, M, N, K);
            const want = Float32Array.from(ref.matmulABt(xs, w, M, N, K));
            assert.deepEqual(out.f32, want, `${type} N=${N} M=${M}`);
            e.linear(x, W, out, M, N, K, { accumulate: true });
            assert.deepEqual(
              out.f32,
              want.map((v) => 2 * v),
              `${type} N=${N} M=${M} accumulate`,
            );
            x.free();
            out.free();
          }
          W.free();
        }
      });
    }

    test("largest values: every weight and activation at its extreme (no integer sum overflows)", () => {
      const M = 6;
      const N = 8;
      const K = 512;
      for (const type of TYPES) {
        // all value bits set (the largest unsigned value of each format), unit scales; Q6_K group
        // scales −128; activations ±127 in runs
        const bytes = new Uint8Array((N * K * BLOCK_BYTES[type]) / (isKQuant(type) ? 256 : 32)).fill(0xff);
        const view = new DataView(bytes.buffer);
        for (let o = 0; o < bytes.length; o += BLOCK_BYTES[type]) {
          if (type === "Q6_K") {
            bytes.fill(0x80, o + 192, o + 208);
            view.setUint16(o + 208, F16_ONE, true);
          } else {
            view.setUint16(o, F16_ONE, true);
            if (type !== "Q4_0" && type !== "Q5_0") view.setUint16(o + 2, F16_ONE, true);
          }
        }
        const w = decodeTensor(GgmlType[type], bytes, N * K, "w");
        const W = weight(e, type, bytes, N, K);
        const xs = Float32Array.from({ length: M * K }, (_, i) => ((i >> 6) % 3 === 0 ? 127 : -127));
        const x = e.from(xs);
        const out = e.alloc(M * N);
        e.linear(x, W, out, M, N, K);
        const want = ref.matmulABt(xs, w, M, N, K);
        for (let i = 0; i < M * N; i++) {
          assert.ok(
            Math.abs(out.f32[i] - want[i]) <= 1e-6 * Math.abs(want[i]),
            `${type} [${i}]: ${out.f32[i]} vs ${want[i]}`,
          );
        }
        for (const b of [W, x, out]) b.free();
      }
    });

    test("row strides: x and out inside wider buffers", () => {
      const M = 9;
      const N = 12;
      const K = 256;
      const lda = K + 32;
      const ldc = N + 5;
      for (const type of TYPES) {
        const bytes = exactBlocks(type, N, K, 3);
        const w = decodeTensor(GgmlType[type], bytes, N * K, "w");
        const W = weight(e, type, bytes, N, K);
        const xs = exactActivations(M, K, 4);
        const wide = new Float32Array(M * lda).fill(Number.NaN);
        for (let m = 0; m < M; m++) wide.set(xs.subarray(m * K, (m + 1) * K), m * lda);
        const x = e.from(wide);
        const out = e.from(new Float32Array(M * ldc).fill(-1));
        e.linear(x, W, out, M, N, K, { lda, ldc });
        const want = ref.matmulABt(xs, w, M, N, K);
        for (let m = 0; m < M; m++) {
          assert.deepEqual(
            out.f32.subarray(m * ldc, m * ldc + N),
            Float32Array.from(want.subarray(m * N, (m + 1) * N)),
            `${type} row ${m}`,
          );
          assert.deepEqual(
            [...out.f32.subarray(m * ldc + N, (m + 1) * ldc)],
            [-1, -1, -1, -1, -1],
            `${type} row ${m} padding`,
          );
        }
        for (const b of [W, x, out]) b.free();
      }
    });
  });
}

describe("integer GEMM against the f32 panels on random data", () => {
  let relaxed: Engine;
  let plain: Engine;
  before(async () => {
    relaxed = await Engine.create({ threads: 2, relaxedSimd: true, maxMemoryMiB: 256 });
    plain = await Engine.create({ threads: 1, relaxedSimd: false, maxMemoryMiB: 256 });
  });
  after(async () => {
    await relaxed.close();
    await plain.close();
  });

  for (const type of TYPES) {
    test(`${type}: both builds agree to float rounding`, (t) => {
      if (!relaxed.relaxedSimd) {
        t.skip("relaxed SIMD unavailable in this Node");
        return;
      }
      const M = 17;
      const N = 36;
      const K = 1024;
      const bytes = encodeTensor(type, randomData(N * K, 21, 0.5), "w");
      const xs = randomData(M * K, 22);
      const results = [relaxed, plain].map((e) => {
        const W = weight(e, type, bytes, N, K);
        const x = e.from(xs);
        const out = e.alloc(M * N);
        e.linear(x, W, out, M, N, K);
        const r = Float32Array.from(out.f32);
        for (const b of [W, x, out]) b.free();
        return r;
      });
      // the same 8-bit activations and weights: only the order of the float operations differs (per
      // block one product of scales and one multiply-add against a sum over up to 32 blocks)
      let worst = 0;
      let scale = 0;
      for (let i = 0; i < results[0].length; i++) {
        worst = Math.max(worst, Math.abs(results[0][i] - results[1][i]));
        scale = Math.max(scale, Math.abs(results[1][i]));
      }
      assert.ok(worst / scale < 2e-6, `${type}: relative difference ${worst / scale}`);
    });
  }
});
