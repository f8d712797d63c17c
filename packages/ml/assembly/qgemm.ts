// Integer GEMM for prefill-sized calls on packed weights: C[m, n] (+)= A[m, :] · W[n, :] with the activation
// rows quantised to 8 bits once (quant_q8_rows for the 32-value formats, for the K-quants quant_q8k_rows in
// the decode layouts' value orders: llama.cpp's block_q8_0 / block_q8_K, as its prefill does) and the
// weights unpacked, a panel of rows at a time, into a per-thread scratch of unsigned bytes (Q8_0: i16)
// grouped four rows at a time. The tile is four weight rows by one activation row: each activation block
// is loaded once for the four rows, and each 32-value block (or K-quant super-block) is summed in
// integers before one float multiply per row.
//
// The byte products use i16x8.relaxed_dot_i8x16_i7x16_s in the relaxed build (exact while the weight
// operand is 0..127, as the unpacked values are); the plain build widens to i16 and gets the same
// integers. Sums are exact: the bounds are noted where they are tight.
import { h2f } from "./quant";

const Q4_0: i32 = 2;
const Q4_1: i32 = 3;
const Q5_0: i32 = 6;
const Q5_1: i32 = 7;
const Q4_K: i32 = 12;
const Q5_K: i32 = 13;
const Q6_K: i32 = 14;
const Q8_0: i32 = 8;
const Q4_0X4: i32 = 102;
const Q8_0X4: i32 = 108;
const Q4K_X4: i32 = 112;
const Q5K_X4: i32 = 113;
const Q6K_P: i32 = 214;

// quant_q8_rows' 32-value block: f32 scale, i32 sum, 32 i8 at 8; a row of nb blocks takes nb·48 bytes
const QA: usize = 40;
// quant_q8k_rows' 256-value block: f32 scale, i16 sums per 16 at 16 and per 32 at 48, 256 i8 at 64
const QK: usize = 320;
const KS16: usize = 16;
const KS32: usize = 48;
const KI8: usize = 64;

// Panel bytes per group of four rows, per block: the 32-value formats: the values (row r at 32·r), then
// the four f32 scales d and (Q4_1, Q5_1) the four f32 mins m, w = d·q + m. Q4_K/Q5_K (per 256): values (row
// r at 256·r), each 64 (sub-blocks 2c, 2c+1) in the order of quant_q8k_rows_kx4's activations: byte pairs
// alternating between the two sub-blocks; the 8 scales as i16 (1024 + 16·r), the 8 mins as i16 (1088 +
// 16·r), then d[4] and dmin[4] as f32. Q6_K (per 256): values, each 32 (16-value groups g, g+1) in the
// order of quant_q8k_rows_q6p's activations: byte pairs alternating between the two groups; the 16 scales
// as i16 (1024 + 32·r); then d[4]. In both, a byte dot's even i16 lanes hold one sub-block (group) and the
// odd lanes the other, so one 16-bit multiply-add by a pair of scales [s, s', s, s', ...] (one 32-bit load
// splat) scales both.
const P32: usize = 160;
// Q8_0 (per 32): the values widened to i16 (row r at 64·r), then d[4] as f32.
const P8: usize = 272;
const P4K: usize = 1184;
const P6K: usize = 1168;

const NIB: usize = memory.data<u8>([15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15], 16);
// packQ45K's scale and min unpacking: byte indices into the 12 scale bytes for i16 lanes 0-7 (128: zero) of
// the low bits of the scales, their top bits, the mins' bits and their top bits; then masks as i16 lanes:
// the top two bits of a byte, the scales' low bits (6 of the first four, 4 of the rest), the first four
// mins' 6 bits, the last four's high nibble.
// packQ6KP's masks: the low six bits, then bit pairs 0-1, 2-3, 4-5.
const B6: usize = memory.data<u8>([
  63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63,
  3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
  12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12, 12,
  48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48,
], 16);
const KSC: usize = memory.data<u8>([
  0, 128, 1, 128, 2, 128, 3, 128, 8, 128, 9, 128, 10, 128, 11, 128,
  128, 128, 128, 128, 128, 128, 128, 128, 0, 128, 1, 128, 2, 128, 3, 128,
  4, 128, 5, 128, 6, 128, 7, 128, 8, 128, 9, 128, 10, 128, 11, 128,
  128, 128, 128, 128, 128, 128, 128, 128, 4, 128, 5, 128, 6, 128, 7, 128,
  0xc0, 0, 0xc0, 0, 0xc0, 0, 0xc0, 0, 0xc0, 0, 0xc0, 0, 0xc0, 0, 0xc0, 0,
  63, 0, 63, 0, 63, 0, 63, 0, 15, 0, 15, 0, 15, 0, 15, 0,
  63, 0, 63, 0, 63, 0, 63, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0xf0, 0, 0xf0, 0, 0xf0, 0, 0xf0, 0,
], 16);

