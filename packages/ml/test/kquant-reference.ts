// Scalar references shared by the K-quant kernel tests, written from the formats' definitions.

/** An f16 bit pattern as a number (subnormals, infinities and NaN included). */
export function f16(h: number): number {
  const e = (h >> 10) & 31;
  const m = h & 1023;
  const v =
    e === 0
      ? m * 2 ** -24
      : e === 31
        ? m
          ? Number.NaN
          : Number.POSITIVE_INFINITY
        : (1024 + m) * 2 ** (e - 25);
  return h & 0x8000 ? -v : v;
}

/** Round to nearest, ties to even. */
export function rne(v: number): number {
  return Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v);
}

/** llama.cpp's quantize_row_q8_K for one row: per 256 values the f32 scale and the values -127..127. */
export function q8k(x: Float32Array): { d: number[]; q: Int32Array } {
  const d: number[] = [];
  const q = new Int32Array(x.length);
  for (let b = 0; b < x.length; b += 256) {
    let amax = 0;
    let mx = 0;
    for (let i = b; i < b + 256; i++) {
      if (Math.abs(x[i]) > amax) {
        amax = Math.abs(x[i]);
        mx = x[i];
      }
    }
    if (amax === 0) {
      d.push(0);
      continue;
    }
    const iscale = Math.fround(-127 / mx);
    for (let i = b; i < b + 256; i++) q[i] = Math.min(127, rne(Math.fround(x[i] * iscale)));
    d.push(Math.fround(1 / iscale));
  }
  return { d, q };
}
