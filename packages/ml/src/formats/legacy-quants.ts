// ggml's 32-value block quantisations Q4_0, Q4_1, Q5_0 and Q5_1: decoding, and a plain round-to-nearest
// encoder for each (any ggml reader decodes it; llama.cpp's quantiser may pick slightly different scales).
import { f16ToF32, f32ToF16 } from "./half.ts";

export type LegacyQuant = "Q4_0" | "Q4_1" | "Q5_0" | "Q5_1";

interface Layout {
  bytes: number;
  hasMin: boolean;
  fiveBit: boolean;
  /** added to the stored unsigned value of a type without a min */
  offset: number;
}

export const LEGACY_LAYOUTS: Record<LegacyQuant, Layout> = {
  Q4_0: { bytes: 18, hasMin: false, fiveBit: false, offset: -8 },
  Q4_1: { bytes: 20, hasMin: true, fiveBit: false, offset: 0 },
  Q5_0: { bytes: 22, hasMin: false, fiveBit: true, offset: -16 },
  Q5_1: { bytes: 24, hasMin: true, fiveBit: true, offset: 0 },
};

/**
 * Block: f16 scale d, [f16 min m], [u32 high bits], 16 bytes of nibbles. Low nibbles are values 0..15 and high
 * nibbles 16..31; bit j of the high-bit word is bit 4 of value j. Value = d·(q + offset) + m.
 */
export function decodeLegacy(type: LegacyQuant, bytes: Uint8Array, count: number, out: Float32Array): void {
  const { bytes: size, hasMin, fiveBit, offset } = LEGACY_LAYOUTS[type];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < count / 32; b++) {
    const at = b * size;
    const d = f16ToF32(view.getUint16(at, true));
    const m = hasMin ? f16ToF32(view.getUint16(at + 2, true)) : 0;
    const hAt = at + (hasMin ? 4 : 2);
    const qh = fiveBit ? view.getUint32(hAt, true) : 0;
    const qs = hAt + (fiveBit ? 4 : 0);
    for (let j = 0; j < 16; j++) {
      const q0 = (bytes[qs + j] & 0xf) | (((qh >>> j) & 1) << 4);
      const q1 = (bytes[qs + j] >> 4) | (((qh >>> (j + 16)) & 1) << 4);
      out[b * 32 + j] = d * (q0 + offset) + m;
      out[b * 32 + j + 16] = d * (q1 + offset) + m;
    }
  }
}

export function encodeLegacy(type: LegacyQuant, data: Float32Array): Uint8Array {
  const { bytes: size, hasMin, fiveBit, offset } = LEGACY_LAYOUTS[type];
  const levels = fiveBit ? 31 : 15;
  const out = new Uint8Array((data.length / 32) * size);
  const view = new DataView(out.buffer);
  const f16 = (x: number) => f16ToF32(f32ToF16(x));
  for (let b = 0; b < data.length / 32; b++) {
    const block = data.subarray(b * 32, b * 32 + 32);
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    let amax = 0;
    for (const x of block) {
      lo = Math.min(lo, x);
      hi = Math.max(hi, x);
      amax = Math.max(amax, Math.abs(x));
    }
    // with a min: q in 0..levels spans [lo, hi]; without: q + offset spans [-amax, amax] symmetrically
    const d = f16(hasMin ? (hi - lo) / levels : amax / (-offset - 1));
    const m = hasMin ? f16(lo) : 0;
    const at = b * size;
    view.setUint16(at, f32ToF16(d), true);
    if (hasMin) view.setUint16(at + 2, f32ToF16(m), true);
    const hAt = at + (hasMin ? 4 : 2);
    const qs = hAt + (fiveBit ? 4 : 0);
    let qh = 0;
    for (let j = 0; j < 32; j++) {
      const q = d ? Math.max(0, Math.min(levels, Math.round((block[j] - m) / d - offset))) : -offset;
      out[qs + (j & 15)] |= (q & 0xf) << (j < 16 ? 0 : 4);
      if (q & 0x10) qh |= 1 << j;
    }
    if (fiveBit) view.setUint32(hAt, qh >>> 0, true);
  }
  return out;
}
