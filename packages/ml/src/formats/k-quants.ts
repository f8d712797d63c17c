// ggml k-quants (super-blocks of 256 values): Q4_K, Q5_K and Q6_K decoding, and a simple round-to-nearest
// encoder for each (not llama.cpp's error-minimising search, but a valid encoding any ggml reader decodes).
import { f16ToF32, f32ToF16 } from "./half.ts";

export const QK_K = 256;
export const K_BLOCK_BYTES = { Q4_K: 144, Q5_K: 176, Q6_K: 210 } as const;

/** 6-bit scale and min of sub-block j from the 12 packed scale bytes at `at`. */
function scaleMin(bytes: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [bytes[at + j] & 63, bytes[at + j + 4] & 63];
  return [
    (bytes[at + j + 4] & 0xf) | ((bytes[at + j - 4] >> 6) << 4),
    (bytes[at + j + 4] >> 4) | ((bytes[at + j] >> 6) << 4),
  ];
}

function packScaleMin(sc: number[], m: number[], out: Uint8Array, at: number) {
  for (let j = 0; j < 4; j++) {
    out[at + j] = sc[j] | ((sc[j + 4] >> 4) << 6);
    out[at + j + 4] = m[j] | ((m[j + 4] >> 4) << 6);
    out[at + j + 8] = (sc[j + 4] & 0xf) | ((m[j + 4] & 0xf) << 4);
  }
}

const half = (view: DataView, at: number) => f16ToF32(view.getUint16(at, true));

/** Q4_K (5 = false) or Q5_K (5 = true): per 32 values a 6-bit scale and min under f16 super-scales. */
export function decodeQ45K(bytes: Uint8Array, count: number, five: boolean, out: Float32Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const size = five ? 176 : 144;
  for (let b = 0; b < count / QK_K; b++) {
    const at = b * size;
    const d = half(view, at);
    const dmin = half(view, at + 2);
    const qh = at + 16;
    const qs = five ? at + 48 : at + 16;
    for (let c = 0; c < 4; c++) {
      const [s1, m1] = scaleMin(bytes, at + 4, 2 * c);
      const [s2, m2] = scaleMin(bytes, at + 4, 2 * c + 1);
      const y = b * QK_K + c * 64;
      for (let l = 0; l < 32; l++) {
        const q = bytes[qs + c * 32 + l];
        const hi = five ? bytes[qh + l] : 0;
        out[y + l] = d * s1 * ((q & 0xf) + (five && hi & (1 << (2 * c)) ? 16 : 0)) - dmin * m1;
        out[y + 32 + l] = d * s2 * ((q >> 4) + (five && hi & (2 << (2 * c)) ? 16 : 0)) - dmin * m2;
      }
    }
  }
}

export function encodeQ45K(data: Float32Array, five: boolean): Uint8Array {
  const levels = five ? 31 : 15;
  const size = five ? 176 : 144;
  const out = new Uint8Array((data.length / QK_K) * size);
  const view = new DataView(out.buffer);
  for (let b = 0; b < data.length / QK_K; b++) {
    const at = b * size;
    const scales: number[] = [];
    const mins: number[] = [];
    for (let j = 0; j < 8; j++) {
      let lo = 0;
      let hi = 0;
      for (let l = 0; l < 32; l++) {
        const x = data[b * QK_K + j * 32 + l];
        lo = Math.min(lo, x);
        hi = Math.max(hi, x);
      }
      scales.push((hi - lo) / levels);
      mins.push(-lo);
    }
    const d = f16ToF32(f32ToF16(Math.max(...scales) / 63));
    const dmin = f16ToF32(f32ToF16(Math.max(...mins) / 63));
    view.setUint16(at, f32ToF16(d), true);
    view.setUint16(at + 2, f32ToF16(dmin), true);
    const sc = scales.map((s) => (d ? Math.min(63, Math.round(s / d)) : 0));
    const m = mins.map((v) => (dmin ? Math.min(63, Math.round(v / dmin)) : 0));
    packScaleMin(sc, m, out, at + 4);
    const qh = at + 16;
    const qs = five ? at + 48 : at + 16;
    for (let j = 0; j < 8; j++) {
      const step = d * sc[j];
      for (let l = 0; l < 32; l++) {
        const x = data[b * QK_K + j * 32 + l];
        const q = step ? Math.max(0, Math.min(levels, Math.round((x + dmin * m[j]) / step))) : 0;
        const c = j >> 1;
        out[qs + c * 32 + l] |= (q & 0xf) << (j & 1 ? 4 : 0);
        if (five && q > 15) out[qh + l] |= 1 << j;
      }
    }
  }
  return out;
}

/** Q6_K: 6-bit values, per 16 values an int8 scale under one f16 super-scale. */
export function decodeQ6K(bytes: Uint8Array, count: number, out: Float32Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / QK_K; b++) {
    const at = b * 210;
    const d = half(view, at + 208);
    for (let h = 0; h < 2; h++) {
      const ql = at + h * 64;
      const qh = at + 128 + h * 32;
      const sc = at + 192 + h * 8;
      const y = b * QK_K + h * 128;
      for (let l = 0; l < 32; l++) {
        const is = l >> 4;
        const q1 = ((bytes[ql + l] & 0xf) | (((bytes[qh + l] >> 0) & 3) << 4)) - 32;
        const q2 = ((bytes[ql + l + 32] & 0xf) | (((bytes[qh + l] >> 2) & 3) << 4)) - 32;
        const q3 = ((bytes[ql + l] >> 4) | (((bytes[qh + l] >> 4) & 3) << 4)) - 32;
        const q4 = ((bytes[ql + l + 32] >> 4) | (((bytes[qh + l] >> 6) & 3) << 4)) - 32;
        const s = (k: number) => (bytes[sc + is + k] << 24) >> 24;
        out[y + l] = d * s(0) * q1;
        out[y + l + 32] = d * s(2) * q2;
        out[y + l + 64] = d * s(4) * q3;
        out[y + l + 96] = d * s(6) * q4;
      }
    }
  }
}

export function encodeQ6K(data: Float32Array): Uint8Array {
  const out = new Uint8Array((data.length / QK_K) * 210);
  const view = new DataView(out.buffer);
  for (let b = 0; b < data.length / QK_K; b++) {
    const at = b * 210;
    const scales: number[] = [];
    for (let j = 0; j < 16; j++) {
      let amax = 0;
      for (let l = 0; l < 16; l++) amax = Math.max(amax, Math.abs(data[b * QK_K + j * 16 + l]));
      scales.push(amax / 31);
    }
    const d = f16ToF32(f32ToF16(Math.max(...scales) / 127));
    view.setUint16(at + 208, f32ToF16(d), true);
    const sc = scales.map((s) => (d ? Math.min(127, Math.round(s / d)) : 0));
    for (let j = 0; j < 16; j++) out[at + 192 + j] = sc[j] & 0xff;
    for (let i = 0; i < QK_K; i++) {
      const step = d * sc[i >> 4];
      const q = (step ? Math.max(-32, Math.min(31, Math.round(data[b * QK_K + i] / step))) : 0) + 32;
      const h = i >> 7; // which half of 128
      const p = i & 127;
      const l = p & 31;
      const quarter = p >> 5; // q1..q4
      const ql = at + h * 64 + l + (quarter & 1 ? 32 : 0);
      out[ql] |= (q & 0xf) << (quarter >= 2 ? 4 : 0);
      out[at + 128 + h * 32 + l] |= (q >> 4) << (2 * quarter);
    }
  }
  return out;
}
