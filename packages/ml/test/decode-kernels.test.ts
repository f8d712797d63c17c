// The decode-sized (M ≤ 4) linear kernels at their edges: F16 rows with tails and with activations of any
// magnitude, weights that are f16 subnormals, zeros and negative zeros; against float64 products of the
// decoded weights, in both builds.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { decodeTensor, encodeTensor, GgmlType, type GgufWriteType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import * as ref from "../src/kernels/reference.ts";
import { randomData } from "./formats-util.ts";
import { packedMatrix } from "./helpers/packed.ts";

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

function packedFrom(e: Engine, type: GgufWriteType, data: Float32Array, rows: number, cols: number) {
  const bytes = encodeTensor(type, data, "w");
  const W = packedMatrix(e, type, bytes, rows, cols);
  return { W, decoded: decodeTensor(GgmlType[type], bytes, rows * cols, "w") };
}

for (const relaxedSimd of [false, true]) {
  describe(`decode kernels, ${relaxedSimd ? "relaxed" : "plain"} SIMD`, () => {
    let e: Engine;
    before(async () => {
      e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 64 });
    });
    after(() => e.close());

    test("F16: tails of 8 and of single values, f16 subnormals, zeros and -0, activations of any size", () => {
      const N = 12;
      for (const K of [72, 100, 37]) {
        const data = randomData(N * K, K, 0.5);
        // row 1: f16 subnormals (below 6.1e-5); row 2: zeros and negative zeros; row 3: the f16 extremes
        for (let k = 0; k < K; k++) {
          data[K + k] = (k % 7) * 3e-6 * (k % 2 ? -1 : 1);
          data[2 * K + k] = k % 2 ? -0 : 0;
          data[3 * K + k] = k % 3 === 0 ? 65504 : k % 3 === 1 ? -6.1e-5 : 1;
        }
        const { W, decoded } = packedFrom(e, "F16", data, N, K);
        assert.ok(
          decoded.some((v) => v !== 0 && Math.abs(v) < 6.1e-5),
          "subnormal weights present",
        );
        for (const scale of [1, 3e4, 1e12, 1e31, 1e-30]) {
          for (const M of [1, 4]) {
            const xs = randomData(M * K, 7 + M).map((v) => v * scale);
            const x = e.from(xs);
            const out = e.alloc(M * N);
            e.linear(x, W, out, M, N, K);
            const want = ref.matmulABt(xs, decoded, M, N, K);
            assert.ok(out.f32.every(Number.isFinite), `K=${K} scale ${scale}: finite`);
            for (let m = 0; m < M; m++) {
              // each row on its own: the rows hold very different magnitudes
              for (let n = 0; n < N; n++) {
                const i = m * N + n;
                let mag = 0;
                for (let k = 0; k < K; k++) mag += Math.abs(xs[m * K + k] * decoded[n * K + k]);
                assert.ok(
                  Math.abs(out.f32[i] - want[i]) <= 1e-5 * mag,
                  `K=${K} scale ${scale} M=${M} [${m},${n}]: ${out.f32[i]} against ${want[i]}`,
                );
              }
            }
            e.linear(x, W, out, M, N, K, { accumulate: true });
            assert.ok(
              relErr(
                out.f32,
                want.map((v) => 2 * v),
              ) < 1e-5,
              `K=${K} scale ${scale}: accumulate`,
            );
            x.free();
            out.free();
          }
        }
        W.free();
      }
      assert.equal(e.allocatedBytes, 0, "decode scratch is not counted as allocated");
    });

    test("Q4_0 and Q8_0 repacked: the fast path and the fallback (a subnormal scale, a Q8_0 -128) agree with the stored rows", () => {
      const N = 16;
      const K = 320;
      for (const type of ["Q4_0", "Q8_0"] as const) {
        const bs = type === "Q4_0" ? 18 : 34;
        for (const flaw of ["none", "subnormal scale", "-128"]) {
          if (flaw === "-128" && type === "Q4_0") continue;
          const bytes = encodeTensor(type, randomData(N * K, 21, 0.5), "w");
          const block = 7 * (K / 32) + 3; // row 7, block 3
          if (flaw === "subnormal scale") bytes[block * bs + 1] = 0x02; // f16 0x02xx: exponent 0
          if (flaw === "-128") bytes[block * bs + 2 + 5] = 0x80;
          const decoded = decodeTensor(GgmlType[type], bytes, N * K, "w");
          const make = () => {
            const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType[type], N, K);
            W.bytes.set(bytes);
            return W;
          };
          const [W, stored] = [make(), make()];
          e.repackForDecode(W);
          assert.notEqual(W.kernelType, W.type, "repacked");
          for (const M of [1, 3]) {
            const xs = randomData(M * K, 22 + M);
            const x = e.from(xs);
            const [a, b] = [e.alloc(M * N), e.alloc(M * N)];
            e.linear(x, W, a, M, N, K);
            e.linear(x, stored, b, M, N, K);
            const want = ref.matmulABt(xs, decoded, M, N, K);
            assert.ok(relErr(a.f32, want) < 0.02, `${type} ${flaw} M=${M}: ${relErr(a.f32, want)}`);
            assert.ok(relErr(a.f32, b.f32) < 1e-6, `${type} ${flaw} M=${M} against the stored rows`);
            for (const buf of [x, a, b]) buf.free();
          }
          W.free();
          stored.free();
        }
      }
    });

    test("an activation block of values below 3.7e-37 (its inverse scale overflows) adds nothing, in decode and prefill alike", () => {
      const N = 4;
      const K = 64;
      for (const type of ["Q4_0", "Q8_0", "Q4_K"] as const) {
        const k = type === "Q4_K" ? 256 : K;
        const { W, decoded } = packedFrom(e, type, randomData(N * k, 31, 0.5), N, k);
        for (const M of [1, 8]) {
          const xs = randomData(M * k, 32 + M);
          // per row: the first block is one tiny value among zeros (llama.cpp's f16 scale is 0 there)
          for (let m = 0; m < M; m++) {
            xs.fill(0, m * k, m * k + 32);
            xs[m * k] = 1e-38;
          }
          const x = e.from(xs);
          const out = e.alloc(M * N);
          e.linear(x, W, out, M, N, k);
          const want = ref.matmulABt(xs, decoded, M, N, k);
          assert.ok(out.f32.every(Number.isFinite), `${type} M=${M}: finite`);
          assert.ok(relErr(out.f32, want) < 0.03, `${type} M=${M}: ${relErr(out.f32, want)}`);
          x.free();
          out.free();
        }
        W.free();
      }
    });
  });
}

