// Matmuls whose weights stay in their GGUF storage format (F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K,
// Q5_K, Q6_K), the layouts llama.cpp uses. Weight rows are [N][rowBytes]; C[m,n] (+)= A[m,:] · W[n,:].
// Decode-sized calls dot straight from the packed blocks: floats for F16/BF16, and for the block
// quantisations 8-bit integer dots against activations quantised per 32 values (quant_q8_rows) as
// llama.cpp's vec_dot kernels do. Large calls (prefill, backward) dequantise panels of rows into a
// per-thread scratch and reuse the f32 kernels of kernels.ts.
import { mm_abt, mm_nn } from "./kernels";

const F16: i32 = 1;
const Q4_0: i32 = 2;
const Q4_1: i32 = 3;
const Q5_0: i32 = 6;
const Q5_1: i32 = 7;
const Q8_0: i32 = 8;
const Q4_K: i32 = 12;
const Q5_K: i32 = 13;
const Q6_K: i32 = 14;
const BF16: i32 = 30;

// A quantised activation block: f32 scale, i32 sum of the 32 values, the 32 values as i8 (at AI8: for the
// relaxed byte dot), then as i16 (at AI16: widened once here rather than for every weight row they meet).
// Q8_0 weights keep the widened dot in both builds: a signed-by-signed byte dot needs sign juggling
// that costs what it saves.
// A row of nb blocks is followed by the nb scales (f32) and then the nb sums (i32) again, contiguous, so
// the dot kernels load four blocks' scales or sums with one vector load.
const QA: i32 = 104;
const AI8: usize = 8;
const AI16: usize = 40;

/** Bytes of a quantised activation row per 32 values (the engine sizes quant_q8_rows' output by it). */
export function q8_block_bytes(): i32 {
  return QA + 8;
}

// Where the scales of a quantised activation row of nb blocks start (its sums follow at + nb·4).
@inline function rowScales(a: usize, nb: i32): usize {
  return a + <usize>nb * QA;
}

@inline function h2f(h: u32): f32 {
  // exponent and mantissa moved into f32 position, rescaled by 2^112 (exact for normals and subnormals)
  const f = reinterpret<f32>((h & 0x7fff) << 13) * reinterpret<f32>(0x77800000);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

@inline function h2f4(h: v128): v128 {
  const f = f32x4.mul(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), f32x4.splat(reinterpret<f32>(0x77800000)));
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
}

// f16 values sign-extended into i32 lanes, as f32: sign and the 15 low bits moved into place in one mask,
// then the exponent rebased by 2^112 (the same values as h2f4, one operation less).
@inline function h2f4s(h: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(h, 13), i32x4.splat(0x8fffe000)), f32x4.splat(reinterpret<f32>(0x77800000)));
}

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

@inline function ihsum(v: v128): i32 {
  return i32x4.extract_lane(v, 0) + i32x4.extract_lane(v, 1) + i32x4.extract_lane(v, 2) + i32x4.extract_lane(v, 3);
}

// Σ a·w over 16 values: a at ap as i16, w as signed bytes; added to acc (i32x4 lanes).
@inline function dotA(ap: usize, w: v128, acc: v128): v128 {
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(ap), i16x8.extend_low_i8x16_s(w)));
  return i32x4.add(acc, i32x4.dot_i16x8_s(v128.load(ap, 16), i16x8.extend_high_i8x16_s(w)));
}

// Σ a·w over the 32 values of activation block ab, for weights l0 (values 0..15) and l1 (16..31) in 0..63,
// as i32x4 lanes. The relaxed build multiplies bytes directly: i16x8.relaxed_dot_i8x16_i7x16_s is exact
// when its second operand is in 0..127 (pair sums stay within i16 for weights below 64). Not
// i32x4.relaxed_dot_i8x16_i7x16_add_s: Node 20's baseline compiler (Liftoff) miscomputes it (the
// accumulator is dropped and the dot doubled), so results would depend on tier-up.
@inline function dot32u(ab: usize, l0: v128, l1: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const p = i16x8.add(
      i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ab + AI8), l0),
      i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ab + AI8 + 16), l1),
    );
    return i32x4.extadd_pairwise_i16x8_s(p);
  }
  return dotA(ab + AI16 + 32, l1, dotA(ab + AI16, l0, i32x4.splat(0)));
}

