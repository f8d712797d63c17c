// Q8_0 in the integer GEMM (assembly/qgemm.ts), which `Engine.linear` runs for more than four rows in the
// relaxed build, on Q8_0 as stored or repacked four rows at a time. Its weights are signed bytes, widened to
// i16 in the panel; each block is summed in integers and multiplied by d_w·d_a, as the decode kernels do.
//
// Exact cases: power-of-two scales and activations that quantise to themselves, so the result must equal
// the float64 product of the format decoder's weights bit for bit (every byte value, −128 included).
// Random cases: prefill (many rows) equals decode (one row a call) bit for bit on repacked matrices, whose
// decode kernel takes the same integer block sums in the same float order.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeTensor, GgmlType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import * as ref from "../src/kernels/reference.ts";
import { seeded } from "./formats-util.ts";

const F16_ONE = 0x3c00;
const F16_HALF = 0x3800;

/** Q8_0 rows with random bytes (−128 and 127 in every block) and the given scale per block. */
function q8Blocks(rows: number, cols: number, seed: number, scale: (r: () => number) => number): Uint8Array {
  const r = seeded(seed);
  const out = new Uint8Array((rows * cols * 34) / 32);
  const view = new DataView(out.buffer);
  for (let o = 0; o < out.length; o += 34) {
    for (let i = 2; i < 34; i++) out[o + i] = Math.floor(r() * 256);
    out[o + 2 + Math.floor(r() * 32)] = 0x80;
    out[o + 2 + Math.floor(r() * 32)] = 0x7f;
    view.setUint16(o, scale(r), true);
  }
  return out;
}

/** Activations that 8-bit block quantisation keeps as they are: one ±127 per 32 values, the rest in −4..4. */
function exactActivations(M: number, K: number, seed: number): Float32Array {
  const r = seeded(seed);
  const x = Float32Array.from({ length: M * K }, () => Math.floor(r() * 9) - 4);
  for (let b = 0; b < (M * K) / 32; b++) x[b * 32 + Math.floor(r() * 32)] = r() < 0.5 ? -127 : 127;
  return x;
}

function weight(e: Engine, bytes: Uint8Array, N: number, K: number): QTensor {
  const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType.Q8_0, N, K);
  W.bytes.set(bytes);
  e.repackForDecode(W);
  return W;
}

for (const relaxedSimd of [true, false]) {
  describe(`Q8_0 prefill, ${relaxedSimd ? "relaxed" : "plain"} build`, () => {
    let e: Engine;
    before(async () => {
      e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 256 });
    });
    after(() => e.close());

    test("exact sums at odd M, partial four-row groups, panel and thread edges, accumulate", () => {
      const K = 512;
      // 4 and 100 rows are repacked four at a time; 7 and 102 stay as stored (a partial last group)
      for (const N of [4, 100, 7, 102]) {
        const bytes = q8Blocks(N, K, N, (r) => (r() < 0.5 ? F16_ONE : F16_HALF));
        const w = decodeTensor(GgmlType.Q8_0, bytes, N * K, "w");
        const W = weight(e, bytes, N, K);
        assert.equal(W.kernelType !== W.type, N % 4 === 0, "rows a multiple of 4 are repacked");
        for (const M of [5, 8, 17, 64]) {
          const xs = exactActivations(M, K, 10 * N + M);
          const x = e.from(xs);
          const out = e.alloc(M * N);
          e.linear(x, W, out, M, N, K);
          const want = Float32Array.from(ref.matmulABt(xs, w, M, N, K));
          assert.deepEqual(out.f32, want, `N=${N} M=${M}`);
          e.linear(x, W, out, M, N, K, { accumulate: true });
          assert.deepEqual(
            out.f32,
            want.map((v) => 2 * v),
            `N=${N} M=${M} accumulate`,
          );
          x.free();
          out.free();
        }
        W.free();
      }
    });
  });
}

describe("Q8_0 prefill against decode, relaxed build", () => {
  let e: Engine;
  before(async () => {
    e = await Engine.create({ threads: 2, relaxedSimd: true, maxMemoryMiB: 256 });
  });
  after(() => e.close());

  test("random weights and activations: each row of a 9-row call equals that row alone, bit for bit", () => {
    const N = 36;
    const K = 1024;
    const M = 9;
    // f16 scales from about 2^-10 to 2^-5
    const bytes = q8Blocks(N, K, 7, (r) => 0x1800 + Math.floor(r() * 0x1400));
    const W = weight(e, bytes, N, K);
    assert.notEqual(W.kernelType, W.type, "repacked four rows at a time");
    const r = seeded(8);
    const x = e.from(Float32Array.from({ length: M * K }, () => r() * 2 - 1));
    const all = e.alloc(M * N);
    e.linear(x, W, all, M, N, K);
    const one = e.alloc(N);
    for (let m = 0; m < M; m++) {
      e.linear(x.at(m * K, K), W, one, 1, N, K);
      assert.deepEqual(all.f32.subarray(m * N, (m + 1) * N), one.f32, `row ${m}`);
    }
    for (const b of [W, x, all, one]) b.free();
  });
});
