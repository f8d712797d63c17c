// The Q8_K activation quantiser (quant_q8k_rows: the K-quant decode and prefill activations) of both builds
// against llama.cpp's quantize_row_q8_K written from its definition (test/kquant-reference.ts): per 256 values
// the scale and every value, bit for bit, where the largest magnitude is found on the values' bits and the
// first value of that magnitude by a vector compare. Rows with the largest magnitude at either end of a
// block, twice with opposite signs, tiny and zero blocks; a NaN or an infinity must still poison its
// block's scale as before (the dots then come out NaN or 0, never a finite guess).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { setFlagsFromString } from "node:v8";
import { seeded } from "./formats-util.ts";
import { q8k } from "./kquant-reference.ts";

// The WebAssembly JS API is not in the ES lib typings; the parts this test uses.
interface Wasm {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => { buffer: ArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (m: object, imports: object) => { exports: Record<string, (...a: number[]) => number> };
}
const WA = (globalThis as unknown as { WebAssembly: Wasm }).WebAssembly;
// as Engine.create does before it compiles the relaxed build
setFlagsFromString("--experimental-wasm-relaxed-simd");

/** quant_q8k_rows of one row in the given build: per block its scale and the 256 values. */
function quantise(build: "kernels" | "kernels-relaxed", x: Float32Array) {
  const memory = new WA.Memory({ initial: 64, maximum: 64, shared: true });
  const url = new URL(`../build/${build}.wasm`, import.meta.url);
  const k = new WA.Instance(new WA.Module(readFileSync(url)), { env: { memory } }).exports;
  const [X, OUT] = [1 << 20, 2 << 20];
  new Float32Array(memory.buffer, X, x.length).set(x);
  k.quant_q8k_rows(X, x.length, x.length, OUT, 0, 1);
  const bytes = k.q8k_block_bytes();
  const d: number[] = [];
  const q = new Int32Array(x.length);
  for (let b = 0; b < x.length / 256; b++) {
    const at = OUT + b * bytes;
    d.push(new Float32Array(memory.buffer, at, 1)[0]);
    q.set(new Int8Array(memory.buffer, at + 64, 256), b * 256);
  }
  return { d, q };
}

test("quant_q8k_rows equals llama.cpp's quantize_row_q8_K bit for bit, both builds", () => {
  const r = seeded(5);
  const K = 256 * 8;
  const x = Float32Array.from({ length: K }, () => (r() * 2 - 1) * 3);
  x[0] = 7; // block 0: largest first
  x[511] = -7.5; // block 1: largest last
  x[600] = 6; // block 2: the same magnitude twice, the negative one first
  x[520] = -6;
  x.fill(0, 768, 1024); // block 3: zeros
  for (let i = 1024; i < 1280; i++) x[i] = (r() * 2 - 1) * 1e-30; // block 4: tiny values
  x[1300] = 1e30; // block 5: one value far above the rest
  for (const build of ["kernels", "kernels-relaxed"] as const) {
    const got = quantise(build, x);
    const want = q8k(x);
    assert.deepEqual(got.d, want.d, `${build}: scales`);
    assert.deepEqual(got.q, want.q, `${build}: values`);
  }
});

test("a NaN or an infinity in a block makes that block's scale NaN or 0, both builds", () => {
  const r = seeded(6);
  const x = Float32Array.from({ length: 768 }, () => r() * 2 - 1);
  x[300] = Number.NaN; // block 1
  x[700] = Number.NEGATIVE_INFINITY; // block 2
  for (const build of ["kernels", "kernels-relaxed"] as const) {
    const got = quantise(build, x);
    assert.deepEqual(got.q.subarray(0, 256), q8k(x.subarray(0, 256)).q, `${build}: block 0 untouched`);
    assert.ok(Number.isNaN(got.d[1]), `${build}: NaN scale, got ${got.d[1]}`);
    assert.equal(got.d[2], 0, `${build}: an infinity leaves scale 0 (1/-0 is not stored)`);
  }
});
