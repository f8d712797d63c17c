// The decode kernels' exact steps, bit for bit, in both builds: F16 weights widened to f32 (every finite
// f16, read back one weight at a time through one-hot activations, so each output is that weight alone),
// and the four-row Q4_0 / Q8_0 kernels' two compiled paths (a matrix that passed decode_scan and one that
// did not: their integer sums and scales are exact either way, so shared rows give the same floats).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeTensor, encodeTensor, GgmlType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { randomData } from "./formats-util.ts";

for (const relaxedSimd of [false, true]) {
  describe(`decode kernels bit for bit, ${relaxedSimd ? "relaxed" : "plain"} SIMD`, () => {
    let e: Engine;
    before(async () => {
      e = await Engine.create({ threads: 1, relaxedSimd, maxMemoryMiB: 64 });
    });
    after(() => e.close());

    test("F16: every finite f16 weight comes out exactly, in each lane, the 8-value step and the scalar tail", () => {
      // K = 43: values 0-31 in the 16-value steps, 32-39 in the 8-value step, 40-42 scalar
      const K = 43;
      const patterns: number[] = [];
      for (let h = 0; h < 0x7c00; h++) patterns.push(h, h | 0x8000);
      const N = Math.ceil(patterns.length / K);
      const bits = new Uint16Array(N * K);
      bits.set(patterns);
      const bytes = new Uint8Array(bits.buffer);
      const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType.F16, N, K);
      W.bytes.set(bytes);
      const decoded = decodeTensor(GgmlType.F16, bytes, N * K, "w");
      const out = e.alloc(4 * N);
      let checked = 0;
      for (let k0 = 0; k0 < K; k0 += 4) {
        const M = Math.min(4, K - k0);
        const xs = new Float32Array(M * K);
        for (let m = 0; m < M; m++) xs[m * K + k0 + m] = 1;
        const x = e.from(xs);
        e.linear(x, W, out, M, N, K);
        for (let m = 0; m < M; m++) {
          for (let n = 0; n < N; n++) {
            const want = Math.fround(decoded[n * K + k0 + m]);
            const got = out.f32[m * N + n];
            if (got !== want)
              assert.fail(
                `weight 0x${bits[n * K + k0 + m].toString(16)} (row ${n}, column ${k0 + m}): ${got} against ${want}`,
              );
            checked++;
          }
        }
        x.free();
      }
      assert.equal(checked, N * K);
      out.free();
      W.free();
    });

    test("Q4_0 and Q8_0 repacked: a matrix decode_scan passes and one it refuses give the same floats on the rows they share", () => {
      const K = 320;
      const shared = 16;
      for (const type of ["Q4_0", "Q8_0"] as const) {
        const bs = type === "Q4_0" ? 18 : 34;
        const rowBytes = (K / 32) * bs;
        for (const flaw of ["subnormal scale", "-128"]) {
          if (flaw === "-128" && type === "Q4_0") continue;
          // the same 16 rows, then (second matrix only) four more with one flawed block
          const bytes = encodeTensor(type, randomData((shared + 4) * K, 31, 0.5), "w");
          const flawed = (shared + 2) * (K / 32) + 5;
          if (flaw === "subnormal scale")
            bytes[flawed * bs + 1] = 0x02; // f16 0x02xx: exponent 0
          else bytes[flawed * bs + 2 + 9] = 0x80;
          const make = (rows: number) => {
            const W = new QTensor(e.allocBytes(rows * rowBytes), GgmlType[type], rows, K);
            W.bytes.set(bytes.subarray(0, rows * rowBytes));
            e.repackForDecode(W);
            assert.notEqual(W.kernelType, W.type, "repacked");
            return W;
          };
          const [clean, general] = [make(shared), make(shared + 4)];
          for (const M of [1, 4]) {
            const x = e.from(randomData(M * K, 40 + M));
            const [a, b] = [e.alloc(M * shared), e.alloc(M * (shared + 4))];
            e.linear(x, clean, a, M, shared, K);
            e.linear(x, general, b, M, shared + 4, K);
            for (let m = 0; m < M; m++) {
              for (let n = 0; n < shared; n++) {
                assert.equal(
                  a.f32[m * shared + n],
                  b.f32[m * (shared + 4) + n],
                  `${type} ${flaw} M=${M} [${m},${n}]`,
                );
              }
            }
            assert.ok(a.f32.some((v) => v !== 0));
            for (const buf of [x, a, b]) buf.free();
          }
          clean.free();
          general.free();
        }
      }
    });
  });
}