// The block scale as llama.cpp stores it in block_q8_0: rounded to f16 precision (11 significant bits).
@inline function roundScale(d: f32): f32 {
  return reinterpret<f32>((reinterpret<u32>(d) + 0x1000) & ~0x1fff);
}

@inline function blockScale(xp: usize): f32 {
  let amax = f32x4.splat(0);
  for (let i = 0; i < 8; i++) amax = f32x4.max(amax, f32x4.abs(v128.load(xp + (<usize>i << 4))));
  const mx = max(max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
  return roundScale(mx / 127);
}

/**
 * Rows m0..m1 of x[M, K] rounded through 8-bit blocks of 32 (q = round(x/d), back to q·d), into out: the
 * activation rounding llama.cpp applies before a quantised matmul, for the dequantised-panel path.
 */
export function round_q8_rows(x: usize, ldx: i32, K: i32, out: usize, m0: i32, m1: i32): void {
  const nb = K >> 5;
  for (let m = m0; m < m1; m++) {
    const xr = x + ((<usize>m * ldx) << 2);
    const orow = out + ((<usize>m * K) << 2);
    for (let b = 0; b < nb; b++) {
      const xp = xr + (<usize>b << 7);
      const op = orow + (<usize>b << 7);
      const d = blockScale(xp);
      const dv = f32x4.splat(d);
      const id = f32x4.splat(d != 0 ? 1 / d : 0);
      for (let i = 0; i < 8; i++) {
        const o = <usize>i << 4;
        v128.store(op + o, f32x4.mul(f32x4.nearest(f32x4.mul(v128.load(xp + o), id)), dv));
      }
    }
  }
}

/** Quantises rows m0..m1 of x[M, K] (K a multiple of 32) to blocks of 32 int8 values with an f32 scale. */
export function quant_q8_rows(x: usize, ldx: i32, K: i32, out: usize, m0: i32, m1: i32): void {
  const nb = K >> 5;
  for (let m = m0; m < m1; m++) {
    const xr = x + ((<usize>m * ldx) << 2);
    const orow = out + <usize>m * nb * (QA + 8);
    const ds = rowScales(orow, nb);
    for (let b = 0; b < nb; b++) {
      const xp = xr + (<usize>b << 7);
      const d = blockScale(xp);
      const id = f32x4.splat(d != 0 ? 1 / d : 0);
      const ob = orow + <usize>b * QA;
      let s = i32x4.splat(0);
      for (let i = 0; i < 2; i++) {
        const p = xp + (<usize>i << 6);
        const q0 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p), id)));
        const q1 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 16), id)));
        const q2 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 32), id)));
        const q3 = i32x4.trunc_sat_f32x4_s(f32x4.nearest(f32x4.mul(v128.load(p, 48), id)));
        s = i32x4.add(s, i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
        const h01 = i16x8.narrow_i32x4_s(q0, q1), h23 = i16x8.narrow_i32x4_s(q2, q3);
        v128.store(ob + AI8 + (<usize>i << 4), i8x16.narrow_i16x8_s(h01, h23));
        v128.store(ob + AI16 + (<usize>i << 5), h01);
        v128.store(ob + AI16 + 16 + (<usize>i << 5), h23);
      }
      const sum = ihsum(s);
      store<f32>(ob, d);
      store<i32>(ob, sum, 4);
      store<f32>(ds + (<usize>b << 2), d);
      store<i32>(ds + (<usize>(nb + b) << 2), sum);
    }
  }
}

@inline function finish(c: usize, add: bool, s: f32): void {
  store<f32>(c, add ? load<f32>(c) + s : s);
}