/** Panel bytes per four weight rows of K values for `type` (0 if the integer GEMM does not take it). */
export function qg_panel_bytes(type: i32, K: i32): i32 {
  if (type == Q4_0X4 || type == Q4_0 || type == Q4_1 || type == Q5_0 || type == Q5_1) return (K >> 5) * <i32>P32;
  if (type == Q8_0 || type == Q8_0X4) return (K >> 5) * <i32>P8;
  if (type == Q4_K || type == Q5_K || type == Q4K_X4 || type == Q5K_X4) return (K >> 8) * <i32>P4K;
  if (type == Q6_K || type == Q6K_P) return (K >> 8) * <i32>P6K;
  return 0;
}

// i16 lane j = a[2j]·w[2j] + a[2j+1]·w[2j+1] for signed bytes a and weights w in 0..63 (|lane| ≤ 16002).
@inline function dot16(a: v128, w: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i16x8.relaxed_dot_i8x16_i7x16_s(a, w);
  const lo = i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(a), i16x8.extend_low_i8x16_u(w));
  const hi = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(a), i16x8.extend_high_i8x16_u(w));
  return i16x8.narrow_i32x4_s(lo, hi);
}

// Lane r = Σ of the eight i16 lanes of p_r, for lanes of at most 7620 in magnitude (32 products of
// 127·15): the halves are added in i16 twice (at most 30480) before one widening pair sum.
@inline function red4x16(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const t01 = i16x8.add(v128.shuffle<i64>(p0, p1, 0, 2), v128.shuffle<i64>(p0, p1, 1, 3));
  const t23 = i16x8.add(v128.shuffle<i64>(p2, p3, 0, 2), v128.shuffle<i64>(p2, p3, 1, 3));
  const u = i16x8.add(v128.shuffle<i32>(t01, t23, 0, 2, 4, 6), v128.shuffle<i32>(t01, t23, 1, 3, 5, 7));
  return i32x4.extadd_pairwise_i16x8_s(u);
}

// As red4x16 for lanes of at most 15748 (5-bit weights): widened after one add.
@inline function red4x16w(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const t01 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(v128.shuffle<i64>(p0, p1, 0, 2), v128.shuffle<i64>(p0, p1, 1, 3)));
  const t23 = i32x4.extadd_pairwise_i16x8_s(i16x8.add(v128.shuffle<i64>(p2, p3, 0, 2), v128.shuffle<i64>(p2, p3, 1, 3)));
  return i32x4.add(v128.shuffle<i32>(t01, t23, 0, 2, 4, 6), v128.shuffle<i32>(t01, t23, 1, 3, 5, 7));
}

// Lane r = Σ of the four i32 lanes of s_r.
@inline function red4x32(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const t0 = i32x4.add(v128.shuffle<i64>(s0, s1, 0, 2), v128.shuffle<i64>(s0, s1, 1, 3));
  const t1 = i32x4.add(v128.shuffle<i64>(s2, s3, 0, 2), v128.shuffle<i64>(s2, s3, 1, 3));
  return i32x4.add(v128.shuffle<i32>(t0, t1, 0, 2, 4, 6), v128.shuffle<i32>(t0, t1, 1, 3, 5, 7));
}

@inline function nibHi(q: v128): v128 {
  return v128.and(i16x8.shr_u(q, 4), v128.load(NIB));
}

// ---- panels ----

// Groups g0..g1 of a Q4_0X4 matrix (72 bytes per group and block: four f16 scales, then each row's 16
// bytes of nibbles) into the panel.
function packQ4_0x4(w: usize, rowBytes: i32, g0: i32, g1: i32, nb: i32, out: usize): void {
  for (let g = g0; g < g1; g++) {
    const src = w + <usize>g * (<usize>rowBytes << 2);
    const dst = out + <usize>(g - g0) * <usize>nb * P32;
    for (let b = 0; b < nb; b++) {
      const wb = src + <usize>b * 72, pb = dst + <usize>b * P32;
      for (let r = 0; r < 4; r++) {
        const q = v128.load(wb + 8 + (<usize>r << 4));
        v128.store(pb + (<usize>r << 5), v128.and(q, v128.load(NIB)));
        v128.store(pb + (<usize>r << 5), nibHi(q), 16);
      }
      for (let r = 0; r < 4; r++) store<f32>(pb + 128 + (<usize>r << 2), h2f(load<u16>(wb + (<usize>r << 1))));
    }
  }
}

