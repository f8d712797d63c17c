// The K-quant decode kernels (Q4_K, Q5_K, Q6_K rows against Q8_K activations, M ≤ 4) against a scalar
// reference written from the format's definition: activations quantised as llama.cpp's quantize_row_q8_K,
// each super-block summed in integers, then d·d_a and dmin·d_a in float64. Random blocks and the
// extremes: every 6-bit scale and min at 63 with every value at its maximum against activations of ±127
// (the largest intermediate sums of the relaxed byte dot), f16-subnormal, zero and negative super-block
// scales, row counts that are not multiples of 4. Both builds (their super-block integer sums are equal;
// the lanes they are spread over, and so the float rounding, differ).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { GgmlType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { seeded } from "./formats-util.ts";
import { f16, q8k } from "./kquant-reference.ts";

type KType = "Q4_K" | "Q5_K" | "Q6_K";
const BLOCK_BYTES: Record<KType, number> = { Q4_K: 144, Q5_K: 176, Q6_K: 210 };

/** One super-block as the format defines it: per value its integer q and its group's scale and min. */
function decodeBlock(type: KType, bytes: Uint8Array, o: number) {
  const q = new Int32Array(256);
  const sc = new Int32Array(256);
  const mn = new Int32Array(256);
  const h16 = (at: number) => f16(bytes[o + at] | (bytes[o + at + 1] << 8));
  if (type === "Q6_K") {
    for (let n = 0; n < 2; n++) {
      const ql = o + 64 * n;
      const qh = o + 128 + 32 * n;
      const scales = o + 192 + 8 * n;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const h = bytes[qh + l];
        const at = 128 * n + l;
        q[at] = (bytes[ql + l] & 15) | ((h & 3) << 4);
        q[at + 32] = (bytes[ql + l + 32] & 15) | (((h >> 2) & 3) << 4);
        q[at + 64] = (bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4);
        q[at + 96] = (bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4);
        for (let k = 0; k < 4; k++) {
          q[at + 32 * k] -= 32;
          sc[at + 32 * k] = (bytes[scales + is + 2 * k] << 24) >> 24;
        }
      }
    }
    return { q, sc, mn, d: h16(208), dmin: 0 };
  }
  const s = o + 4;
  const five = type === "Q5_K";
  const qs = o + (five ? 48 : 16);
  for (let j = 0; j < 8; j++) {
    const scale = j < 4 ? bytes[s + j] & 63 : (bytes[s + j + 4] & 15) | ((bytes[s + j - 4] >> 6) << 4);
    const min = j < 4 ? bytes[s + j + 4] & 63 : (bytes[s + j + 4] >> 4) | ((bytes[s + j] >> 6) << 4);
    for (let l = 0; l < 32; l++) {
      const c = j >> 1;
      const byte = bytes[qs + 32 * c + l];
      let v = j & 1 ? byte >> 4 : byte & 15;
      if (five) v += ((bytes[o + 16 + l] >> j) & 1) << 4;
      q[32 * j + l] = v;
      sc[32 * j + l] = scale;
      mn[32 * j + l] = min;
    }
  }
  return { q, sc, mn, d: h16(0), dmin: h16(2) };
}

/**
 * The reference dot of weight row n with activation row x, and the magnitude its float rounding is
 * measured against (the super-blocks' terms in absolute value).
 */
function refDot(type: KType, bytes: Uint8Array, rowBytes: number, n: number, x: Float32Array) {
  const a = q8k(x);
  let sum = 0;
  let mag = 0;
  for (let b = 0; b < x.length / 256; b++) {
    const blk = decodeBlock(type, bytes, n * rowBytes + b * BLOCK_BYTES[type]);
    let isum = 0;
    let iabs = 0;
    let msum = 0;
    let mabs = 0;
    for (let g = 0; g < 256; g += 16) {
      let dot = 0;
      let asum = 0;
      for (let i = g; i < g + 16; i++) {
        dot += blk.q[i] * a.q[b * 256 + i];
        asum += a.q[b * 256 + i];
      }
      isum += blk.sc[g] * dot;
      iabs += Math.abs(blk.sc[g] * dot);
      msum += blk.mn[g] * asum;
      mabs += Math.abs(blk.mn[g] * asum);
    }
    const da = a.d[b];
    sum += blk.d * da * isum - blk.dmin * da * msum;
    mag += Math.abs(blk.d * da) * iabs + Math.abs(blk.dmin * da) * mabs;
  }
  return { sum, mag };
}

