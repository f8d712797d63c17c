// Q4_K and Q5_K with four rows' super-blocks interleaved at load (Engine.repackForDecode, relaxed build):
// the four-row decode kernel against a scalar reference from the format's definition (llama.cpp's Q8_K
// activations, integer super-block sums), at the extremes where its 16-bit lanes are fullest (every scale,
// min and value at its maximum against activations of ±127); and everything else that reads the
// interleaved bytes (rows dequantised, prefill, training matmuls) against the stored layout, bit for
// bit; the same results on one thread and two.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { GgmlType } from "../src/formats/ggml-types.ts";
import { Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { seeded } from "./formats-util.ts";
import { f16, q8k } from "./kquant-reference.ts";

type KType = "Q4_K" | "Q5_K";
const BLOCK_BYTES: Record<KType, number> = { Q4_K: 144, Q5_K: 176 };

/** Row n · x as the format defines it, and the magnitude of its terms (for the float rounding). */
function refDot(type: KType, bytes: Uint8Array, rowBytes: number, n: number, x: Float32Array) {
  const a = q8k(x);
  const five = type === "Q5_K";
  let sum = 0;
  let mag = 0;
  for (let b = 0; b < x.length / 256; b++) {
    const o = n * rowBytes + b * BLOCK_BYTES[type];
    const s = o + 4;
    let isum = 0;
    let msum = 0;
    let iabs = 0;
    let mabs = 0;
    for (let j = 0; j < 8; j++) {
      const scale = j < 4 ? bytes[s + j] & 63 : (bytes[s + j + 4] & 15) | ((bytes[s + j - 4] >> 6) << 4);
      const min = j < 4 ? bytes[s + j + 4] & 63 : (bytes[s + j + 4] >> 4) | ((bytes[s + j] >> 6) << 4);
      let dot = 0;
      let asum = 0;
      for (let l = 0; l < 32; l++) {
        const byte = bytes[o + (five ? 48 : 16) + 32 * (j >> 1) + l];
        let v = j & 1 ? byte >> 4 : byte & 15;
        if (five) v += ((bytes[o + 16 + l] >> j) & 1) << 4;
        const av = a.q[b * 256 + 32 * j + l];
        dot += v * av;
        asum += av;
      }
      isum += scale * dot;
      iabs += Math.abs(scale * dot);
      msum += min * asum;
      mabs += Math.abs(min * asum);
    }
    const d = f16(bytes[o] | (bytes[o + 1] << 8)) * a.d[b];
    const dmin = f16(bytes[o + 2] | (bytes[o + 3] << 8)) * a.d[b];
    sum += d * isum - dmin * msum;
    mag += Math.abs(d) * iabs + Math.abs(dmin) * mabs;
  }
  return { sum, mag };
}

/**
 * Random super-blocks with normal, f16-subnormal, zero and negative d and dmin ("mixed"), or every byte
 * 255 ("max": scales and mins 63, values 15 or 31) with d = 1, dmin = 0.5.
 */
function makeBlocks(type: KType, N: number, K: number, seed: number, kind: "mixed" | "max"): Uint8Array {
  const bs = BLOCK_BYTES[type];
  const bytes = new Uint8Array((N * K * bs) / 256);
  const r = seeded(seed);
  for (let i = 0; i < bytes.length; i++) bytes[i] = kind === "max" ? 255 : Math.floor(r() * 256);
  for (let o = 0; o < bytes.length; o += bs) {
    for (const at of [0, 2]) {
      let h = at === 0 ? 0x3c00 : 0x3800;
      if (kind === "mixed") {
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
      bytes[o + at] = h & 255;
      bytes[o + at + 1] = h >> 8;
    }
  }
  return bytes;
}

// The WebAssembly JS API is not in the ES lib typings; the parts the round-trip test uses.
interface Wasm {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, (...a: number[]) => number> };
}
const WA = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;

describe("Q4_K/Q5_K four rows interleaved for decode (relaxed build)", () => {
  let relaxed: Engine;
  let relaxed1: Engine;
  let plain: Engine;
  before(async () => {
    relaxed = await Engine.create({ threads: 2, relaxedSimd: true, maxMemoryMiB: 64 });
    relaxed1 = await Engine.create({ threads: 1, relaxedSimd: true, maxMemoryMiB: 64 });
    plain = await Engine.create({ threads: 2, relaxedSimd: false, maxMemoryMiB: 64 });
  });
  after(async () => {
    await relaxed.close();
    await relaxed1.close();
    await plain.close();
  });

  function tensor(e: Engine, type: KType, bytes: Uint8Array, N: number, K: number, repack: boolean): QTensor {
    const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType[type], N, K);
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

  function rows(e: Engine, W: QTensor, r0: number, r1: number): Float32Array {
    const out = e.alloc((r1 - r0) * W.cols);
    e.dequantRows(W, r0, r1, out);
    const v = Float32Array.from(out.f32);
    out.free();
    return v;
  }

  function checkRef(
    type: KType,
    bytes: Uint8Array,
    K: number,
    xs: Float32Array,
    M: number,
    got: Float32Array,
    label: string,
  ) {
    const N = got.length / M;
    const rowBytes = (K / 256) * BLOCK_BYTES[type];
    for (let m = 0; m < M; m++) {
      for (let n = 0; n < N; n++) {
        const want = refDot(type, bytes, rowBytes, n, xs.subarray(m * K, (m + 1) * K));
        const v = got[m * N + n];
        assert.ok(
          Math.abs(v - want.sum) <= 2e-6 * want.mag + 1e-30,
          `${label} [${m},${n}]: ${v} against ${want.sum}`,
        );
      }
    }
  }

  test("layout round trip: the decode layouts written back give the file's bytes (Q4_K, Q5_K, Q6_K)", () => {
    // the relaxed module on a memory of its own, its repacks and write-backs called directly
    const memory = new WA.Memory({ initial: 64, maximum: 64, shared: true });
    const url = new URL("../build/kernels-relaxed.wasm", import.meta.url);
    const k = new WA.Instance(new WA.Module(readFileSync(url)), { env: { memory } }).exports;
    const mem = new Uint8Array(memory.buffer);
    const [W, OUT, TMP] = [1 << 20, 2 << 20, 3 << 20];
    const N = 8;
    const K = 768;
    for (const kind of ["mixed", "max"] as const) {
      for (const type of ["Q4_K", "Q5_K"] as const) {
        const bs = BLOCK_BYTES[type];
        const rowBytes = (K / 256) * bs;
        const bytes = makeBlocks(type, N, K, 21, kind);
        mem.set(bytes, W);
        k.repack_q45k_x4(W, N, rowBytes, type === "Q5_K" ? 1 : 0, TMP);
        for (let r = 0; r < N; r++) {
          for (let b = 0; b < K / 256; b++) {
            const group = W + (r >> 2) * 4 * rowBytes + b * 4 * bs;
            k.kx4_to_stored(group, r & 3, OUT + r * rowBytes + b * bs, type === "Q5_K" ? 1 : 0);
          }
        }
        assert.deepEqual(mem.slice(OUT, OUT + bytes.length), bytes, `${type} ${kind}`);
      }
      const q6 = new Uint8Array((N * K * 210) / 256);
      const r = seeded(22);
      for (let i = 0; i < q6.length; i++) q6[i] = kind === "max" ? 255 : Math.floor(r() * 256);
      mem.set(q6, W);
      k.repack_q6k_p(W, q6.length / 210, TMP);
      for (let i = 0; i < q6.length / 210; i++) k.q6p_to_stored(W + i * 210, OUT + i * 210);
      assert.deepEqual(mem.slice(OUT, OUT + q6.length), q6, `Q6_K ${kind}`);
    }
  });

  for (const type of ["Q4_K", "Q5_K"] as const) {
    test(`${type}: the layout is taken where its kernel exists (relaxed build, rows a multiple of 4)`, () => {
      const bytes = makeBlocks(type, 8, 512, 3, "mixed");
      const W = tensor(relaxed, type, bytes, 8, 512, true);
      assert.equal(W.kernelType, 100 + W.type);
      assert.notDeepEqual(Array.from(W.bytes), Array.from(bytes), "the bytes moved");
      assert.equal(W.bytes.length, bytes.length, "in place, no more memory");
      W.free();
      const odd = tensor(relaxed, type, makeBlocks(type, 6, 512, 4, "mixed"), 6, 512, true);
      assert.equal(odd.kernelType, odd.type, "6 rows stay as stored");
      odd.free();
      const p = tensor(plain, type, bytes, 8, 512, true);
      assert.equal(p.kernelType, p.type, "the plain build keeps the stored layout");
      p.free();
    });

    test(`${type}: every scale, min and value at its maximum against activations of -127 and +127`, () => {
      const N = 8;
      const K = 768;
      const bytes = makeBlocks(type, N, K, 5, "max");
      // a constant row quantises to -127 everywhere, its negation to +127: the byte dots' largest lanes
      const xs = Float32Array.from({ length: 2 * K }, (_, i) => (i < K ? 0.75 : -0.75));
      const W = tensor(relaxed, type, bytes, N, K, true);
      checkRef(type, bytes, K, xs, 2, linear(relaxed, W, xs, 2), `${type} max`);
      W.free();
    });

    test(`${type}: decode against the reference; rows, prefill, training matmuls and input gradients equal the stored layout's bit for bit`, () => {
      const N = 12;
      const K = 1280;
      const bytes = makeBlocks(type, N, K, 7, "mixed");
      const stored = tensor(relaxed, type, bytes, N, K, false);
      const x4 = tensor(relaxed, type, bytes, N, K, true);
      assert.deepEqual(rows(relaxed, x4, 0, N), rows(relaxed, stored, 0, N), "dequantised rows");
      assert.deepEqual(rows(relaxed, x4, 5, 6), rows(relaxed, stored, 5, 6), "one row (an embedding lookup)");
      const r = seeded(8);
      for (const M of [1, 3, 4, 5, 17]) {
        // mixed magnitudes, an all-zero super-block in row 0
        const xs = Float32Array.from({ length: M * K }, (_, i) =>
          i < 256 ? 0 : (r() * 2 - 1) * (i % 97 === 0 ? 40 : 1),
        );
        const got = linear(relaxed, x4, xs, M);
        // decode-sized calls (M <= 4) dot straight from the blocks; larger ones (prefill, and training's
        // exact path) unpack panels from the layout itself, or dequantise rows
        if (M <= 4) checkRef(type, bytes, K, xs, M, got, `${type} M=${M}`);
        else {
          assert.deepEqual(got, linear(relaxed, stored, xs, M), `${type} prefill M=${M}`);
          assert.deepEqual(
            linear(relaxed, x4, xs, M, true),
            linear(relaxed, stored, xs, M, true),
            `${type} exact M=${M}`,
          );
        }
      }
      // the input gradient of a linear layer on a frozen packed base (LoRA training); M·N·K is large enough
      // for the two threads to split K (at 768: a range that starts inside a row)
      const M = 5;
      const dys = Float32Array.from({ length: M * N }, () => r() * 2 - 1);
      const grads = (W: QTensor) => {
        const dy = relaxed.from(dys);
        const dx = relaxed.alloc(M * K);
        relaxed.linearInputGrad(dy, W, dx, M, N, K);
        const v = Float32Array.from(dx.f32);
        dy.free();
        dx.free();
        return v;
      };
      assert.deepEqual(grads(x4), grads(stored), `${type} input gradient`);
      stored.free();
      x4.free();
    });

    test(`${type}: one thread and two give the same results`, () => {
      const N = 64;
      const K = 1024;
      const bytes = makeBlocks(type, N, K, 9, "mixed");
      const a = tensor(relaxed, type, bytes, N, K, true);
      const b = tensor(relaxed1, type, bytes, N, K, true);
      assert.deepEqual(Array.from(a.bytes), Array.from(b.bytes), "the repacked bytes");
      const r = seeded(10);
      for (const M of [1, 8]) {
        const xs = Float32Array.from({ length: M * K }, () => r() * 2 - 1);
        assert.deepEqual(linear(relaxed, a, xs, M), linear(relaxed1, b, xs, M), `M=${M}`);
      }
      a.free();
      b.free();
    });
  }
});