// 16 bytes whose lane j is 16 when bit j of qh is set (the fifth bit of Q5_0/Q5_1 values).
@inline function fifthBits(qh: u32): v128 {
  const sel = v128.swizzle(i64x2.splat(<i64>qh), i8x16(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
  const mask = i8x16(1, 2, 4, 8, 16, 32, 64, -128, 1, 2, 4, 8, 16, 32, 64, -128);
  return v128.and(i8x16.eq(v128.and(sel, mask), mask), i8x16.splat(16));
}

// Rows n0..n1 of a Q4_0, Q4_1, Q5_0 or Q5_1 matrix (as stored) into the panel; rows of the last group past
// n1 are zeros.
function pack32(type: i32, w: usize, rowBytes: i32, n0: i32, n1: i32, nb: i32, out: usize): void {
  const hasMin = type == Q4_1 || type == Q5_1;
  const five = type == Q5_0 || type == Q5_1;
  const size: usize = type == Q4_0 ? 18 : type == Q4_1 ? 20 : type == Q5_0 ? 22 : 24;
  const qs: usize = (hasMin ? 4 : 2) + (five ? 4 : 0);
  for (let g = 0; g < (n1 - n0 + 3) >> 2; g++) {
    const dst = out + <usize>g * <usize>nb * P32;
    for (let r = 0; r < 4; r++) {
      const n = n0 + (g << 2) + r;
      for (let b = 0; b < nb; b++) {
        const pb = dst + <usize>b * P32;
        const vals = pb + (<usize>r << 5);
        if (n >= n1) {
          v128.store(vals, i32x4.splat(0));
          v128.store(vals, i32x4.splat(0), 16);
          store<f32>(pb + 128 + (<usize>r << 2), 0);
          store<f32>(pb + 144 + (<usize>r << 2), 0);
          continue;
        }
        const wb = w + <usize>n * rowBytes + <usize>b * size;
        const q = v128.load(wb + qs);
        let l = v128.and(q, v128.load(NIB)), h = nibHi(q);
        if (five) {
          const qh = load<u32>(wb + (hasMin ? 4 : 2));
          l = v128.or(l, fifthBits(qh));
          h = v128.or(h, fifthBits(qh >> 16));
        }
        v128.store(vals, l);
        v128.store(vals, h, 16);
        store<f32>(pb + 128 + (<usize>r << 2), h2f(load<u16>(wb)));
        store<f32>(pb + 144 + (<usize>r << 2), hasMin ? h2f(load<u16>(wb, 2)) : 0);
      }
    }
  }
}

// Rows n0..n1 of a Q8_0 matrix (x4: repacked four rows a group, each block index holding the four rows'
// 34-byte blocks side by side; n0, n1 multiples of 4) into the panel; rows of the last group past n1 are
// zeros.
function packQ8(x4: bool, w: usize, rowBytes: i32, n0: i32, n1: i32, nb: i32, out: usize): void {
  for (let g = 0; g < (n1 - n0 + 3) >> 2; g++) {
    const dst = out + <usize>g * <usize>nb * P8;
    for (let r = 0; r < 4; r++) {
      const n = n0 + (g << 2) + r;
      for (let b = 0; b < nb; b++) {
        const pb = dst + <usize>b * P8;
        const vals = pb + (<usize>r << 6);
        if (n >= n1) {
          memory.fill(vals, 0, 64);
          store<f32>(pb + 256 + (<usize>r << 2), 0);
          continue;
        }
        const wb = x4
          ? w + <usize>(n >> 2) * (<usize>rowBytes << 2) + <usize>b * 136 + <usize>(n & 3) * 34
          : w + <usize>n * rowBytes + <usize>b * 34;
        const q0 = v128.load(wb, 2), q1 = v128.load(wb, 18);
        v128.store(vals, i16x8.extend_low_i8x16_s(q0));
        v128.store(vals, i16x8.extend_high_i8x16_s(q0), 16);
        v128.store(vals, i16x8.extend_low_i8x16_s(q1), 32);
        v128.store(vals, i16x8.extend_high_i8x16_s(q1), 48);
        store<f32>(pb + 256 + (<usize>r << 2), h2f(load<u16>(wb)));
      }
    }
  }
}

// Super-block wb of row r (Q4_K, or Q5_K when five) into panel block pb: each pair c of sub-blocks (2c, 2c+1;
// stored as one run of 32 bytes, low nibbles 2c, high 2c+1) with their byte pairs alternating (as
// quant_q8k_rows_kx4 orders the activations), then the scales and mins.
function packQ45K(wb: usize, r: i32, pb: usize, five: bool): void {
  unpackQ45K(wb + (five ? 48 : 16), 32, wb + 16, v128.load(wb, 4), load<u16>(wb), load<u16>(wb, 2), r, pb, five, false);
}

// Row r of the Q4K_X4/Q5K_X4 super-block group at g (quant.ts: d and dmin of the four rows at 2r and 8 + 2r,
// each row's three scale words split into 16-bit halves at 16 + 16k + 2r and 24 + 16k + 2r, Q5_K's high bits
// at 64 + 32r, the nibbles of pair c at 64 (Q5_K 192) + 128c + 32r, Q4_K's already in the panel's order)
// into panel block pb.
function packKx4(g: usize, r: i32, pb: usize, five: bool): void {
  const ro = <usize>r << 1;
  const u0 = <u32>load<u16>(g + 16 + ro) | (<u32>load<u16>(g + 24 + ro) << 16);
  const u1 = <u32>load<u16>(g + 32 + ro) | (<u32>load<u16>(g + 40 + ro) << 16);
  const u2 = <u32>load<u16>(g + 48 + ro) | (<u32>load<u16>(g + 56 + ro) << 16);
  const b = i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(<i32>u0), 1, <i32>u1), 2, <i32>u2);
  const qs = g + (five ? 192 : 64) + (<usize>r << 5);
  unpackQ45K(qs, 128, g + 64 + (<usize>r << 5), b, load<u16>(g + ro), load<u16>(g + 8 + ro), r, pb, five, !five);
}