/** f16 bit patterns for super-block scales: normal, subnormal, zero or negative zero, by `kind`. */
function scaleBits(r: () => number, kind: "normal" | "subnormal" | "mixed"): number {
  const sign = r() < 0.5 ? 0x8000 : 0;
  const sub = 1 + Math.floor(r() * 1023);
  const normal = ((8 + Math.floor(r() * 10)) << 10) | Math.floor(r() * 1024);
  if (kind === "normal") return sign | normal;
  if (kind === "subnormal") return sign | sub;
  const p = r();
  return p < 0.35 ? sign | sub : p < 0.45 ? sign : sign | normal;
}

/** A random [N, K] matrix: random bytes with the super-block scales set by `kind`, or every field at its maximum. */
function makeBlocks(
  type: KType,
  N: number,
  K: number,
  seed: number,
  kind: "normal" | "subnormal" | "mixed" | "max",
) {
  const bs = BLOCK_BYTES[type];
  const bytes = new Uint8Array((N * K * bs) / 256);
  const r = seeded(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = kind === "max" ? 255 : Math.floor(r() * 256);
  for (let o = 0; o < bytes.length; o += bs) {
    const set = (at: number, h: number) => {
      bytes[o + at] = h & 255;
      bytes[o + at + 1] = h >> 8;
    };
    if (kind === "max") {
      // Q6_K: group scales at the signed extremes, alternating
      if (type === "Q6_K") for (let g = 0; g < 16; g++) bytes[o + 192 + g] = g % 2 ? 0x80 : 0x7f;
      set(type === "Q6_K" ? 208 : 0, 0x3c00);
      if (type !== "Q6_K") set(2, 0x3800);
      continue;
    }
    set(type === "Q6_K" ? 208 : 0, scaleBits(r, kind));
    if (type !== "Q6_K") set(2, scaleBits(r, kind));
  }
  return bytes;
}

describe("K-quant decode kernels against the scalar reference, plain and relaxed SIMD", () => {
  let plain: Engine;
  let relaxed: Engine;
  before(async () => {
    plain = await Engine.create({ threads: 2, relaxedSimd: false, maxMemoryMiB: 64 });
    relaxed = await Engine.create({ threads: 2, relaxedSimd: true, maxMemoryMiB: 64 });
  });
  after(async () => {
    await plain.close();
    await relaxed.close();
  });

  /** out[M, N] of both builds for these blocks and activations; checks them against the reference. */
  function check(
    type: KType,
    bytes: Uint8Array,
    N: number,
    K: number,
    xs: Float32Array,
    M: number,
    label: string,
  ) {
    const results: Float32Array[] = [];
    for (const e of [plain, relaxed]) {
      const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType[type], N, K);
      W.bytes.set(bytes);
      e.repackForDecode(W);
      const x = e.from(xs);
      const out = e.alloc(M * N);
      e.linear(x, W, out, M, N, K);
      const once = Float32Array.from(out.f32);
      e.linear(x, W, out, M, N, K, { accumulate: true });
      for (let i = 0; i < M * N; i++) {
        assert.equal(out.f32[i], Math.fround(once[i] + once[i]), `${label}: accumulate [${i}]`);
      }
      results.push(once);
      W.free();
      x.free();
      out.free();
    }
    const rowBytes = (K / 256) * BLOCK_BYTES[type];
    for (let m = 0; m < M; m++) {
      const xrow = xs.subarray(m * K, (m + 1) * K);
      for (let n = 0; n < N; n++) {
        const want = refDot(type, bytes, rowBytes, n, xrow);
        for (const [build, got] of [
          ["plain", results[0][m * N + n]],
          ["relaxed", results[1][m * N + n]],
        ] as const) {
          assert.ok(
            Math.abs(got - want.sum) <= 2e-6 * want.mag + 1e-30,
            `${label} ${build} [${m},${n}]: ${got} against ${want.sum} (magnitude ${want.mag})`,
          );
        }
      }
    }
  }

  test("Q6_K permuted at load (relaxed build): decode, prefill, training matmuls and rows equal the stored layout's bit for bit", () => {
    const e = relaxed;
    const N = 9;
    const K = 768;
    for (const kind of ["mixed", "max"] as const) {
      const bytes = makeBlocks("Q6_K", N, K, 7, kind);
      const stored = new QTensor(e.allocBytes(bytes.byteLength), GgmlType.Q6_K, N, K);
      stored.bytes.set(bytes);
      const permuted = new QTensor(e.allocBytes(bytes.byteLength), GgmlType.Q6_K, N, K);
      permuted.bytes.set(bytes);
      e.repackForDecode(permuted);
      assert.notEqual(permuted.kernelType, permuted.type, "repacked");
      if (kind === "mixed")
        assert.notDeepEqual(Array.from(permuted.bytes), Array.from(bytes), "the bytes moved");
      const rowsOf = (W: QTensor) => {
        const out = e.alloc(N * K);
        e.dequantRows(W, 0, N, out);
        const v = Float32Array.from(out.f32);
        out.free();
        return v;
      };
      assert.deepEqual(rowsOf(permuted), rowsOf(stored), `${kind}: dequantised rows`);
      const r = seeded(11);
      for (const M of [1, 2, 4, 5, 17]) {
        const xs = Float32Array.from({ length: M * K }, () => (r() * 2 - 1) * (kind === "max" ? 1 : 3));
        const x = e.from(xs);
        for (const exact of [false, true]) {
          const a = e.alloc(M * N);
          const b = e.alloc(M * N);
          e.linear(x, stored, a, M, N, K, { exact });
          e.linear(x, permuted, b, M, N, K, { exact });
          assert.deepEqual(b.f32, a.f32, `${kind} M=${M}${exact ? " exact" : ""}`);
          a.free();
          b.free();
        }
        x.free();
      }
      stored.free();
      permuted.free();
    }
  });

  for (const type of ["Q4_K", "Q5_K", "Q6_K"] as const) {
    test(`${type}: random blocks, normal / subnormal / mixed super-block scales, 7 and 12 rows, M = 1, 3, 4`, () => {
      let seed = 1;
      for (const kind of ["normal", "subnormal", "mixed"] as const) {
        for (const [N, K] of [
          [7, 512],
          [12, 1280],
        ]) {
          const bytes = makeBlocks(type, N, K, seed++, kind);
          for (const M of [1, 3, 4]) {
            const r = seeded(seed++);
            // activations of mixed magnitudes, an all-zero super-block in row 0
            const xs = Float32Array.from({ length: M * K }, (_, i) =>
              i < 256 ? 0 : (r() * 2 - 1) * (i % 97 === 0 ? 40 : 1),
            );
            check(type, bytes, N, K, xs, M, `${type} ${kind} ${N}x${K} M=${M}`);
          }
        }
      }
    });

    test(`${type}: every scale, min and value at its maximum against activations of +127 and -127`, () => {
      const N = 5;
      const K = 768;
      const bytes = makeBlocks(type, N, K, 99, "max");
      // a constant row quantises to -127 everywhere (its own value is the largest), its negation to +127
      const xs = Float32Array.from({ length: 2 * K }, (_, i) => (i < K ? 0.75 : -0.75));
      check(type, bytes, N, K, xs, 2, `${type} max`);
      const a = q8k(xs.subarray(0, K));
      assert.ok(
        a.q.every((v) => v === -127),
        "the activations are at the byte dot's extreme",
      );
    });
  }
});
