// F16 matrices with rows longer than 4096 values are rearranged at load into column panels (F16P, see
// repack_f16_panels): decode, prefill, the input gradient and dequantRows on the rearranged bytes must give
// exactly what the stored rows give, in both builds, with 1 and 4 activation rows, threads that split a
// block of 128 rows, accumulation into the output and a row length that leaves 8-value and single tails.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { encodeTensor, GgmlType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { randomData } from "./formats-util.ts";

function f16Matrix(e: Engine, bytes: Uint8Array, rows: number, cols: number): QTensor {
  const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType.F16, rows, cols);
  W.bytes.set(bytes);
  return W;
}

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]))
      assert.fail(`${what}: element ${i} is ${got[i]}, the stored rows give ${want[i]}`);
  }
}

for (const relaxedSimd of [false, true]) {
  describe(`F16 column panels, ${relaxedSimd ? "relaxed" : "plain"} SIMD`, () => {
    let e: Engine;
    before(async () => {
      e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 128 });
    });
    after(() => e.close());

    // 4875 = three panels of 1632 (the last 1611: 100 16-value steps, one of 8, three single values);
    // 384 rows: three blocks of 128, which the two threads split in the middle one
    const N = 384;
    const K = 4875;

    test("decode (1 and 4 rows, accumulating), prefill, input gradient and dequantRows equal the stored rows", () => {
      const data = randomData(N * K, 31, 0.05);
      // a few large weights and f16 subnormals among them
      for (let i = 0; i < data.length; i += 997) data[i] = i % 2 ? 6e4 : -3e-6;
      const bytes = encodeTensor("F16", data, "w");
      const stored = f16Matrix(e, bytes, N, K);
      const panels = f16Matrix(e, bytes, N, K);
      e.repackForDecode(panels);
      assert.notEqual(panels.kernelType, GgmlType.F16, "the long-row matrix is rearranged");
      assert.notDeepEqual(panels.bytes.slice(0, 8192), bytes.slice(0, 8192), "its bytes moved");

      for (const M of [1, 4, 9]) {
        const xs = randomData(M * K, 40 + M, 3);
        xs[5] = 7e4; // beyond 2^15: f16_act_rows scales this row by less than 2^112
        const x = e.from(xs);
        for (const accumulate of [false, true]) {
          const init = randomData(M * N, 50 + M);
          const want = e.from(init);
          const got = e.from(init);
          e.linear(x, stored, want, M, N, K, { accumulate });
          e.linear(x, panels, got, M, N, K, { accumulate });
          sameBits(got.f32, want.f32, `linear M=${M}${accumulate ? " accumulating" : ""}`);
          want.free();
          got.free();
        }
        const dy = e.from(randomData(M * N, 60 + M));
        const dxWant = e.alloc(M * K);
        const dxGot = e.alloc(M * K);
        e.linearInputGrad(dy, stored, dxWant, M, N, K);
        e.linearInputGrad(dy, panels, dxGot, M, N, K);
        sameBits(dxGot.f32, dxWant.f32, `input gradient M=${M}`);
        for (const b of [x, dy, dxWant, dxGot]) b.free();
      }

      const rowsWant = e.alloc(3 * K);
      const rowsGot = e.alloc(3 * K);
      e.dequantRows(stored, 126, 129, rowsWant);
      e.dequantRows(panels, 126, 129, rowsGot);
      sameBits(rowsGot.f32, rowsWant.f32, "dequantRows 126..129");
      rowsWant.free();
      rowsGot.free();
      stored.free();
      panels.free();
    });

    test("rows up to 4096 long, or a row count not a multiple of 128, stay as stored", () => {
      for (const [rows, cols] of [
        [128, 4096],
        [200, 4875],
      ]) {
        const W = f16Matrix(e, encodeTensor("F16", randomData(rows * cols, 7), "w"), rows, cols);
        const before = W.bytes.slice();
        e.repackForDecode(W);
        assert.equal(W.kernelType, GgmlType.F16, `[${rows}, ${cols}]`);
        assert.deepEqual(W.bytes, before);
        W.free();
      }
    });
  });
}