/** C[m,n] (+)= A·Wᵀ for F16 weights (row stride ldw elements), f32 activations. */
export function mmd_f16(a: usize, lda: i32, w: usize, ldw: i32, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32): void {
  const kv = K & ~7;
  const k16 = K & ~15;
  for (let n = n0; n < n1; n++) {
    const wr = w + ((<usize>n * ldw) << 1);
    for (let m = m0; m < m1; m++) {
      const ar = a + ((<usize>m * lda) << 2);
      // four independent sums over 16 values a step, so the multiply-adds overlap
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
      let k = 0;
      for (; k < k16; k += 16) {
        const wp = wr + (<usize>k << 1);
        const h0 = v128.load(wp), h1 = v128.load(wp, 16);
        const ap = ar + (<usize>k << 2);
        s0 = madd(h2f4s(i32x4.extend_low_i16x8_s(h0)), v128.load(ap), s0);
        s1 = madd(h2f4s(i32x4.extend_high_i16x8_s(h0)), v128.load(ap, 16), s1);
        s2 = madd(h2f4s(i32x4.extend_low_i16x8_s(h1)), v128.load(ap, 32), s2);
        s3 = madd(h2f4s(i32x4.extend_high_i16x8_s(h1)), v128.load(ap, 48), s3);
      }
      for (; k < kv; k += 8) {
        const h = v128.load(wr + (<usize>k << 1));
        const ap = ar + (<usize>k << 2);
        s0 = madd(h2f4s(i32x4.extend_low_i16x8_s(h)), v128.load(ap), s0);
        s1 = madd(h2f4s(i32x4.extend_high_i16x8_s(h)), v128.load(ap, 16), s1);
      }
      let s = hsum(f32x4.add(f32x4.add(s0, s2), f32x4.add(s1, s3)));
      for (let k = kv; k < K; k++) s += h2f(load<u16>(wr + (<usize>k << 1))) * load<f32>(ar + (<usize>k << 2));
      finish(c + ((<usize>m * ldc + n) << 2), accumulate != 0, s);
    }
  }
}

/** As mmd_f16 for BF16 weights. */
export function mmd_bf16(a: usize, lda: i32, w: usize, ldw: i32, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32): void {
  const kv = K & ~7;
  for (let n = n0; n < n1; n++) {
    const wr = w + ((<usize>n * ldw) << 1);
    for (let m = m0; m < m1; m++) {
      const ar = a + ((<usize>m * lda) << 2);
      let s0 = f32x4.splat(0), s1 = f32x4.splat(0);
      for (let k = 0; k < kv; k += 8) {
        const h = v128.load(wr + (<usize>k << 1));
        const ap = ar + (<usize>k << 2);
        s0 = madd(i32x4.shl(i32x4.extend_low_i16x8_u(h), 16), v128.load(ap), s0);
        s1 = madd(i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), v128.load(ap, 16), s1);
      }
      let s = hsum(f32x4.add(s0, s1));
      for (let k = kv; k < K; k++) s += reinterpret<f32>(<u32>load<u16>(wr + (<usize>k << 1)) << 16) * load<f32>(ar + (<usize>k << 2));
      finish(c + ((<usize>m * ldc + n) << 2), accumulate != 0, s);
    }
  }
}

/**
 * C[m,n] (+)= A·Wᵀ for block-quantised weights against quantised activations aq (quant_q8_rows rows of
 * nb32 blocks). `type` picks the block decoder; rowBytes is one weight row.
 */
export function mmd_q(type: i32, aq: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32): void {
  const nb = K >> 5;
  const add = accumulate != 0;
  const stride = <usize>nb * (QA + 8);
  for (let n = n0; n < n1; n++) {
    const wr = w + <usize>n * rowBytes;
    for (let m = m0; m < m1; m++) {
      const ar = aq + <usize>m * stride;
      let s: f32 = 0;
      if (type == Q4_0) s = dotQ4_0(wr, ar, nb);
      else if (type == Q8_0) s = dotQ8_0(wr, ar, nb);
      else if (type == Q4_1) s = dotQ4_1(wr, ar, nb);
      else if (type == Q5_0 || type == Q5_1) s = dotQ5(wr, ar, nb, type == Q5_1);
      else if (type == Q4_K || type == Q5_K) s = dotQ45K(wr, ar, nb >> 3, type == Q5_K);
      else if (type == Q6_K) s = dotQ6K(wr, ar, nb >> 3);
      else unreachable();
      finish(c + ((<usize>m * ldc + n) << 2), add, s);
    }
  }
}

// Lane j = Σ lanes of s_j: four block sums reduced at once.
@inline function hsum4(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i32>(s0, s1, 0, 1, 4, 5), v128.shuffle<i32>(s0, s1, 2, 3, 6, 7));
  const t1 = i32x4.add(v128.shuffle<i32>(s2, s3, 0, 1, 4, 5), v128.shuffle<i32>(s2, s3, 2, 3, 6, 7));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 2, 4, 6), v128.shuffle<i32>(t0, t1, 1, 3, 5, 7));
}