// One row's Q4_K/Q5_K super-block into panel block pb: the nibbles of pair c at qs + c·cStride (mixed: in the
// panel's order already, low nibbles then high of each 16 bytes; else as stored: low nibbles sub-block 2c,
// high 2c+1), Q5_K's fifth bits at qh (32 bytes), the 12 scale bytes in the low lanes of sb, d and dmin as f16.
@inline function unpackQ45K(qs: usize, cStride: usize, qh: usize, sb: v128, dh: u16, mh: u16, r: i32, pb: usize, five: bool, mixed: bool): void {
  const vals = pb + (<usize>r << 8);
  for (let c = 0; c < 4; c++) {
    const q0 = v128.load(qs + <usize>c * cStride), q1 = v128.load(qs + <usize>c * cStride, 16);
    const v = vals + (<usize>c << 6);
    if (mixed) {
      v128.store(v, v128.and(q0, v128.load(NIB)));
      v128.store(v, v128.and(q1, v128.load(NIB)), 16);
      v128.store(v, nibHi(q0), 32);
      v128.store(v, nibHi(q1), 48);
      continue;
    }
    let j0 = v128.and(q0, v128.load(NIB)), j1 = v128.and(q1, v128.load(NIB));
    let k0 = nibHi(q0), k1 = nibHi(q1);
    if (five) {
      const x0 = v128.load(qh), x1 = v128.load(qh, 16);
      const sl: i32 = 1 << (2 * c), sh: i32 = 2 << (2 * c);
      const bl = i8x16.splat(<i8>sl), bh = i8x16.splat(<i8>sh);
      j0 = v128.or(j0, v128.and(i8x16.eq(v128.and(x0, bl), bl), i8x16.splat(16)));
      j1 = v128.or(j1, v128.and(i8x16.eq(v128.and(x1, bl), bl), i8x16.splat(16)));
      k0 = v128.or(k0, v128.and(i8x16.eq(v128.and(x0, bh), bh), i8x16.splat(16)));
      k1 = v128.or(k1, v128.and(i8x16.eq(v128.and(x1, bh), bh), i8x16.splat(16)));
    }
    v128.store(v, v128.shuffle<i16>(j0, k0, 0, 8, 1, 9, 2, 10, 3, 11));
    v128.store(v, v128.shuffle<i16>(j0, k0, 4, 12, 5, 13, 6, 14, 7, 15), 16);
    v128.store(v, v128.shuffle<i16>(j1, k1, 0, 8, 1, 9, 2, 10, 3, 11), 32);
    v128.store(v, v128.shuffle<i16>(j1, k1, 4, 12, 5, 13, 6, 14, 7, 15), 48);
  }
  // the 6-bit scales and mins from their 12 bytes b (llama.cpp's get_scale_min_k4) into i16 lanes j: scale
  // j < 4: b[j] & 63, j ≥ 4: (b[j+4] & 15) | (b[j-4] >> 6) << 4; min j < 4: b[j+4] & 63, j ≥ 4:
  // (b[j+4] >> 4) | (b[j] >> 6) << 4
  const top = v128.load(KSC, 64);
  const sc = v128.or(v128.and(v128.swizzle(sb, v128.load(KSC)), v128.load(KSC, 80)), i16x8.shr_u(v128.and(v128.swizzle(sb, v128.load(KSC, 16)), top), 2));
  const m = v128.swizzle(sb, v128.load(KSC, 32));
  const mn = v128.or(
    v128.or(v128.and(m, v128.load(KSC, 96)), i16x8.shr_u(v128.and(m, v128.load(KSC, 112)), 4)),
    i16x8.shr_u(v128.and(v128.swizzle(sb, v128.load(KSC, 48)), top), 2),
  );
  v128.store(pb + 1024 + (<usize>r << 4), sc);
  v128.store(pb + 1088 + (<usize>r << 4), mn);
  store<f32>(pb + 1152 + (<usize>r << 2), h2f(dh));
  store<f32>(pb + 1168 + (<usize>r << 2), h2f(mh));
}

