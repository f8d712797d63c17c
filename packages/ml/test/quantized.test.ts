// Linear kernels on weights kept in their GGUF storage format, against float64 products of the same
// weights decoded by the formats module (the decoder the GGUF tests check bit by bit).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeTensor, encodeTensor, GgmlType, type GgufWriteType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import * as ref from "../src/kernels/reference.ts";
import { randomData } from "./formats-util.ts";

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
          const direct = M <= 4 && !type.startsWith("F") && type !== "BF16";
          const err = relErr(out.f32, want);
          assert.ok(err < (direct ? 0.02 : 1e-5), `${type} M=${M}: relative error ${err}`);
          e.linear(x, W, out, M, N, K, { accumulate: true });
          assert.ok(
            relErr(
              out.f32,
              want.map((v) => 2 * v),
            ) < (direct ? 0.02 : 1e-5),
            `${type} accumulate`,
          );
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