// f16 scales at w, w + stride, w + 2·stride, w + 3·stride as f32 lanes.
@inline function scales4(w: usize, stride: usize): v128 {
  let v = i32x4.splat(<i32>load<i16>(w));
  v = i32x4.replace_lane(v, 1, <i32>load<i16>(w + stride));
  v = i32x4.replace_lane(v, 2, <i32>load<i16>(w + 2 * stride));
  v = i32x4.replace_lane(v, 3, <i32>load<i16>(w + 3 * stride));
  return h2f4s(v);
}

@inline function blockQ8_0(wb: usize, ab: usize): v128 {
  return dotA(ab + AI16 + 32, v128.load(wb, 18), dotA(ab + AI16, v128.load(wb, 2), i32x4.splat(0)));
}

@inline function blockQ4_0(wb: usize, ab: usize): v128 {
  const q = v128.load(wb, 2);
  return dot32u(ab, v128.and(q, i8x16.splat(0x0f)), i8x16.shr_u(q, 4));
}

@inline function dotQ8_0(w: usize, a: usize, nb: i32): f32 {
  const ds = rowScales(a, nb);
  let acc = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const wb = w + <usize>b * 34, ab = a + <usize>b * QA;
    const s = hsum4(blockQ8_0(wb, ab), blockQ8_0(wb + 34, ab + QA), blockQ8_0(wb + 68, ab + 2 * QA), blockQ8_0(wb + 102, ab + 3 * QA));
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.mul(scales4(wb, 34), v128.load(ds + (<usize>b << 2))), acc);
  }
  let total = hsum(acc);
  for (; b < nb; b++) {
    const wb = w + <usize>b * 34, ab = a + <usize>b * QA;
    total += h2f(load<u16>(wb)) * load<f32>(ab) * <f32>ihsum(blockQ8_0(wb, ab));
  }
  return total;
}

@inline function dotQ4_0(w: usize, a: usize, nb: i32): f32 {
  const ds = rowScales(a, nb);
  const sums = ds + (<usize>nb << 2);
  let acc = f32x4.splat(0);
  let corr = f32x4.splat(0);
  let b = 0;
  for (; b + 4 <= nb; b += 4) {
    const wb = w + <usize>b * 18, ab = a + <usize>b * QA;
    const s = hsum4(blockQ4_0(wb, ab), blockQ4_0(wb + 18, ab + QA), blockQ4_0(wb + 36, ab + 2 * QA), blockQ4_0(wb + 54, ab + 3 * QA));
    const d = f32x4.mul(scales4(wb, 18), v128.load(ds + (<usize>b << 2)));
    acc = madd(f32x4.convert_i32x4_s(s), d, acc);
    corr = madd(f32x4.convert_i32x4_s(v128.load(sums + (<usize>b << 2))), d, corr);
  }
  let total = hsum(acc) - 8 * hsum(corr);
  for (; b < nb; b++) {
    const wb = w + <usize>b * 18, ab = a + <usize>b * QA;
    const d = h2f(load<u16>(wb)) * load<f32>(ab);
    total += d * <f32>(ihsum(blockQ4_0(wb, ab)) - 8 * load<i32>(ab, 4));
  }
  return total;
}

@inline function dotQ4_1(w: usize, a: usize, nb: i32): f32 {
  let acc = f32x4.splat(0);
  let corr: f32 = 0;
  const lo = i8x16.splat(0x0f);
  for (let b = 0; b < nb; b++) {
    const wb = w + <usize>b * 20, ab = a + <usize>b * QA;
    const q = v128.load(wb, 4);
    const s = dot32u(ab, v128.and(q, lo), i8x16.shr_u(q, 4));
    const da = load<f32>(ab);
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.splat(h2f(load<u16>(wb)) * da), acc);
    corr += h2f(load<u16>(wb, 2)) * da * <f32>load<i32>(ab, 4);
  }
  return hsum(acc) + corr;
}

// 16 bytes whose lane j is 0x10 when bit (j + shift) of qh is set.
@inline function highBits(qh: u32, shift: i32): v128 {
  const bits = i64x2.splat(<i64>(qh >> shift));
  // spread 16 bits to 16 lanes: lane j tests bit j
  const sel = v128.swizzle(bits, i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const mask = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.eq(v128.and(sel, mask), mask), i8x16.splat(0x10));
}