// Super-block wb of row r (Q6_K: 6-bit values, 16 signed 8-bit group scales, f16 d) into panel block pb.
function packQ6K(wb: usize, r: i32, pb: usize): void {
  const vals = pb + (<usize>r << 8);
  for (let h = 0; h < 2; h++) {
    const ql = wb + (<usize>h << 6), qh = wb + 128 + (<usize>h << 5);
    const y = vals + (<usize>h << 7);
    q6Runs(v128.load(ql), v128.load(ql, 32), v128.load(qh), v128.load(ql, 16), v128.load(ql, 48), v128.load(qh, 16), y);
  }
  q6Scales(wb, r, pb);
}

// Super-block wb of row r of a Q6K_P matrix (quant.ts: the values permuted within the super-block into the
// panel's order, each 48 bytes holding four vectors, three in their low six bits and the fourth's bit pairs
// in their top two; scales and d as stored) into panel block pb.
function packQ6KP(wb: usize, r: i32, pb: usize): void {
  const vals = pb + (<usize>r << 8);
  for (let j = 0; j < 4; j++) {
    const p = wb + <usize>j * 48, v = vals + (<usize>j << 6);
    const x = v128.load(p), y = v128.load(p, 16), z = v128.load(p, 32);
    const six = v128.load(B6);
    v128.store(v, v128.and(x, six));
    v128.store(v, v128.and(y, six), 16);
    v128.store(v, v128.and(z, six), 32);
    const lo = v128.or(v128.and(i16x8.shr_u(x, 6), v128.load(B6, 16)), v128.and(i16x8.shr_u(y, 4), v128.load(B6, 32)));
    v128.store(v, v128.or(lo, v128.and(i16x8.shr_u(z, 2), v128.load(B6, 48))), 48);
  }
  q6Scales(wb, r, pb);
}

// Q6_K's 16 scales (sign-extended to i16) and d of row r into panel block pb.
@inline function q6Scales(wb: usize, r: i32, pb: usize): void {
  const sv = v128.load(wb, 192);
  v128.store(pb + 1024 + (<usize>r << 5), i16x8.extend_low_i8x16_s(sv));
  v128.store(pb + 1024 + (<usize>r << 5), i16x8.extend_high_i8x16_s(sv), 16);
  store<f32>(pb + 1152 + (<usize>r << 2), h2f(load<u16>(wb, 208)));
}

// One half of a Q6_K super-block (128 values: low bits L0, L1 and high bits H of its first 16 values a, of
// the next 16 b) as four 32-value runs at y, each with the byte pairs of its two 16-value groups
// alternating (as quant_q8k_rows_q6p orders the activations).
@inline function q6Runs(L0a: v128, L1a: v128, Ha: v128, L0b: v128, L1b: v128, Hb: v128, y: usize): void {
  const lo = v128.load(NIB), hm = i8x16.splat(0x30);
  q6Run(v128.or(v128.and(L0a, lo), v128.and(i16x8.shl(Ha, 4), hm)), v128.or(v128.and(L0b, lo), v128.and(i16x8.shl(Hb, 4), hm)), y);
  q6Run(v128.or(v128.and(L1a, lo), v128.and(i16x8.shl(Ha, 2), hm)), v128.or(v128.and(L1b, lo), v128.and(i16x8.shl(Hb, 2), hm)), y + 32);
  q6Run(v128.or(nibHi(L0a), v128.and(Ha, hm)), v128.or(nibHi(L0b), v128.and(Hb, hm)), y + 64);
  q6Run(v128.or(nibHi(L1a), v128.and(i16x8.shr_u(Ha, 2), hm)), v128.or(nibHi(L1b), v128.and(i16x8.shr_u(Hb, 2), hm)), y + 96);
}

@inline function q6Run(a: v128, b: v128, y: usize): void {
  v128.store(y, v128.shuffle<i16>(a, b, 0, 8, 2, 10, 4, 12, 6, 14));
  v128.store(y, v128.shuffle<i16>(a, b, 1, 9, 3, 11, 5, 13, 7, 15), 16);
}

