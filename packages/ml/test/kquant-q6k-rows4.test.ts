// Q6_K with four rows' super-blocks side by side (Engine.repackForDecode, relaxed build, rows a multiple of
// 4; Q6K_X4): decode sums each row's super-block in integers and applies one float multiply-add per
// super-block, as the integer GEMM's tile does, so decode must give prefill's numbers bit for bit, and
// prefill on this layout the stored layout's (which test/qgemm.test.ts checks exactly against the format).
// Rows dequantised, training matmuls and input gradients read the interleaved bytes and must equal the
// stored layout's bit for bit; one thread and two must agree.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GgmlType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { seeded } from "./formats-util.ts";

/**
 * Random Q6_K super-blocks with normal, f16-subnormal, zero and negative d ("mixed"), or every value at 63
 * and the group scales at +127 / -128 alternating with d = 1 ("max": the byte dot's largest i16 lanes).
 */
function makeBlocks(N: number, K: number, seed: number, kind: "mixed" | "max"): Uint8Array {
  const bytes = new Uint8Array((N * K * 210) / 256);
  const r = seeded(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = kind === "max" ? 255 : Math.floor(r() * 256);
  for (let o = 0; o < bytes.length; o += 210) {
    let h = 0x3c00;
    if (kind === "max") {
      for (let g = 0; g < 16; g++) bytes[o + 192 + g] = g % 2 ? 0x80 : 0x7f;
    } else {
      const p = r();
      const sign = r() < 0.5 ? 0x8000 : 0;
      h =
        sign |
        (p < 0.3
          ? 1 + Math.floor(r() * 1023)
          : p < 0.4
            ? 0
            : ((8 + Math.floor(r() * 10)) << 10) | Math.floor(r() * 1024));
    }
    bytes[o + 208] = h & 255;
    bytes[o + 209] = h >> 8;
  }
  return bytes;
}

describe("Q6_K four rows interleaved for decode (relaxed build)", () => {
  let two: Engine;
  let one: Engine;
  before(async () => {
    two = await Engine.create({ threads: 2, relaxedSimd: true, maxMemoryMiB: 64 });
    one = await Engine.create({ threads: 1, relaxedSimd: true, maxMemoryMiB: 64 });
  });
  after(async () => {
    await two.close();
    await one.close();
  });

  function tensor(e: Engine, bytes: Uint8Array, N: number, K: number, repack: boolean): QTensor {
    const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType.Q6_K, N, K);
    W.bytes.set(bytes);
    if (repack) e.repackForDecode(W);
    return W;
  }

  function linear(e: Engine, W: QTensor, xs: Float32Array, M: number, exact = false): Float32Array {
    const x = e.from(xs);
    const out = e.alloc(M * W.rows);
    e.linear(x, W, out, M, W.rows, W.cols, { exact });
    const v = Float32Array.from(out.f32);
    x.free();
    out.free();
    return v;
  }

  test("the layout is taken only for rows a multiple of 4, and moves the bytes", () => {
    const K = 512;
    const bytes = makeBlocks(8, K, 1, "mixed");
    const four = tensor(two, bytes, 8, K, true);
    const odd = tensor(two, bytes.subarray(0, (7 * K * 210) / 256), 7, K, true);
    assert.notEqual(four.kernelType, GgmlType.Q6_K);
    assert.notEqual(odd.kernelType, GgmlType.Q6_K, "7 rows: values permuted (Q6K_P)");
    assert.notEqual(four.kernelType, odd.kernelType, "8 rows: four rows interleaved");
    // row 1's first super-block now follows row 0's
    const permutedOnly = tensor(two, bytes.subarray(0, (7 * K * 210) / 256), 7, K, true);
    assert.deepEqual(
      Array.from(four.bytes.subarray(210, 420)),
      Array.from(permutedOnly.bytes.subarray((K / 256) * 210, (K / 256) * 210 + 210)),
    );
    four.free();
    odd.free();
    permutedOnly.free();
  });

  for (const kind of ["mixed", "max"] as const) {
    test(`${kind} blocks: decode equals prefill, prefill and rows equal the stored layout's bit for bit`, () => {
      const e = two;
      const N = 12;
      const K = 1280;
      const bytes = makeBlocks(N, K, kind === "max" ? 5 : 6, kind);
      const stored = tensor(e, bytes, N, K, false);
      const x4 = tensor(e, bytes, N, K, true);
      const rows = (W: QTensor, r0: number, r1: number) => {
        const out = e.alloc((r1 - r0) * K);
        e.dequantRows(W, r0, r1, out);
        const v = Float32Array.from(out.f32);
        out.free();
        return v;
      };
      assert.deepEqual(rows(x4, 0, N), rows(stored, 0, N), "all rows");
      assert.deepEqual(rows(x4, 3, 6), rows(stored, 3, 6), "rows 3..6");
      const r = seeded(kind === "max" ? 7 : 8);
      const M = 9;
      // "max": constant rows quantise to -127 everywhere, their negations to +127
      const xs = Float32Array.from({ length: M * K }, (_, i) =>
        kind === "max" ? (Math.floor(i / K) % 2 ? -0.75 : 0.75) : (r() * 2 - 1) * (i % 89 === 0 ? 30 : 1),
      );
      const prefill = linear(e, x4, xs, M);
      assert.deepEqual(prefill, linear(e, stored, xs, M), "prefill (integer GEMM) against the stored layout");
      for (let m = 0; m < M; m++) {
        const row = xs.subarray(m * K, (m + 1) * K);
        assert.deepEqual(linear(e, x4, row, 1), prefill.subarray(m * N, (m + 1) * N), `decode row ${m}`);
      }
      // four rows at once through decode, and accumulate
      const four = linear(e, x4, xs.subarray(0, 4 * K), 4);
      assert.deepEqual(four, prefill.subarray(0, 4 * N), "decode M=4");
      const x = e.from(xs.subarray(0, K));
      const out = e.from(four.subarray(0, N));
      e.linear(x, x4, out, 1, N, K, { accumulate: true });
      for (let n = 0; n < N; n++) assert.equal(out.f32[n], Math.fround(2 * four[n]), `accumulate [${n}]`);
      x.free();
      out.free();
      assert.deepEqual(linear(e, x4, xs, M, true), linear(e, stored, xs, M, true), "training matmul (exact)");
      const dy = Float32Array.from({ length: M * N }, () => r() * 2 - 1);
      const grad = (W: QTensor) => {
        const d = e.from(dy);
        const dx = e.alloc(M * K);
        e.linearInputGrad(d, W, dx, M, N, K);
        const v = Float32Array.from(dx.f32);
        d.free();
        dx.free();
        return v;
      };
      assert.deepEqual(grad(x4), grad(stored), "input gradient");
      stored.free();
      x4.free();
    });
  }

  test("one thread and two give the same results", () => {
    const N = 16;
    const K = 768;
    const bytes = makeBlocks(N, K, 9, "mixed");
    const r = seeded(10);
    const xs = Float32Array.from({ length: 6 * K }, () => r() * 2 - 1);
    const a = tensor(one, bytes, N, K, true);
    const b = tensor(two, bytes, N, K, true);
    for (const M of [1, 3, 6]) {
      assert.deepEqual(
        linear(one, a, xs.subarray(0, M * K), M),
        linear(two, b, xs.subarray(0, M * K), M),
        `M=${M}`,
      );
    }
    a.free();
    b.free();
  });
});