@inline function dotQ5(w: usize, a: usize, nb: i32, hasMin: bool): f32 {
  let acc = f32x4.splat(0);
  let corr: f32 = 0;
  const lo = i8x16.splat(0x0f);
  const size: usize = hasMin ? 24 : 22;
  const hAt: usize = hasMin ? 4 : 2;
  for (let b = 0; b < nb; b++) {
    const wb = w + <usize>b * size, ab = a + <usize>b * QA;
    const qh = load<u32>(wb + hAt);
    const q = v128.load(wb + hAt + 4);
    const s = dot32u(ab, v128.or(v128.and(q, lo), highBits(qh, 0)), v128.or(i8x16.shr_u(q, 4), highBits(qh, 16)));
    const da = load<f32>(ab);
    const d = h2f(load<u16>(wb)) * da;
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.splat(d), acc);
    corr += (hasMin ? h2f(load<u16>(wb, 2)) * da : -16 * d) * <f32>load<i32>(ab, 4);
  }
  return hsum(acc) + corr;
}

// 6-bit scale and min of sub-block j of a Q4_K/Q5_K super-block (12 packed bytes at p).
@inline function kScale(p: usize, j: i32): i32 {
  if (j < 4) return load<u8>(p + j) & 63;
  return (load<u8>(p + j + 4) & 0xf) | ((load<u8>(p + j - 4) >> 6) << 4);
}
@inline function kMin(p: usize, j: i32): i32 {
  if (j < 4) return load<u8>(p + j + 4) & 63;
  return (load<u8>(p + j + 4) >> 4) | ((load<u8>(p + j) >> 6) << 4);
}

// Four 6-bit scales (mins: min = true) of sub-blocks j0..j0+3 of a Q4_K/Q5_K super-block, as f32 lanes.
@inline function kScales4(p: usize, j0: i32, min: bool): v128 {
  let v = i32x4.splat(min ? kMin(p, j0) : kScale(p, j0));
  v = i32x4.replace_lane(v, 1, min ? kMin(p, j0 + 1) : kScale(p, j0 + 1));
  v = i32x4.replace_lane(v, 2, min ? kMin(p, j0 + 2) : kScale(p, j0 + 2));
  v = i32x4.replace_lane(v, 3, min ? kMin(p, j0 + 3) : kScale(p, j0 + 3));
  return f32x4.convert_i32x4_s(v);
}

@inline function dotQ45K(w: usize, a: usize, nsb: i32, five: bool): f32 {
  let total: f32 = 0;
  const lo = i8x16.splat(0x0f);
  const size: usize = five ? 176 : 144;
  const ds = rowScales(a, nsb * 8);
  const sums = ds + (<usize>(nsb * 8) << 2);
  for (let b = 0; b < nsb; b++) {
    const wb = w + <usize>b * size;
    const qs = wb + (five ? 48 : 16);
    const ab = a + <usize>(b * 8) * QA;
    // sub-block 2c: low nibbles of qs[32c..32c+31]; 2c+1: high nibbles; Q5_K adds bit 2c / 2c+1 of qh
    let s0 = i32x4.splat(0), s1 = s0, s2 = s0, s3 = s0, s4 = s0, s5 = s0, s6 = s0, s7 = s0;
    for (let c = 0; c < 4; c++) {
      const q0 = v128.load(qs + (<usize>c << 5)), q1 = v128.load(qs + (<usize>c << 5), 16);
      let l0 = v128.and(q0, lo), l1 = v128.and(q1, lo);
      let h0 = i8x16.shr_u(q0, 4), h1 = i8x16.shr_u(q1, 4);
      if (five) {
        const x0 = v128.load(wb + 16), x1 = v128.load(wb + 16, 16);
        const sl: i32 = 1 << (2 * c), sh: i32 = 2 << (2 * c);
        const bl = i8x16.splat(<i8>sl), bh = i8x16.splat(<i8>sh);
        l0 = v128.or(l0, v128.and(i8x16.eq(v128.and(x0, bl), bl), i8x16.splat(16)));
        l1 = v128.or(l1, v128.and(i8x16.eq(v128.and(x1, bl), bl), i8x16.splat(16)));
        h0 = v128.or(h0, v128.and(i8x16.eq(v128.and(x0, bh), bh), i8x16.splat(16)));
        h1 = v128.or(h1, v128.and(i8x16.eq(v128.and(x1, bh), bh), i8x16.splat(16)));
      }
      const lowSum = dot32u(ab + <usize>(2 * c) * QA, l0, l1);
      const highSum = dot32u(ab + <usize>(2 * c + 1) * QA, h0, h1);
      if (c == 0) { s0 = lowSum; s1 = highSum; }
      else if (c == 1) { s2 = lowSum; s3 = highSum; }
      else if (c == 2) { s4 = lowSum; s5 = highSum; }
      else { s6 = lowSum; s7 = highSum; }
    }
    const da0 = v128.load(ds + (<usize>b << 5)), da1 = v128.load(ds + (<usize>b << 5), 16);
    const q = madd(
      f32x4.convert_i32x4_s(hsum4(s0, s1, s2, s3)), f32x4.mul(kScales4(wb + 4, 0, false), da0),
      f32x4.mul(f32x4.convert_i32x4_s(hsum4(s4, s5, s6, s7)), f32x4.mul(kScales4(wb + 4, 4, false), da1)),
    );
    const m = madd(
      f32x4.convert_i32x4_s(v128.load(sums + (<usize>b << 5))), f32x4.mul(kScales4(wb + 4, 0, true), da0),
      f32x4.mul(f32x4.convert_i32x4_s(v128.load(sums + (<usize>b << 5), 16)), f32x4.mul(kScales4(wb + 4, 4, true), da1)),
    );
    total += h2f(load<u16>(wb)) * hsum(q) - h2f(load<u16>(wb, 2)) * hsum(m);
  }
  return total;
}