// Rows n0..n1 of a K-quant matrix (as stored) into the panel; rows of the last group past n1 are zeros.
function packK(type: i32, w: usize, rowBytes: i32, n0: i32, n1: i32, nsb: i32, out: usize): void {
  const six = type == Q6_K || type == Q6K_P;
  const pbs: usize = six ? P6K : P4K;
  const sbBytes: usize = six ? 210 : type == Q5_K || type == Q5K_X4 ? 176 : 144;
  if (type == Q4K_X4 || type == Q5K_X4) {
    // four rows a group (n0 and n1 multiples of 4), super-block b of the group at 4·b·sbBytes
    for (let g = 0; g < (n1 - n0) >> 2; g++) {
      const src = w + <usize>((n0 >> 2) + g) * (<usize>rowBytes << 2), dst = out + <usize>g * <usize>nsb * pbs;
      for (let b = 0; b < nsb; b++) {
        for (let r = 0; r < 4; r++) packKx4(src + <usize>b * (sbBytes << 2), r, dst + <usize>b * pbs, type == Q5K_X4);
      }
    }
    return;
  }
  for (let g = 0; g < (n1 - n0 + 3) >> 2; g++) {
    const dst = out + <usize>g * <usize>nsb * pbs;
    for (let r = 0; r < 4; r++) {
      const n = n0 + (g << 2) + r;
      for (let b = 0; b < nsb; b++) {
        const pb = dst + <usize>b * pbs;
        if (n >= n1) {
          memory.fill(pb + (<usize>r << 8), 0, 256);
          if (six) {
            memory.fill(pb + 1024 + (<usize>r << 5), 0, 32);
            store<f32>(pb + 1152 + (<usize>r << 2), 0);
          } else {
            memory.fill(pb + 1024 + (<usize>r << 4), 0, 16);
            memory.fill(pb + 1088 + (<usize>r << 4), 0, 16);
            store<f32>(pb + 1152 + (<usize>r << 2), 0);
            store<f32>(pb + 1168 + (<usize>r << 2), 0);
          }
          continue;
        }
        const wb = w + <usize>n * rowBytes + <usize>b * sbBytes;
        if (type == Q6K_P) packQ6KP(wb, r, pb);
        else if (type == Q6_K) packQ6K(wb, r, pb);
        else packQ45K(wb, r, pb, type == Q5_K);
      }
    }
  }
}

// ---- tiles: one activation row against four weight rows, lane r = row r ----

// The 32-value formats: per block Σ q·a in integers, minus the offset (Q4_0 8, Q5_0 16: shift 3 or 4) times
// Σ a, then one multiply by d_w·d_a; Q4_1/Q5_1 (no offset) add m_w·d_a·Σa.
@inline function tile32(ar: usize, pg: usize, nb: i32, five: bool, hasMin: bool): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const ab = ar + <usize>b * QA, wb = pg + <usize>b * P32;
    const a0 = v128.load(ab, 8), a1 = v128.load(ab, 24);
    const p0 = i16x8.add(dot16(a0, v128.load(wb)), dot16(a1, v128.load(wb, 16)));
    const p1 = i16x8.add(dot16(a0, v128.load(wb, 32)), dot16(a1, v128.load(wb, 48)));
    const p2 = i16x8.add(dot16(a0, v128.load(wb, 64)), dot16(a1, v128.load(wb, 80)));
    const p3 = i16x8.add(dot16(a0, v128.load(wb, 96)), dot16(a1, v128.load(wb, 112)));
    let t = five ? red4x16w(p0, p1, p2, p3) : red4x16(p0, p1, p2, p3);
    if (!hasMin) t = i32x4.sub(t, i32x4.shl(v128.load32_splat(ab, 4), five ? 4 : 3));
    const da = v128.load32_splat(ab);
    acc = fma(f32x4.convert_i32x4_s(t), f32x4.mul(v128.load(wb, 128), da), acc);
    if (hasMin) acc = fma(v128.load(wb, 144), f32x4.mul(da, f32x4.convert_i32x4_s(v128.load32_splat(ab, 4))), acc);
  }
  return acc;
}

// Q8_0: signed bytes on both sides, so the values are widened to i16 (the byte dot takes one operand of 7
// bits) and multiplied in pairs into i32 lanes (8 products a lane, exact); per block the sum in integers,
// then one multiply-add by d_w·d_a per row, as the Q8_0 decode kernels and llama.cpp's vec_dot_q8_0_q8_0.
// The rows are a loop (V8 moves a block's loads ahead and would spill); p0..p3 rotate, ending as rows 0..3.
@inline function tileQ8(ar: usize, pg: usize, nb: i32): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const ab = ar + <usize>b * QA, wb = pg + <usize>b * P8;
    const x = v128.load(ab, 8), y = v128.load(ab, 24);
    const a0 = i16x8.extend_low_i8x16_s(x), a1 = i16x8.extend_high_i8x16_s(x);
    const a2 = i16x8.extend_low_i8x16_s(y), a3 = i16x8.extend_high_i8x16_s(y);
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    for (let r = 0; r < 4; r++) {
      const w = wb + (<usize>r << 6);
      const p = i32x4.add(
        i32x4.add(i32x4.dot_i16x8_s(a0, v128.load(w)), i32x4.dot_i16x8_s(a1, v128.load(w, 16))),
        i32x4.add(i32x4.dot_i16x8_s(a2, v128.load(w, 32)), i32x4.dot_i16x8_s(a3, v128.load(w, 48))),
      );
      p0 = p1;
      p1 = p2;
      p2 = p3;
      p3 = p;
    }
    acc = fma(f32x4.convert_i32x4_s(red4x32(p0, p1, p2, p3)), f32x4.mul(v128.load(wb, 256), v128.load32_splat(ab)), acc);
  }
  return acc;
}