test("repacked Q4_0 and Q8_0: the relaxed build's byte dots give the plain build's sums", async () => {
  const plain = await Engine.create({ threads: 1, relaxedSimd: false, maxMemoryMiB: 64 });
  const relaxed = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
  try {
    if (!relaxed.relaxedSimd) return;
    for (const type of ["Q4_0", "Q8_0"] as const) {
      const N = 40;
      const K = 768;
      const bytes = encodeTensor(type, randomData(N * K, 31, 0.5), "w");
      const xs = randomData(K, 32);
      const outs = [plain, relaxed].map((e) => {
        const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType[type], N, K);
        W.bytes.set(bytes);
        e.repackForDecode(W);
        const x = e.from(xs);
        const out = e.alloc(N);
        e.linear(x, W, out, 1, N, K);
        const r = Float64Array.from(out.f32);
        for (const b of [W, x, out]) b.free();
        return r;
      });
      // the same integer sums; only the float scaling may round differently (fused multiply-add)
      assert.ok(relErr(outs[1], outs[0]) < 1e-6, `${type}: ${relErr(outs[1], outs[0])}`);
    }
  } finally {
    await plain.close();
    await relaxed.close();
  }
});

test("decode attention (one query row, head sizes 64 and 128) equals the last row of full causal attention", async () => {
  for (const relaxedSimd of [false, true]) {
    const e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 64 });
    try {
      for (const [T, nHq, nHkv, hd] of [
        [1, 4, 4, 64],
        [7, 9, 3, 64],
        [42, 12, 2, 128],
      ]) {
        const s = { T, nHq, nHkv, hd };
        const [qd, kd] = [nHq * hd, nHkv * hd];
        const q = randomData(T * qd, T, 2);
        const k = randomData(T * kd, T + 1, 2);
        const v = randomData(T * kd, T + 2);
        const want = ref.attention(q, k, v, s);
        const [Q, K, V, out, att] = [e.from(q), e.from(k), e.from(v), e.alloc(qd), e.alloc(nHq * T)];
        e.attention({
          q: Q.at((T - 1) * qd),
          qStride: qd,
          k: K,
          v: V,
          kvStride: kd,
          out,
          outStride: qd,
          att,
          T: 1,
          S0: T - 1,
          nHq,
          nHkv,
          hd,
          scale: 1 / Math.sqrt(hd),
        });
        const last = want.out.subarray((T - 1) * qd);
        assert.ok(relErr(out.f32, last) < 1e-5, `T=${T} hd=${hd}: ${relErr(out.f32, last)}`);
        for (let h = 0; h < nHq; h++) {
          const row = want.att.subarray((h * T + T - 1) * T, (h * T + T) * T);
          assert.ok(
            relErr(att.f32.subarray(h * T, (h + 1) * T), row) < 1e-5,
            `T=${T} head ${h} probabilities`,
          );
        }
        for (const b of [Q, K, V, out, att]) b.free();
      }
    } finally {
      await e.close();
    }
  }
});