// Four signed 8-bit scales at p, p + 2, p + 4, p + 6 as f32 lanes.
@inline function q6Scales4(p: usize): v128 {
  let v = i32x4.splat(<i32>load<i8>(p));
  v = i32x4.replace_lane(v, 1, <i32>load<i8>(p + 2));
  v = i32x4.replace_lane(v, 2, <i32>load<i8>(p + 4));
  v = i32x4.replace_lane(v, 3, <i32>load<i8>(p + 6));
  return f32x4.convert_i32x4_s(v);
}

@inline function dotQ6K(w: usize, a: usize, nsb: i32): f32 {
  let total: f32 = 0;
  const lo = i8x16.splat(0x0f);
  const three = i8x16.splat(3);
  const off = i8x16.splat(32);
  const ds = rowScales(a, nsb * 8);
  for (let b = 0; b < nsb; b++) {
    const wb = w + <usize>b * 210;
    let acc = f32x4.splat(0);
    for (let h = 0; h < 2; h++) {
      const ql = wb + <usize>h * 64, qh = wb + 128 + <usize>h * 32, sc = wb + 192 + <usize>h * 8;
      const ab = a + <usize>(b * 8 + h * 4) * QA;
      const da = v128.load(ds + (<usize>(b * 8 + h * 4) << 2));
      for (let half = 0; half < 2; half++) {
        const o = <usize>half << 4;
        const L0 = v128.load(ql + o), L1 = v128.load(ql + 32 + o), H = v128.load(qh + o);
        // quarters of 16 values, 6-bit values recentred to -32..31; quarter qi meets activation block h*4+qi
        const v1 = i8x16.sub(v128.or(v128.and(L0, lo), i8x16.shl(v128.and(H, three), 4)), off);
        const v2 = i8x16.sub(v128.or(v128.and(L1, lo), i8x16.shl(v128.and(i8x16.shr_u(H, 2), three), 4)), off);
        const v3 = i8x16.sub(v128.or(i8x16.shr_u(L0, 4), i8x16.shl(v128.and(i8x16.shr_u(H, 4), three), 4)), off);
        const v4 = i8x16.sub(v128.or(i8x16.shr_u(L1, 4), i8x16.shl(i8x16.shr_u(H, 6), 4)), off);
        const ap = ab + AI16 + (o << 1);
        const z = i32x4.splat(0);
        const S = hsum4(dotA(ap, v1, z), dotA(ap + QA, v2, z), dotA(ap + 2 * QA, v3, z), dotA(ap + 3 * QA, v4, z));
        acc = madd(f32x4.convert_i32x4_s(S), f32x4.mul(q6Scales4(sc + half), da), acc);
      }
    }
    total += h2f(load<u16>(wb, 208)) * hsum(acc);
  }
  return total;
}

// ---- dequantisation of row panels ----