@inline function fma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

// Q4_K/Q5_K: per super-block Σ_j scale_j·(q·a)_j and Σ_j min_j·(Σa)_j in integers, then d·d_a and
// dmin·d_a in float (llama.cpp's ggml_vec_dot_q4_K_q8_K). Each pair of sub-blocks: a row's four byte dots
// add into i16 lanes alternating between sub-blocks 2c and 2c+1 (8 products each, at most 8·128·31 =
// 31744), then one multiply-add by the scale pair. The rows are a loop (V8 moves a basic block's loads
// ahead of its arithmetic: four rows' 20 vectors at once would spill); s0..s3 rotate, ending as rows 0..3.
@inline function tileQ45K(ar: usize, pg: usize, nsb: i32): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const ab = ar + <usize>b * QK, wb = pg + <usize>b * P4K;
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
    for (let c = 0; c < 4; c++) {
      const ap = ab + KI8 + (<usize>c << 6);
      const a0 = v128.load(ap), a1 = v128.load(ap, 16), a2 = v128.load(ap, 32), a3 = v128.load(ap, 48);
      let w = wb + (<usize>c << 6), sc = wb + 1024 + (<usize>c << 2);
      for (let r = 0; r < 4; r++) {
        const p = i16x8.add(
          i16x8.add(dot16(a0, v128.load(w)), dot16(a1, v128.load(w, 16))),
          i16x8.add(dot16(a2, v128.load(w, 32)), dot16(a3, v128.load(w, 48))),
        );
        const t = i32x4.add(s0, i32x4.dot_i16x8_s(p, v128.load32_splat(sc)));
        s0 = s1;
        s1 = s2;
        s2 = s3;
        s3 = t;
        w += 256;
        sc += 16;
      }
    }
    const bs = v128.load(ab + KS32);
    const mn = red4x32(
      i32x4.dot_i16x8_s(v128.load(wb, 1088), bs),
      i32x4.dot_i16x8_s(v128.load(wb, 1104), bs),
      i32x4.dot_i16x8_s(v128.load(wb, 1120), bs),
      i32x4.dot_i16x8_s(v128.load(wb, 1136), bs),
    );
    const da = v128.load32_splat(ab);
    acc = f32x4.add(
      acc,
      f32x4.sub(
        f32x4.mul(f32x4.convert_i32x4_s(red4x32(s0, s1, s2, s3)), f32x4.mul(v128.load(wb, 1152), da)),
        f32x4.mul(f32x4.convert_i32x4_s(mn), f32x4.mul(v128.load(wb, 1168), da)),
      ),
    );
  }
  return acc;
}

// Σ over 32 values of row r's 6-bit weights against a0, a1 (in the panel's order): even i16 lanes sum one
// 16-value group, odd lanes the next (at most 4·128·63 = 32256 each), before one multiply by their scales.
@inline function k6(a0: v128, a1: v128, v: usize, sc: usize, r: usize, s: v128): v128 {
  const p = i16x8.add(dot16(a0, v128.load(v + (r << 8))), dot16(a1, v128.load(v + (r << 8), 16)));
  return i32x4.add(s, i32x4.dot_i16x8_s(p, v128.load32_splat(sc + (r << 5))));
}