/** Writes W[r0..r1, k0..k1] as f32 into out (row stride ldo); k0, k1 are multiples of the block size. */
export function dequant_rows(type: i32, w: usize, rowBytes: i32, r0: i32, r1: i32, k0: i32, k1: i32, out: usize, ldo: i32): void {
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    const o = out + ((<usize>(r - r0) * ldo) << 2);
    dequantRow(type, wr, k0, k1, o);
  }
}

@inline function put(o: usize, i: i32, v: f32): void {
  store<f32>(o + (<usize>i << 2), v);
}

// 16 signed bytes q as f32 d·q + m at o (64 bytes).
@inline function bytesToF32(q: v128, d: v128, m: v128, o: usize): void {
  const lo = i16x8.extend_low_i8x16_s(q), hi = i16x8.extend_high_i8x16_s(q);
  v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d), m));
  v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), m), 16);
  v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), m), 32);
  v128.store(o, f32x4.add(f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), m), 48);
}

function dequantRow(type: i32, wr: usize, k0: i32, k1: i32, o: usize): void {
  if (type == F16 || type == BF16) {
    let k = k0;
    for (; k + 8 <= k1; k += 8) {
      const h = v128.load(wr + (<usize>k << 1));
      const p = o + (<usize>(k - k0) << 2);
      if (type == F16) {
        v128.store(p, h2f4(i32x4.extend_low_i16x8_u(h)));
        v128.store(p, h2f4(i32x4.extend_high_i16x8_u(h)), 16);
      } else {
        v128.store(p, i32x4.shl(i32x4.extend_low_i16x8_u(h), 16));
        v128.store(p, i32x4.shl(i32x4.extend_high_i16x8_u(h), 16), 16);
      }
    }
    for (; k < k1; k++) {
      const h = <u32>load<u16>(wr + (<usize>k << 1));
      put(o, k - k0, type == F16 ? h2f(h) : reinterpret<f32>(h << 16));
    }
    return;
  }
  if (type == Q4_K || type == Q5_K || type == Q6_K) {
    for (let b = k0 >> 8; b < k1 >> 8; b++) {
      const ob = o + (<usize>((b << 8) - k0) << 2);
      if (type == Q6_K) dequantQ6K(wr + <usize>b * 210, ob);
      else dequantQ45K(wr + <usize>b * (type == Q5_K ? 176 : 144), ob, type == Q5_K);
    }
    return;
  }
  for (let b = k0 >> 5; b < k1 >> 5; b++) {
    const ob = o + (<usize>((b << 5) - k0) << 2);
    if (type == Q8_0) {
      const wb = wr + <usize>b * 34;
      const d = f32x4.splat(h2f(load<u16>(wb)));
      bytesToF32(v128.load(wb, 2), d, f32x4.splat(0), ob);
      bytesToF32(v128.load(wb, 18), d, f32x4.splat(0), ob + 64);
      continue;
    }
    if (type == Q4_0) {
      // as the scalar path below: d·(q − 8) + 0
      const wb = wr + <usize>b * 18;
      const d = f32x4.splat(h2f(load<u16>(wb)));
      const q = v128.load(wb, 2);
      const eight = i8x16.splat(8);
      bytesToF32(i8x16.sub(v128.and(q, i8x16.splat(0x0f)), eight), d, f32x4.splat(0), ob);
      bytesToF32(i8x16.sub(i8x16.shr_u(q, 4), eight), d, f32x4.splat(0), ob + 64);
      continue;
    }
    const hasMin = type == Q4_1 || type == Q5_1;
    const five = type == Q5_0 || type == Q5_1;
    const size: usize = type == Q4_0 ? 18 : type == Q4_1 ? 20 : type == Q5_0 ? 22 : 24;
    const wb = wr + <usize>b * size;
    const d = h2f(load<u16>(wb));
    const mn: f32 = hasMin ? h2f(load<u16>(wb, 2)) : 0;
    const hAt = wb + (hasMin ? 4 : 2);
    const qh: u32 = five ? load<u32>(hAt) : 0;
    const qs = hAt + (five ? 4 : 0);
    const off: f32 = hasMin ? 0 : five ? -16 : -8;
    for (let j = 0; j < 16; j++) {
      const x = load<u8>(qs + j);
      const q0 = <i32>(x & 0xf) | (<i32>((qh >> j) & 1) << 4);
      const q1 = <i32>(x >> 4) | (<i32>((qh >> (j + 16)) & 1) << 4);
      put(ob, j, d * (<f32>q0 + off) + mn);
      put(ob, j + 16, d * (<f32>q1 + off) + mn);
    }
  }
}

function dequantQ45K(wb: usize, ob: usize, five: bool): void {
  const d = h2f(load<u16>(wb)), dmin = h2f(load<u16>(wb, 2));
  const qh = wb + 16;
  const qs = wb + (five ? 48 : 16);
  for (let c = 0; c < 4; c++) {
    const d1 = d * <f32>kScale(wb + 4, 2 * c), m1 = dmin * <f32>kMin(wb + 4, 2 * c);
    const d2 = d * <f32>kScale(wb + 4, 2 * c + 1), m2 = dmin * <f32>kMin(wb + 4, 2 * c + 1);
    for (let l = 0; l < 32; l++) {
      const q = <i32>load<u8>(qs + (c << 5) + l);
      const hi: i32 = five ? <i32>load<u8>(qh + l) : 0;
      put(ob, c * 64 + l, d1 * <f32>((q & 0xf) + ((hi >> (2 * c)) & 1 ? 16 : 0)) - m1);
      put(ob, c * 64 + 32 + l, d2 * <f32>((q >> 4) + ((hi >> (2 * c + 1)) & 1 ? 16 : 0)) - m2);
    }
  }
}

function dequantQ6K(wb: usize, ob: usize): void {
  const d = h2f(load<u16>(wb, 208));
  for (let h = 0; h < 2; h++) {
    const ql = wb + <usize>h * 64, qh = wb + 128 + <usize>h * 32, sc = wb + 192 + <usize>h * 8;
    for (let l = 0; l < 32; l++) {
      const is = l >> 4;
      const a = <i32>load<u8>(ql + l), b = <i32>load<u8>(ql + l + 32), x = <i32>load<u8>(qh + l);
      const y = h * 128 + l;
      put(ob, y, d * <f32>load<i8>(sc + is) * <f32>(((a & 0xf) | ((x & 3) << 4)) - 32));
      put(ob, y + 32, d * <f32>load<i8>(sc + is + 2) * <f32>(((b & 0xf) | (((x >> 2) & 3) << 4)) - 32));
      put(ob, y + 64, d * <f32>load<i8>(sc + is + 4) * <f32>(((a >> 4) | (((x >> 4) & 3) << 4)) - 32));
      put(ob, y + 96, d * <f32>load<i8>(sc + is + 6) * <f32>(((b >> 4) | (((x >> 6) & 3) << 4)) - 32));
    }
  }
}

/**
 * C[m0..m1, n0..n1] (+)= A·Wᵀ by panels: P weight rows at a time dequantised into scratch (P·K f32), then the
 * f32 A·Bᵀ kernel on the panel.
 */
export function mmp_abt(type: i32, a: usize, lda: i32, w: usize, rowBytes: i32, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32, scratch: usize, P: i32): void {
  for (let nb = n0; nb < n1; nb += P) {
    const ne = min(nb + P, n1);
    dequant_rows(type, w, rowBytes, nb, ne, 0, K, scratch, K);
    mm_abt(a, lda, scratch, K, c + (<usize>nb << 2), ldc, K, m0, m1, 0, ne - nb, accumulate);
  }
}

/**
 * dX[m0..m1, k0..k1] (+)= dY[M, N] · W[N, k0..k1] (the input gradient of a linear layer) by panels of P
 * weight rows dequantised into scratch (P·(k1−k0) f32) and the f32 A·B kernel.
 */
export function mmp_nn(type: i32, dy: usize, ldy: i32, w: usize, rowBytes: i32, dx: usize, ldx: i32, N: i32, m0: i32, m1: i32, k0: i32, k1: i32, accumulate: i32, scratch: usize, P: i32): void {
  const kw = k1 - k0;
  for (let nb = 0; nb < N; nb += P) {
    const ne = min(nb + P, N);
    dequant_rows(type, w, rowBytes, nb, ne, k0, k1, scratch, kw);
    mm_nn(dy + (<usize>nb << 2), ldy, 1, scratch, kw, dx + (<usize>k0 << 2), ldx, ne - nb, m0, m1, 0, kw, nb > 0 ? 1 : accumulate);
  }
}