// Q6_K: Σ_g scale_g·(q·a)_g − 32·Σ_g scale_g·(Σa)_g in integers per super-block, then d·d_a
// (llama.cpp's ggml_vec_dot_q6_K_q8_K).
@inline function tileQ6K(ar: usize, pg: usize, nsb: i32): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const ab = ar + <usize>b * QK, wb = pg + <usize>b * P6K;
    let s0 = i32x4.splat(0), s1 = i32x4.splat(0), s2 = i32x4.splat(0), s3 = i32x4.splat(0);
    for (let j = 0; j < 8; j++) {
      const a0 = v128.load(ab + KI8 + (<usize>j << 5)), a1 = v128.load(ab + KI8 + (<usize>j << 5), 16);
      let v = wb + (<usize>j << 5), sc = wb + 1024 + (<usize>j << 2);
      // two rows a step (all four as one block would load 12 vectors ahead and spill); s0..s3 end as rows 0..3
      for (let i = 0; i < 2; i++) {
        const t0 = k6(a0, a1, v, sc, 0, s0);
        const t1 = k6(a0, a1, v, sc, 1, s1);
        s0 = s2;
        s1 = s3;
        s2 = t0;
        s3 = t1;
        v += 512;
        sc += 64;
      }
    }
    const b0 = v128.load(ab + KS16), b1 = v128.load(ab + KS16, 16);
    const corr = red4x32(
      i32x4.add(i32x4.dot_i16x8_s(v128.load(wb, 1024), b0), i32x4.dot_i16x8_s(v128.load(wb, 1040), b1)),
      i32x4.add(i32x4.dot_i16x8_s(v128.load(wb, 1056), b0), i32x4.dot_i16x8_s(v128.load(wb, 1072), b1)),
      i32x4.add(i32x4.dot_i16x8_s(v128.load(wb, 1088), b0), i32x4.dot_i16x8_s(v128.load(wb, 1104), b1)),
      i32x4.add(i32x4.dot_i16x8_s(v128.load(wb, 1120), b0), i32x4.dot_i16x8_s(v128.load(wb, 1136), b1)),
    );
    const t = i32x4.sub(red4x32(s0, s1, s2, s3), i32x4.shl(corr, 5));
    acc = f32x4.add(acc, f32x4.mul(f32x4.convert_i32x4_s(t), f32x4.mul(v128.load(wb, 1152), v128.load32_splat(ab))));
  }
  return acc;
}

// Lanes 0..cnt−1 of v into c (added to what is there when add).
@inline function storeRow(c: usize, v: v128, cnt: i32, add: bool): void {
  if (cnt == 4) {
    v128.store(c, add ? f32x4.add(v128.load(c), v) : v);
    return;
  }
  const t = memory.data(16);
  v128.store(t, v);
  for (let i = 0; i < cnt; i++) {
    const p = c + (<usize>i << 2);
    store<f32>(p, add ? load<f32>(p) + load<f32>(t + (<usize>i << 2)) : load<f32>(t + (<usize>i << 2)));
  }
}

/**
 * C[m0..m1, n0..n1] (+)= A·Wᵀ for a Q4_0X4, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0X4, Q8_0, Q4K_X4, Q5K_X4, Q4_K,
 * Q5_K, Q6K_P or Q6_K matrix against activation rows aq quantised by quant_q8_rows (the 32-value formats),
 * quant_q8k_rows_kx4 (Q4_K, Q5_K in either layout) or quant_q8k_rows_q6p (Q6_K). Weight rows are unpacked P
 * at a time (P a multiple of 4; n0 too, and for the four-row layouts n1) into scratch (P/4 · qg_panel_bytes
 * bytes).
 */
export function mmq_abt(type: i32, aq: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32, scratch: usize, P: i32): void {
  const add = accumulate != 0;
  const kq = type == Q4_K || type == Q5_K || type == Q6_K || type == Q4K_X4 || type == Q5K_X4 || type == Q6K_P;
  const nb = kq ? K >> 8 : K >> 5;
  const stride: usize = kq ? <usize>nb * QK : <usize>nb * (QA + 8);
  const gBytes = <usize>qg_panel_bytes(type, K);
  for (let pb = n0; pb < n1; pb += P) {
    const pe = min(pb + P, n1);
    if (kq) packK(type, w, rowBytes, pb, pe, nb, scratch);
    else if (type == Q4_0X4) packQ4_0x4(w, rowBytes, pb >> 2, pe >> 2, nb, scratch);
    else if (type == Q8_0 || type == Q8_0X4) packQ8(type == Q8_0X4, w, rowBytes, pb, pe, nb, scratch);
    else pack32(type, w, rowBytes, pb, pe, nb, scratch);
    for (let m = m0; m < m1; m++) {
      const ar = aq + <usize>m * stride;
      for (let n = pb; n < pe; n += 4) {
        const pg = scratch + <usize>((n - pb) >> 2) * gBytes;
        let v: v128;
        if (type == Q4_0X4 || type == Q4_0) v = tile32(ar, pg, nb, false, false);
        else if (type == Q5_0) v = tile32(ar, pg, nb, true, false);
        else if (type == Q4_1) v = tile32(ar, pg, nb, false, true);
        else if (type == Q5_1) v = tile32(ar, pg, nb, true, true);
        else if (type == Q8_0 || type == Q8_0X4) v = tileQ8(ar, pg, nb);
        else if (type == Q6_K || type == Q6K_P) v = tileQ6K(ar, pg, nb);
        else v = tileQ45K(ar, pg, nb);
        storeRow(c + ((<usize>m * ldc + n) << 2), v, min(4, pe - n), add);
      }
    }
  }
}
