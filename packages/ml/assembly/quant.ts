// Matmuls whose weights stay in their GGUF storage format (F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K,
// Q5_K, Q6_K), the layouts llama.cpp uses. Weight rows are [N][rowBytes]; C[m,n] (+)= A[m,:] · W[n,:].
// Decode-sized calls dot straight from the packed blocks: floats for F16/BF16, and for the block
// quantisations 8-bit integer dots against activations quantised as llama.cpp's vec_dot kernels do:
// per 32 values (quant_q8_rows, block_q8_0) for the 32-value formats, per 256 (quant_q8k_rows,
// block_q8_K) for the K-quants. Large calls (prefill, backward) dequantise panels of rows into a
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
// Not ggml types: matrices repacked at load so that four rows' blocks lie side by side and the decode
// kernels read four rows as one sequential stream. Q4_0X4 groups the four scales, then the four rows'
// nibbles (repack_q4_0x4); Q8_0 (108) interleaves whole blocks (repack_rows4); Q4_K and Q5_K (112, 113)
// their super-blocks with the scale bytes and nibbles regrouped (repack_q45k_x4).
const Q4_0X4: i32 = 102;
// Q6_K with each super-block's 6-bit values permuted at load (repack_q6k_p, in place, same size; relaxed build
// only), decoded against activations permuted to match (quant_q8k_rows_q6p).
const Q6K_P: i32 = 214;
// Q4_K / Q5_K with four rows' super-blocks interleaved (repack_q45k_x4, in place, same size; relaxed build only),
// decoded four rows a pass (dotQ4Kx4, dotQ45Kx4).
const Q4K_X4: i32 = 112;
const Q5K_X4: i32 = 113;
const ROWS4: i32 = 100;
// Flag on mmd_q's type: the matrix passed decode_scan (see there).
const CLEAN: i32 = 0x1000;

// A quantised activation block: f32 scale, i32 sum of the 32 values, the 32 values as i8 (at AI8). The
// plain build and Q8_0 weights widen them to i16 in registers (a signed-by-signed byte dot needs sign
// juggling that costs what it saves). Kept compact, 40 bytes: a long row's activations then stay in L1
// beside the weight stream (with an i16 copy of each block, 104 bytes, a 1536x8960 Q4_0 matrix streamed
// from memory decoded at 11 GB/s instead of 18).
// A row of nb blocks is followed by the nb scales (f32) and then the nb sums (i32) again, contiguous, so
// the dot kernels load four blocks' scales or sums with one vector load.
const QA: i32 = 40;

// Byte masks kept in memory: V8 (Node 20) builds a v128 constant from immediates at every use (three
// instructions, and binaryen copies a constant to each use), a load from here is one.
const NIB: usize = memory.data<u8>([15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15, 15], 16);
const HI2: usize = memory.data<u8>([48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48], 16);
const AI8: usize = 8;

/** Bytes of a quantised activation row per 32 values (the engine sizes quant_q8_rows' output by it). */
export function q8_block_bytes(): i32 {
  return QA + 8;
}

// Where the scales of a quantised activation row of nb blocks start (its sums follow at + nb·4).
@inline function rowScales(a: usize, nb: i32): usize {
  return a + <usize>nb * QA;
}

// f16 to f32 with no subnormal f32 on the way. Rescaling the shifted bits by 2^112 (h2f4) is one
// multiply, but for an f16 subnormal that multiply reads a subnormal f32, which costs this CPU a
// microcode assist of the order of a hundred cycles: block scales are often f16 subnormals (Q4_K/Q6_K
// super-block scales of small weights, below 6.1e-5), and one per block made those dots 2.5x slower.
// Here normals are rebased in integers and subnormals are their mantissa · 2^-24, both exact.
@inline export function h2f(h: u32): f32 {
  const a = h & 0x7fff;
  const f = a >= 0x400 ? reinterpret<f32>((a << 13) + 0x38000000) : <f32>a * reinterpret<f32>(0x33800000);
  return reinterpret<f32>(reinterpret<u32>(f) | ((h & 0x8000) << 16));
}

// As h2f for four f16 values sign-extended into i32 lanes (block scales).
@inline function h2f4x(h: v128): v128 {
  const a = v128.and(h, i32x4.splat(0x7fff));
  const normal = i32x4.add(i32x4.shl(a, 13), i32x4.splat(0x38000000));
  const sub = f32x4.mul(f32x4.convert_i32x4_s(a), f32x4.splat(reinterpret<f32>(0x33800000)));
  const f = v128.bitselect(sub, normal, i32x4.lt_s(a, i32x4.splat(0x400)));
  return v128.or(f, v128.and(h, i32x4.splat(0x80000000)));
}

@inline function h2f4(h: v128): v128 {
  const f = f32x4.mul(i32x4.shl(v128.and(h, i32x4.splat(0x7fff)), 13), f32x4.splat(reinterpret<f32>(0x77800000)));
  return v128.or(f, i32x4.shl(v128.and(h, i32x4.splat(0x8000)), 16));
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

// Σ a·w over 16 values: a at ap and w as signed bytes, widened to i16; added to acc (i32x4 lanes).
@inline function dotA(ap: usize, w: v128, acc: v128): v128 {
  const x = v128.load(ap);
  acc = i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_s(x), i16x8.extend_low_i8x16_s(w)));
  return i32x4.add(acc, i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_s(x), i16x8.extend_high_i8x16_s(w)));
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
  return dotA(ab + AI8 + 16, l1, dotA(ab + AI8, l0, i32x4.splat(0)));
}

// The block scale as llama.cpp stores it in block_q8_0: rounded to f16 precision (11 significant bits).
@inline function roundScale(d: f32): f32 {
  return reinterpret<f32>((reinterpret<u32>(d) + 0x1000) & ~0x1fff);
}

// 1/d, or 0 where that is not finite: a block whose largest value is below about 3.7e-37 (1/d overflows)
// quantises to zeros and adds nothing, as in llama.cpp, whose f16 scale is 0 there; 0·inf would make
// its zero lanes NaN.
@inline function inverseScale(d: f32): f32 {
  const inv: f32 = 1 / d;
  return d != 0 && isFinite<f32>(inv) ? inv : 0;
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
      const id = f32x4.splat(inverseScale(d));
      for (let i = 0; i < 8; i++) {
        const o = <usize>i << 4;
        v128.store(op + o, f32x4.mul(f32x4.nearest(f32x4.mul(v128.load(xp + o), id)), dv));
      }
    }
  }
}

const ROUND_F: usize = memory.data<f32>([12582912, 12582912, 12582912, 12582912], 16);
const ROUND_I: usize = memory.data<i32>([0x4b400000, 0x4b400000, 0x4b400000, 0x4b400000], 16);

// Lanes of v (|v| < 2^22) rounded to the nearest integer, ties to even, as i32: adding 1.5·2^23 leaves the
// integer in the low mantissa bits. Two operations where f32x4.nearest and i32x4.trunc_sat_f32x4_s take
// about ten on x86 (the saturating conversion is emulated); the same values. NaN lanes give garbage, but
// their block's scale is NaN too (f32x4.max propagates it), so the dots stay NaN; an infinite value
// makes the scale infinite and the inverse 0, so the dots are inf·0 = NaN as in llama.cpp.
@inline function roundI32(v: v128): v128 {
  return i32x4.sub(f32x4.add(v, v128.load(ROUND_F)), v128.load(ROUND_I));
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
      const id = f32x4.splat(inverseScale(d));
      const ob = orow + <usize>b * QA;
      let s = i32x4.splat(0);
      for (let i = 0; i < 2; i++) {
        const p = xp + (<usize>i << 6);
        const q0 = roundI32(f32x4.mul(v128.load(p), id));
        const q1 = roundI32(f32x4.mul(v128.load(p, 16), id));
        const q2 = roundI32(f32x4.mul(v128.load(p, 32), id));
        const q3 = roundI32(f32x4.mul(v128.load(p, 48), id));
        s = i32x4.add(s, i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
        v128.store(ob + AI8 + (<usize>i << 4), i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
      }
      const sum = ihsum(s);
      store<f32>(ob, d);
      store<i32>(ob, sum, 4);
      store<f32>(ds + (<usize>b << 2), d);
      store<i32>(ds + (<usize>(nb + b) << 2), sum);
    }
  }
}

// A Q8_K activation block (llama.cpp's block_q8_K, which its K-quant dots use): 256 values with one f32
// scale at 0; at KS16 the sums of each 16 values (i16), at KS32 of each 32 (i16); the values as i8 at KI8
// (widened in registers by the plain build). One scale per 256 values lets the dot kernels sum a whole
// super-block in integers before the one float multiply, as llama.cpp does.
const QK: i32 = 320;
const KS16: usize = 16;
const KS32: usize = 48;
const KI8: usize = 64;

/** Bytes of a Q8_K activation row per 256 values (the engine sizes quant_q8k_rows' output by it). */
export function q8k_block_bytes(): i32 {
  return QK;
}

// llama.cpp's quantize_row_q8_K scale: the first value of largest magnitude maps to −127. Returns
// iscale = −127/that value (0 for an all-zero block). The largest magnitude is found on the bits of |x| as
// unsigned integers (their order for non-negative floats; a NaN's bits exceed every other, so a NaN still
// makes the scale NaN), one instruction where f32x4.max takes several in V8, and the first value with those
// bits by a vector compare per four values: 1.74 -> 0.46 us a 1536-value row (the same scales).
const ABS: usize = memory.data<i32>([0x7fffffff, 0x7fffffff, 0x7fffffff, 0x7fffffff], 16);
@inline function kBlockIscale(xp: usize): f32 {
  const m = v128.load(ABS);
  let amax = i32x4.splat(0);
  for (let i = 0; i < 64; i++) amax = i32x4.max_u(amax, v128.and(v128.load(xp + (<usize>i << 4)), m));
  amax = i32x4.max_u(amax, v128.shuffle<i32>(amax, amax, 2, 3, 0, 1));
  amax = i32x4.max_u(amax, v128.shuffle<i32>(amax, amax, 1, 0, 3, 2));
  const am = i32x4.extract_lane(amax, 0);
  if (am == 0) return 0;
  let mx = reinterpret<f32>(am);
  for (let i = 0; i < 64; i++) {
    const p = xp + (<usize>i << 4);
    const hit = i8x16.bitmask(i32x4.eq(v128.and(v128.load(p), m), amax));
    if (hit) {
      mx = load<f32>(p + (<usize>ctz(hit) & ~3));
      break;
    }
  }
  return <f32>-127 / mx;
}

// Four lanes of x·iscale rounded to the nearest integer (ties to even), at most 127.
@inline function q8kLanes(p: usize, iv: v128): v128 {
  return i32x4.min_s(roundI32(f32x4.mul(v128.load(p), iv)), i32x4.splat(127));
}

/** Quantises rows m0..m1 of x[M, K] (K a multiple of 256) to Q8_K blocks (the K-quants' activations). */
export function quant_q8k_rows(x: usize, ldx: i32, K: i32, out: usize, m0: i32, m1: i32): void {
  const nsb = K >> 8;
  for (let m = m0; m < m1; m++) {
    const xr = x + ((<usize>m * ldx) << 2);
    const orow = out + <usize>m * nsb * QK;
    for (let b = 0; b < nsb; b++) {
      const xp = xr + (<usize>b << 10);
      const ob = orow + <usize>b * QK;
      const is = kBlockIscale(xp);
      const iv = f32x4.splat(is);
      store<f32>(ob, is != 0 ? 1 / is : 0);
      let prev: i32 = 0;
      for (let g = 0; g < 16; g++) {
        const p = xp + (<usize>g << 6);
        const q0 = q8kLanes(p, iv), q1 = q8kLanes(p + 16, iv), q2 = q8kLanes(p + 32, iv), q3 = q8kLanes(p + 48, iv);
        v128.store(ob + KI8 + (<usize>g << 4), i8x16.narrow_i16x8_s(i16x8.narrow_i32x4_s(q0, q1), i16x8.narrow_i32x4_s(q2, q3)));
        const s = ihsum(i32x4.add(i32x4.add(q0, q1), i32x4.add(q2, q3)));
        store<i16>(ob + KS16 + (<usize>g << 1), <i16>s);
        if (g & 1) store<i16>(ob + KS32 + (<usize>(g >> 1) << 1), <i16>(prev + s));
        else prev = s;
      }
    }
  }
}

/**
 * Rows m0..m1 of x[M, K] rounded through Q8_K blocks (K a multiple of 256), into out: the activation
 * rounding of the K-quants for the dequantised-panel path.
 */
export function round_q8k_rows(x: usize, ldx: i32, K: i32, out: usize, m0: i32, m1: i32): void {
  const nsb = K >> 8;
  for (let m = m0; m < m1; m++) {
    const xr = x + ((<usize>m * ldx) << 2);
    const orow = out + ((<usize>m * K) << 2);
    for (let b = 0; b < nsb; b++) {
      const xp = xr + (<usize>b << 10);
      const op = orow + (<usize>b << 10);
      const is = kBlockIscale(xp);
      const iv = f32x4.splat(is);
      const dv = f32x4.splat(is != 0 ? 1 / is : 0);
      for (let i = 0; i < 64; i++) {
        const o = <usize>i << 4;
        v128.store(op + o, f32x4.mul(f32x4.convert_i32x4_s(q8kLanes(xp + o, iv)), dv));
      }
    }
  }
}

@inline function finish(c: usize, add: bool, s: f32): void {
  store<f32>(c, add ? load<f32>(c) + s : s);
}

// Activation rows for mmd_f16: each row of K values scaled by 2^e, after a 16-byte header holding
// 2^-(e-112) at 0. The F16 decode moves each weight's bits into f32 position (sign, then exponent and
// mantissa shifted by 13) and skips the rebasing multiply by 2^112: the activations carry it instead.
// e is 112 unless that would overflow (|x| >= 2^15): power-of-two scalings are exact, so the sums equal
// those of the rebased weights times the activations, bit for bit.
export function f16_act_rows(x: usize, ldx: i32, K: i32, out: usize, m0: i32, m1: i32): void {
  const kv = K & ~3;
  for (let m = m0; m < m1; m++) {
    const xr = x + ((<usize>m * ldx) << 2);
    const orow = out + ((<usize>m * (K + 4)) << 2);
    let amax = f32x4.splat(0);
    // pmax is one instruction (max is NaN-exact, several); a NaN missed here still reaches the sums
    for (let k = 0; k < kv; k += 4) amax = f32x4.pmax(amax, f32x4.abs(v128.load(xr + (<usize>k << 2))));
    let mx = max(max(f32x4.extract_lane(amax, 0), f32x4.extract_lane(amax, 1)), max(f32x4.extract_lane(amax, 2), f32x4.extract_lane(amax, 3)));
    for (let k = kv; k < K; k++) mx = max(mx, abs(load<f32>(xr + (<usize>k << 2))));
    // unbiased exponent of the largest value (x < 2^(ex+1)); the scaled values stay below 2^127
    const ex = <i32>((reinterpret<u32>(mx) >> 23) & 255) - 127;
    const e = min(112, 126 - ex);
    const sv = f32x4.splat(reinterpret<f32>(<u32>(e + 127) << 23));
    const vr = orow + 16;
    for (let k = 0; k < kv; k += 4) v128.store(vr + (<usize>k << 2), f32x4.mul(v128.load(xr + (<usize>k << 2)), sv));
    for (let k = kv; k < K; k++) store<f32>(vr + (<usize>k << 2), load<f32>(xr + (<usize>k << 2)) * f32x4.extract_lane(sv, 0));
    store<f32>(orow, reinterpret<f32>(<u32>(112 - e + 127) << 23));
  }
}

const F16BITS: usize = memory.data<u32>([0x8fffe000, 0x8fffe000, 0x8fffe000, 0x8fffe000], 16);
const F16HI: usize = memory.data<u16>([0x8fff, 0x8fff, 0x8fff, 0x8fff, 0x8fff, 0x8fff, 0x8fff, 0x8fff], 16);

// mmd_f16 reads each f16 h as the f32 with h's sign and h's other bits shifted left by 13: the value
// times 2^-112 (its activations carry the 2^112). For eight f16 values, f16top gives the high 16 bits of
// those f32 lanes (sign, then h's bits 14-3) and i16x8.shl(h, 13) the low 16 (h's bits 2-0 at the top);
// f16lo / f16hi interleave them into lanes 0-3 / 4-7: five operations per eight values where moving each
// into the high half of an i32 lane and shifting that took six.
@inline function f16top(h: v128): v128 {
  return v128.and(i16x8.shr_s(h, 3), v128.load(F16HI));
}

@inline function f16lo(top: v128, bot: v128): v128 {
  return v128.shuffle<i16>(bot, top, 0, 8, 1, 9, 2, 10, 3, 11);
}

@inline function f16hi(top: v128, bot: v128): v128 {
  return v128.shuffle<i16>(bot, top, 4, 12, 5, 13, 6, 14, 7, 15);
}

// F16 matrices with rows longer than 4096 values are rearranged at load (repack_f16_panels, in place, same
// bytes) for mmd_f16: each block of F16P_ROWS rows holds its columns in panels (f16PanelCols wide), panel
// after panel, each panel row-major. The kernel then runs a block's rows over one panel at a time, so the
// panel's activations stay in L1 while the weights still stream in order. A stored row that long does not:
// its f32 activations (twice its bytes) fall out of L1 beside the weight stream, and their refills from L2
// cut the stream from memory to 10-17 GB/s per CPU second (1536x8960, 896x4864) where rows whose
// activations stay in L1 read 25-27; reading panels of the stored rows instead breaks the stream (8 GB/s).
const F16P: i32 = 201;
const F16P_ROWS: i32 = 128;

// Panel width for K columns: K in equal panels of at most 2432 values, rounded up to a multiple of 16 so
// that every panel but the last ends on a 16-value step (1500-2500 measured alike; 4096 bytes of weights
// a row-piece, 2048 values, sometimes 15% slower).
@inline function f16PanelCols(K: i32): i32 {
  const np = (K + 2431) / 2432;
  return ((K + np - 1) / np + 15) & ~15;
}

/**
 * C[m,n] (+)= A·Wᵀ for F16 weights (`type` F16: rows as stored; F16P: in panels, see repack_f16_panels)
 * against activation rows prepared by f16_act_rows (row stride K + 4). For F16P the four sums of each
 * output carry over from panel to panel through this call's own `sums` (64 bytes an output value of the
 * block being run, so sumsBytes >= F16P_ROWS·(m1 - m0)·64; less traps), so every output gets the same
 * multiply-adds in the same order as from the stored rows, bit for bit.
 */
export function mmd_f16(type: i32, a: usize, w: usize, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32, sums: usize, sumsBytes: i32): void {
  const pc = type == F16P ? f16PanelCols(K) : K;
  const M = m1 - m0;
  if (type == F16P && sumsBytes < F16P_ROWS * M * 64) unreachable();
  const add = accumulate != 0;
  const step = (<usize>(K + 4)) << 2;
  for (let first = n0 - n0 % F16P_ROWS; first < n1; first += F16P_ROWS) {
    const bw = w + ((<usize>first * K) << 1);
    const r0 = max(n0, first), r1 = min(n1, first + F16P_ROWS);
    for (let p = 0; p < K; p += pc) {
      const pw = min(pc, K - p);
      const last = p + pw == K;
      const pb = bw + ((<usize>F16P_ROWS * p) << 1);
      // the rows' pieces in runs of about F16_RUN_BYTES: a run streams from memory for the first pair of
      // activation rows and from L2 for the others, so each pass holds only two rows' activations in L1
      // (all rows at once for every weight row: 4 rows at 896x4864 took 0.36 ms a row where 2 took 0.23)
      const run = max(4, F16_RUN_BYTES / (pw << 1));
      for (let g0 = r0; g0 < r1; g0 += run) {
        const g1 = min(r1, g0 + run);
        let m = m0;
        // rows in pairs (f16Pair: each eight weights converted once for both), then one row on its own
        for (; m + 1 < m1; m += 2) {
          const am = a + <usize>m * step;
          for (let n = g0; n < g1; n++) {
            const wr = pb + ((<usize>(n - first) * pw) << 1);
            const sp = sums + (<usize>((n - first) * M + m - m0) << 6);
            f16Pair(wr, am, step, p, pw, last, sp, c + ((<usize>m * ldc + n) << 2), <usize>ldc << 2, add);
          }
        }
        if (m < m1) {
          const am = a + <usize>m * step;
          for (let n = g0; n < g1; n++) {
            const wr = pb + ((<usize>(n - first) * pw) << 1);
            const sp = sums + (<usize>((n - first) * M + m - m0) << 6);
            f16Row(wr, am, p, pw, last, sp, c + ((<usize>m * ldc + n) << 2), add);
          }
        }
      }
    }
  }
}

// Bytes of weights one pass of mmd_f16 runs all activation rows over (stays in L2).
const F16_RUN_BYTES: i32 = 131072;

// One activation row (header at hdr, values from column p) against pw weights at wr, its four sums carried in
// and out at sp unless p is 0 (in) or `last` (out: the row's dot, scaled by the header, (+)= into cp).
@inline function f16Row(wr: usize, hdr: usize, p: i32, pw: i32, last: bool, sp: usize, cp: usize, add: bool): void {
  const ar = hdr + 16 + (<usize>p << 2);
  const k16 = pw & ~15, kv = pw & ~7;
  // four independent sums over 16 values a step, so the multiply-adds overlap
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  if (p > 0) {
    s0 = v128.load(sp);
    s1 = v128.load(sp, 16);
    s2 = v128.load(sp, 32);
    s3 = v128.load(sp, 48);
  }
  let k = 0;
  for (; k < k16; k += 16) {
    const wp = wr + (<usize>k << 1);
    const h0 = v128.load(wp), h1 = v128.load(wp, 16);
    const ap = ar + (<usize>k << 2);
    const t0 = f16top(h0), b0 = i16x8.shl(h0, 13), t1 = f16top(h1), b1 = i16x8.shl(h1, 13);
    s0 = madd(f16lo(t0, b0), v128.load(ap), s0);
    s1 = madd(f16hi(t0, b0), v128.load(ap, 16), s1);
    s2 = madd(f16lo(t1, b1), v128.load(ap, 32), s2);
    s3 = madd(f16hi(t1, b1), v128.load(ap, 48), s3);
  }
  if (!last) {
    v128.store(sp, s0);
    v128.store(sp, s1, 16);
    v128.store(sp, s2, 32);
    v128.store(sp, s3, 48);
    return;
  }
  for (; k < kv; k += 8) {
    const h = v128.load(wr + (<usize>k << 1));
    const ap = ar + (<usize>k << 2);
    const t = f16top(h), b = i16x8.shl(h, 13);
    s0 = madd(f16lo(t, b), v128.load(ap), s0);
    s1 = madd(f16hi(t, b), v128.load(ap, 16), s1);
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s2), f32x4.add(s1, s3)));
  for (; k < pw; k++) {
    const raw = reinterpret<f32>(((<i32>load<u16>(wr + (<usize>k << 1)) << 16) >> 3) & 0x8fffe000);
    s += raw * load<f32>(ar + (<usize>k << 2));
  }
  finish(cp, add, s * load<f32>(hdr));
}

// Two activation rows (headers at hdr and hdr + step, sums at sp and sp + 64, outputs at cp and cp + ldcB)
// against one weight row-piece of pw values at wr (panel p; `last`: the piece that ends the row): for each
// row f16Row's four sums with the same multiply-adds in the same order (so the same bits), each eight
// weights converted once for both rows. Eight sums and two converted vectors fit x64's 16 vector registers;
// three rows (12 sums) spilled: 0.37 ms a row at 4864x896 against 0.22.
@inline function f16Pair(wr: usize, hdr: usize, step: usize, p: i32, pw: i32, last: bool, sp: usize, cp: usize, ldcB: usize, add: bool): void {
  const hdrB = hdr + step;
  const ar = hdr + 16 + (<usize>p << 2), br = ar + step;
  const k16 = pw & ~15, kv = pw & ~7;
  let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
  let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0), t3 = f32x4.splat(0);
  if (p > 0) {
    s0 = v128.load(sp);
    s1 = v128.load(sp, 16);
    s2 = v128.load(sp, 32);
    s3 = v128.load(sp, 48);
    t0 = v128.load(sp, 64);
    t1 = v128.load(sp, 80);
    t2 = v128.load(sp, 96);
    t3 = v128.load(sp, 112);
  }
  let k = 0;
  // eight values a step into sums 0-1, then the sums rotated so the next eight go into 2-3 (k16 is a whole
  // number of 16-value steps, so they end in place): the same sums as the one-row loop's 16-value step,
  // with fewer vectors in one basic block (V8 loads a block's vectors ahead of its arithmetic and spills)
  for (; k < k16; k += 8) {
    const h = v128.load(wr + (<usize>k << 1));
    const ap = ar + (<usize>k << 2), bp = br + (<usize>k << 2);
    const x = f16top(h), y = i16x8.shl(h, 13);
    const lo = f16lo(x, y), hi = f16hi(x, y);
    const n0 = madd(lo, v128.load(ap), s0), n1 = madd(hi, v128.load(ap, 16), s1);
    const u0 = madd(lo, v128.load(bp), t0), u1 = madd(hi, v128.load(bp, 16), t1);
    s0 = s2;
    s1 = s3;
    s2 = n0;
    s3 = n1;
    t0 = t2;
    t1 = t3;
    t2 = u0;
    t3 = u1;
  }
  if (!last) {
    v128.store(sp, s0);
    v128.store(sp, s1, 16);
    v128.store(sp, s2, 32);
    v128.store(sp, s3, 48);
    v128.store(sp, t0, 64);
    v128.store(sp, t1, 80);
    v128.store(sp, t2, 96);
    v128.store(sp, t3, 112);
    return;
  }
  for (; k < kv; k += 8) {
    const h = v128.load(wr + (<usize>k << 1));
    const ap = ar + (<usize>k << 2), bp = br + (<usize>k << 2);
    const x = f16top(h), y = i16x8.shl(h, 13);
    const lo = f16lo(x, y), hi = f16hi(x, y);
    s0 = madd(lo, v128.load(ap), s0);
    t0 = madd(lo, v128.load(bp), t0);
    s1 = madd(hi, v128.load(ap, 16), s1);
    t1 = madd(hi, v128.load(bp, 16), t1);
  }
  let s = hsum(f32x4.add(f32x4.add(s0, s2), f32x4.add(s1, s3)));
  let t = hsum(f32x4.add(f32x4.add(t0, t2), f32x4.add(t1, t3)));
  for (; k < pw; k++) {
    const raw = reinterpret<f32>(((<i32>load<u16>(wr + (<usize>k << 1)) << 16) >> 3) & 0x8fffe000);
    s += raw * load<f32>(ar + (<usize>k << 2));
    t += raw * load<f32>(br + (<usize>k << 2));
  }
  finish(cp, add, s * load<f32>(hdr));
  finish(cp + ldcB, add, t * load<f32>(hdrB));
}

/**
 * Rearranges an F16 matrix of `rows` rows (a multiple of F16P_ROWS) and K columns in place into the F16P
 * layout of mmd_f16, one block of F16P_ROWS rows at a time through scratch (F16P_ROWS·K·2 bytes).
 */
export function repack_f16_panels(w: usize, rows: i32, K: i32, scratch: usize): void {
  const pc = f16PanelCols(K);
  for (let first = 0; first < rows; first += F16P_ROWS) {
    const bw = w + ((<usize>first * K) << 1);
    copyF16(bw, scratch, F16P_ROWS * K);
    let o = bw;
    for (let p = 0; p < K; p += pc) {
      const pw = min(pc, K - p);
      for (let r = 0; r < F16P_ROWS; r++) {
        copyF16(scratch + ((<usize>r * K + p) << 1), o, pw);
        o += <usize>pw << 1;
      }
    }
  }
}

// n f16 values from src to dst, eight at a time (memory.copy is a call in V8).
function copyF16(src: usize, dst: usize, n: i32): void {
  let i = 0;
  for (; i + 8 <= n; i += 8) v128.store(dst + (<usize>i << 1), v128.load(src + (<usize>i << 1)));
  for (; i < n; i++) store<u16>(dst + (<usize>i << 1), load<u16>(src + (<usize>i << 1)));
}

// Row r's values k0..k1 of an F16P matrix (see mmd_f16) as f32 at o: the stored row's parts, panel by panel.
function dequantRowF16P(w: usize, K: i32, r: i32, k0: i32, k1: i32, o: usize): void {
  const pc = f16PanelCols(K);
  const first = r - r % F16P_ROWS;
  const bw = w + ((<usize>first * K) << 1);
  for (let p = k0 - k0 % pc; p < k1; p += pc) {
    const pw = min(pc, K - p);
    // the piece's address minus p values, so column k of the row is at its k-th value
    const piece = bw + ((<usize>F16P_ROWS * p + <usize>(r - first) * pw) << 1) - (<usize>p << 1);
    const lo = max(k0, p);
    dequantRow(F16, piece, lo, min(k1, p + pw), o + (<usize>(lo - k0) << 2), 1);
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
  // decode_scan vouched for this matrix: no f16-subnormal block scales (and no Q8_0 value of -128)
  const clean = (type & CLEAN) != 0;
  type &= ~CLEAN;
  // the K-quants meet Q8_K activation rows (one scale per 256 values), the others Q8_0-like rows
  const kq = type == Q4_K || type == Q5_K || type == Q6_K || type == Q6K_P || type == Q4K_X4 || type == Q5K_X4;
  const stride = kq ? <usize>(K >> 8) * QK : <usize>nb * (QA + 8);
  if (type == ROWS4 + Q8_0) {
    // whole blocks of four rows interleaved: four rows a pass (n0 and n1 are multiples of 4)
    if (clean) mmdQ8_0x4<Clean>(aq, stride, w, rowBytes, c, ldc, nb, m0, m1, n0, n1, add);
    else mmdQ8_0x4<General>(aq, stride, w, rowBytes, c, ldc, nb, m0, m1, n0, n1, add);
    return;
  }
  if (type == Q4K_X4) {
    mmdQ4Kx4(aq, stride, w, rowBytes, c, ldc, nb >> 3, m0, m1, n0, n1, add);
    return;
  }
  if (type == Q5K_X4) {
    // `five` stays an argument (see dotQ4Kx4)
    mmdKx4(aq, stride, w, rowBytes, c, ldc, nb >> 3, m0, m1, n0, n1, add, type == Q5K_X4);
    return;
  }
  if (type == Q4_0X4) {
    // four rows a pass, one stream of memory (n0 and n1 are multiples of 4)
    if (clean) mmdQ4_0x4<Clean>(aq, stride, w, rowBytes, c, ldc, nb, m0, m1, n0, n1, add);
    else mmdQ4_0x4<General>(aq, stride, w, rowBytes, c, ldc, nb, m0, m1, n0, n1, add);
    return;
  }
  if (type == Q6K_P) {
    // rows in pairs (each quad unpacked once for both), then one on its own
    for (let n = n0; n < n1; n++) {
      const wr = w + <usize>n * rowBytes;
      let m = m0;
      for (; m + 1 < m1; m += 2) {
        const cp = c + ((<usize>m * ldc + n) << 2);
        dotQ6KPPair(wr, aq + <usize>m * stride, stride, nb >> 3, cp, cp + (<usize>ldc << 2), add);
      }
      if (m < m1) finish(c + ((<usize>m * ldc + n) << 2), add, dotQ6KP(wr, aq + <usize>m * stride, nb >> 3));
    }
    return;
  }
  for (let n = n0; n < n1; n++) {
    const wr = w + <usize>n * rowBytes;
    for (let m = m0; m < m1; m++) {
      const ar = aq + <usize>m * stride;
      let s: f32 = 0;
      if (type == Q4_0) s = dotQ4_0(wr, ar, nb);
      else if (type == Q8_0) s = dotQ8_0(wr, ar, nb);
      else if (type == Q4_1) s = dotQ4_1(wr, ar, nb);
      else if (type == Q5_0 || type == Q5_1) s = dotQ5(wr, ar, nb, type == Q5_1);
      else if (type == Q4_K) s = dotQ45K(wr, ar, nb >> 3, false);
      else if (type == Q5_K) s = dotQ45K(wr, ar, nb >> 3, true);
      else if (type == Q6_K) s = dotQ6K(wr, ar, nb >> 3);
      else unreachable();
      finish(c + ((<usize>m * ldc + n) << 2), add, s);
    }
  }
}

// Type markers that make a four-row kernel's `clean` (decode_scan) a compile-time constant, so the clean
// and the general loops are separate code. With `clean` a boolean argument binaryen merged the two
// inlined copies into one loop that tested it at every block, and V8 kept the general path's constants
// in registers across the loop and spilled the accumulator and an activation vector at each block.
type Clean = u8;
type General = u16;

@inline function isClean<C>(): bool {
  return sizeof<C>() == 1;
}

// The four-row Q4_0X4 / Q8_0 passes (n0 and n1 multiples of 4).
@inline function mmdQ4_0x4<C>(aq: usize, stride: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, nb: i32, m0: i32, m1: i32, n0: i32, n1: i32, add: bool): void {
  for (let n = n0; n < n1; n += 4) {
    const wr = w + <usize>n * rowBytes;
    let m = m0;
    // rows in pairs (the group's nibbles unpacked and scales converted once for both), then one on its own
    for (; m + 1 < m1; m += 2) {
      const cp = c + ((<usize>m * ldc + n) << 2);
      dotQ4_0x4Pair<C>(wr, aq + <usize>m * stride, stride, nb, cp, cp + (<usize>ldc << 2), add);
    }
    for (; m < m1; m++) {
      const v = dotQ4_0x4<C>(wr, aq + <usize>m * stride, nb);
      const cp = c + ((<usize>m * ldc + n) << 2);
      v128.store(cp, add ? f32x4.add(v128.load(cp), v) : v);
    }
  }
}

@inline function mmdQ8_0x4<C>(aq: usize, stride: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, nb: i32, m0: i32, m1: i32, n0: i32, n1: i32, add: bool): void {
  for (let n = n0; n < n1; n += 4) {
    const g = w + <usize>n * rowBytes;
    for (let m = m0; m < m1; m++) {
      const v = dotQ8_0x4<C>(g, aq + <usize>m * stride, nb);
      const cp = c + ((<usize>m * ldc + n) << 2);
      v128.store(cp, add ? f32x4.add(v128.load(cp), v) : v);
    }
  }
}

// Lane j = Σ lanes of s_j (f32): four rows' sums reduced at once.
@inline function hsum4f(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<i32>(s0, s1, 0, 1, 4, 5), v128.shuffle<i32>(s0, s1, 2, 3, 6, 7));
  const t1 = f32x4.add(v128.shuffle<i32>(s2, s3, 0, 1, 4, 5), v128.shuffle<i32>(s2, s3, 2, 3, 6, 7));
  return f32x4.add(v128.shuffle<i32>(t0, t1, 0, 2, 4, 6), v128.shuffle<i32>(t0, t1, 1, 3, 5, 7));
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
  return h2f4x(v);
}

@inline function blockQ8_0(wb: usize, ab: usize): v128 {
  return dotA(ab + AI8 + 16, v128.load(wb, 18), dotA(ab + AI8, v128.load(wb, 2), i32x4.splat(0)));
}

@inline function blockQ4_0(wb: usize, ab: usize): v128 {
  const q = v128.load(wb, 2);
  return dot32u(ab, v128.and(q, v128.load(NIB)), nibHi(q));
}

// Q4_0 block wb (weights 0..15, recentred by the caller) against activation block values a0, a1 (as i8,
// relaxed build) or at ab (plain), as i32x4 lanes.
@inline function q4Lanes(wb: usize, ab: usize, a0: v128, a1: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return i32x4.extadd_pairwise_i16x8_s(q4Pairs(wb, a0, a1));
  return blockQ4_0(wb, ab);
}

// The relaxed build's byte dots of a Q4_0 block: i16 lanes of four products each (at most 4·127·15).
@inline function q4Pairs(wb: usize, a0: v128, a1: v128): v128 {
  const q = v128.load(wb, 2);
  return i16x8.add(
    i16x8.relaxed_dot_i8x16_i7x16_s(a0, v128.and(q, v128.load(NIB))),
    i16x8.relaxed_dot_i8x16_i7x16_s(a1, nibHi(q)),
  );
}

// Lane r = Σ lanes of p_r, for i16 lanes of at most 4·127·15 (so sums of four of them stay within i16):
// two levels of adds in i16 on 64- and 32-bit lane shuffles (one instruction each on x86), then one
// widening pairwise add; three operations fewer than widening each row first.
@inline function hsum4i16(p0: v128, p1: v128, p2: v128, p3: v128): v128 {
  const t01 = i16x8.add(v128.shuffle<i64>(p0, p1, 0, 2), v128.shuffle<i64>(p0, p1, 1, 3));
  const t23 = i16x8.add(v128.shuffle<i64>(p2, p3, 0, 2), v128.shuffle<i64>(p2, p3, 1, 3));
  return i32x4.extadd_pairwise_i16x8_s(i16x8.add(v128.shuffle<i32>(t01, t23, 0, 2, 4, 6), v128.shuffle<i32>(t01, t23, 1, 3, 5, 7)));
}

// Four f16 block scales sign-extended into i32 lanes, as f32, for matrices with no subnormal scales (zeros
// are fine): the bits moved into place and rebased by 2^112, four operations where h2f4x takes ten.
@inline function h2f4n(h: v128): v128 {
  return f32x4.mul(v128.and(i32x4.shl(h, 13), v128.load(F16BITS)), f32x4.splat(reinterpret<f32>(0x77800000)));
}

// Four rows of a Q4_0X4 group (72 bytes a block: the four f16 scales, then the four rows' 16 bytes of
// nibbles) dotted with one quantised activation row: lane r is row r's sum. Reading the group as one
// sequential stream is what makes this faster than four rows read side by side (18 against 8 GB/s).
// Clean: the scales are known not to be f16 subnormals (decode_scan).
@inline function dotQ4_0x4<C>(w: usize, a: usize, nb: i32): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const wb = w + <usize>b * 72, ab = a + <usize>b * QA;
    const a0 = v128.load(ab + AI8), a1 = v128.load(ab + AI8 + 16);
    let s: v128;
    if (ASC_FEATURE_RELAXED_SIMD) {
      s = hsum4i16(q4Pairs(wb + 6, a0, a1), q4Pairs(wb + 22, a0, a1), q4Pairs(wb + 38, a0, a1), q4Pairs(wb + 54, a0, a1));
    } else {
      s = hsum4(q4Lanes(wb + 6, ab, a0, a1), q4Lanes(wb + 22, ab, a0, a1), q4Lanes(wb + 38, ab, a0, a1), q4Lanes(wb + 54, ab, a0, a1));
    }
    // Σ (q − 8)·a = Σ q·a − 8·Σ a, in integers; then one multiply by d_w·d_a per row
    const t = i32x4.sub(s, i32x4.splat(load<i32>(ab, 4) << 3));
    const h = i32x4.extend_low_i16x8_s(v128.load64_zero(wb));
    const dw = isClean<C>() ? h2f4n(h) : h2f4x(h);
    acc = madd(f32x4.convert_i32x4_s(t), f32x4.mul(dw, v128.load32_splat(ab)), acc);
  }
  return acc;
}

// dotQ4_0x4 for two activation rows (a, a + stride) at once, the results (+)= into cA and cB: each block's
// nibbles unpacked (and, in the plain build, widened) and its four scales converted once for both rows. Each
// row gets dotQ4_0x4's integer block sums and then the same float multiply-adds in the same order: the
// same bits as one row at a time.
@inline function dotQ4_0x4Pair<C>(w: usize, a: usize, stride: usize, nb: i32, cA: usize, cB: usize, add: bool): void {
  let accA = f32x4.splat(0), accB = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const wb = w + <usize>b * 72, ab = a + <usize>b * QA, bb = ab + stride;
    let sA: v128, sB: v128;
    if (ASC_FEATURE_RELAXED_SIMD) {
      const a0 = v128.load(ab + AI8), a1 = v128.load(ab + AI8 + 16);
      const b0 = v128.load(bb + AI8), b1 = v128.load(bb + AI8 + 16);
      // hsum4i16 written out for both rows, rows 0-1 reduced before 2-3 are unpacked (V8 still loads and
      // unpacks all four rows first and spills about six vectors a block; a loop over the two row pairs, with
      // the sums rotating, measured the same)
      const q0 = v128.load(wb, 8), q1 = v128.load(wb, 24);
      const l0 = v128.and(q0, v128.load(NIB)), h0 = nibHi(q0), l1 = v128.and(q1, v128.load(NIB)), h1 = nibHi(q1);
      const pa0 = q4Dot(a0, a1, l0, h0), pa1 = q4Dot(a0, a1, l1, h1);
      const pb0 = q4Dot(b0, b1, l0, h0), pb1 = q4Dot(b0, b1, l1, h1);
      const ta01 = i16x8.add(v128.shuffle<i64>(pa0, pa1, 0, 2), v128.shuffle<i64>(pa0, pa1, 1, 3));
      const tb01 = i16x8.add(v128.shuffle<i64>(pb0, pb1, 0, 2), v128.shuffle<i64>(pb0, pb1, 1, 3));
      const q2 = v128.load(wb, 40), q3 = v128.load(wb, 56);
      const l2 = v128.and(q2, v128.load(NIB)), h2 = nibHi(q2), l3 = v128.and(q3, v128.load(NIB)), h3 = nibHi(q3);
      const pa2 = q4Dot(a0, a1, l2, h2), pa3 = q4Dot(a0, a1, l3, h3);
      const pb2 = q4Dot(b0, b1, l2, h2), pb3 = q4Dot(b0, b1, l3, h3);
      const ta23 = i16x8.add(v128.shuffle<i64>(pa2, pa3, 0, 2), v128.shuffle<i64>(pa2, pa3, 1, 3));
      const tb23 = i16x8.add(v128.shuffle<i64>(pb2, pb3, 0, 2), v128.shuffle<i64>(pb2, pb3, 1, 3));
      sA = i32x4.extadd_pairwise_i16x8_s(i16x8.add(v128.shuffle<i32>(ta01, ta23, 0, 2, 4, 6), v128.shuffle<i32>(ta01, ta23, 1, 3, 5, 7)));
      sB = i32x4.extadd_pairwise_i16x8_s(i16x8.add(v128.shuffle<i32>(tb01, tb23, 0, 2, 4, 6), v128.shuffle<i32>(tb01, tb23, 1, 3, 5, 7)));
    } else {
      sA = hsum4(q4Wide(wb + 8, ab), q4Wide(wb + 24, ab), q4Wide(wb + 40, ab), q4Wide(wb + 56, ab));
      sB = hsum4(q4Wide(wb + 8, bb), q4Wide(wb + 24, bb), q4Wide(wb + 40, bb), q4Wide(wb + 56, bb));
    }
    const h = i32x4.extend_low_i16x8_s(v128.load64_zero(wb));
    const dw = isClean<C>() ? h2f4n(h) : h2f4x(h);
    const tA = i32x4.sub(sA, i32x4.splat(load<i32>(ab, 4) << 3));
    const tB = i32x4.sub(sB, i32x4.splat(load<i32>(bb, 4) << 3));
    accA = madd(f32x4.convert_i32x4_s(tA), f32x4.mul(dw, v128.load32_splat(ab)), accA);
    accB = madd(f32x4.convert_i32x4_s(tB), f32x4.mul(dw, v128.load32_splat(bb)), accB);
  }
  v128.store(cA, add ? f32x4.add(v128.load(cA), accA) : accA);
  v128.store(cB, add ? f32x4.add(v128.load(cB), accB) : accB);
}

// q4Pairs on unpacked nibbles: i16 lanes of four products each.
@inline function q4Dot(a0: v128, a1: v128, lo: v128, hi: v128): v128 {
  return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(a0, lo), i16x8.relaxed_dot_i8x16_i7x16_s(a1, hi));
}

// The plain build's Q4_0 block (16 bytes of nibbles at q) against activation block ab: blockQ4_0's lanes.
@inline function q4Wide(q: usize, ab: usize): v128 {
  const v = v128.load(q);
  return dot32u(ab, v128.and(v, v128.load(NIB)), nibHi(v));
}

/**
 * 1 when the decode kernels may take their fast path on this Q4_0 or Q8_0 matrix (nb blocks of bs bytes,
 * as stored): no block scale is an f16 subnormal, whose quick conversion would read a subnormal f32 (a
 * slow microcode path on x86) at every use (small weights can have such scales; zeros are fine), and, for
 * Q8_0, no value is -128, which the byte dot cannot take (llama.cpp's quantiser never writes one).
 */
export function decode_scan(w: usize, nb: i32, bs: i32): i32 {
  const q8 = bs == 34;
  const m80 = i8x16.splat(-128);
  let bad = i8x16.splat(0);
  let sub = 0;
  for (let b = 0; b < nb; b++) {
    const p = w + <usize>b * bs;
    const h = <i32>load<u16>(p) & 0x7fff;
    sub |= <i32>(h != 0 && h < 0x400);
    if (q8) bad = v128.or(bad, v128.or(i8x16.eq(v128.load(p, 2), m80), i8x16.eq(v128.load(p, 18), m80)));
  }
  return <i32>(sub == 0 && !v128.any_true(bad));
}

/**
 * Rewrites a matrix of `rows` rows (a multiple of 4) of bs-byte blocks in place so that block index b of
 * four rows lies side by side: [row 0 block b][row 1 block b][row 2 block b][row 3 block b]. scratch
 * holds 4·rowBytes.
 */
export function repack_rows4(w: usize, rows: i32, rowBytes: i32, bs: i32, scratch: usize): void {
  const nb = rowBytes / bs;
  const gb = <usize>rowBytes << 2;
  for (let g = 0; g < rows >> 2; g++) {
    const base = w + <usize>g * gb;
    memory.copy(scratch, base, gb);
    for (let b = 0; b < nb; b++) {
      for (let r = 0; r < 4; r++) {
        memory.copy(base + <usize>(b * 4 + r) * bs, scratch + <usize>r * rowBytes + <usize>b * bs, bs);
      }
    }
  }
}

/**
 * Rewrites a Q4_0 matrix of `rows` rows (a multiple of 4) in place as Q4_0X4 groups: for each block
 * index, the four rows' f16 scales and then their 16 bytes of nibbles. scratch holds 4·rowBytes.
 */
export function repack_q4_0x4(w: usize, rows: i32, rowBytes: i32, scratch: usize): void {
  const nb = rowBytes / 18;
  const gb = <usize>rowBytes << 2;
  for (let g = 0; g < rows >> 2; g++) {
    const base = w + <usize>g * gb;
    memory.copy(scratch, base, gb);
    for (let b = 0; b < nb; b++) {
      const o = base + <usize>b * 72;
      for (let r = 0; r < 4; r++) {
        const src = scratch + <usize>r * rowBytes + <usize>b * 18;
        store<u16>(o + (<usize>r << 1), load<u16>(src));
        v128.store(o + 8 + (<usize>r << 4), v128.load(src, 2));
      }
    }
  }
}

// A Q8_0 block wb against activation values widened to i16 once per block (x0..x3: values 0-7, 8-15,
// 16-23, 24-31), as i32x4 lanes. (Moving w's sign onto a for the relaxed byte dot measured 15-25% slower.)
@inline function q8Lanes(wb: usize, x0: v128, x1: v128, x2: v128, x3: v128): v128 {
  const w0 = v128.load(wb, 2), w1 = v128.load(wb, 18);
  const s0 = i32x4.add(i32x4.dot_i16x8_s(x0, i16x8.extend_low_i8x16_s(w0)), i32x4.dot_i16x8_s(x1, i16x8.extend_high_i8x16_s(w0)));
  const s1 = i32x4.add(i32x4.dot_i16x8_s(x2, i16x8.extend_low_i8x16_s(w1)), i32x4.dot_i16x8_s(x3, i16x8.extend_high_i8x16_s(w1)));
  return i32x4.add(s0, s1);
}

// The relaxed build's Q8_0 block for weights with no -128: Σ w·a = Σ (w·sign a)·|a|, the activations'
// signs (masks n0, n1) moved onto the weights (still within -127..127) and |a| (0..127) as the byte dot's
// second operand, which it must be. i32x4 lanes.
@inline function q8Signed(wb: usize, n0: v128, n1: v128, u0: v128, u1: v128): v128 {
  const w0 = v128.load(wb, 2), w1 = v128.load(wb, 18);
  const p0 = i16x8.relaxed_dot_i8x16_i7x16_s(i8x16.sub(v128.xor(w0, n0), n0), u0);
  const p1 = i16x8.relaxed_dot_i8x16_i7x16_s(i8x16.sub(v128.xor(w1, n1), n1), u1);
  return i32x4.add(i32x4.extadd_pairwise_i16x8_s(p0), i32x4.extadd_pairwise_i16x8_s(p1));
}

// Four interleaved Q8_0 rows (136 bytes a block index) against one activation row: lane r is row r's sum.
// Clean (decode_scan): no subnormal scales and no -128 values, so the relaxed build multiplies bytes.
@inline function dotQ8_0x4<C>(w: usize, a: usize, nb: i32): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nb; b++) {
    const wb = w + <usize>b * 136, ab = a + <usize>b * QA;
    const a0 = v128.load(ab + AI8), a1 = v128.load(ab + AI8 + 16);
    let s: v128;
    if (ASC_FEATURE_RELAXED_SIMD && isClean<C>()) {
      const n0 = i8x16.lt_s(a0, i8x16.splat(0)), n1 = i8x16.lt_s(a1, i8x16.splat(0));
      const u0 = i8x16.abs(a0), u1 = i8x16.abs(a1);
      s = hsum4(q8Signed(wb, n0, n1, u0, u1), q8Signed(wb + 34, n0, n1, u0, u1), q8Signed(wb + 68, n0, n1, u0, u1), q8Signed(wb + 102, n0, n1, u0, u1));
    } else {
      const x0 = i16x8.extend_low_i8x16_s(a0), x1 = i16x8.extend_high_i8x16_s(a0);
      const x2 = i16x8.extend_low_i8x16_s(a1), x3 = i16x8.extend_high_i8x16_s(a1);
      s = hsum4(q8Lanes(wb, x0, x1, x2, x3), q8Lanes(wb + 34, x0, x1, x2, x3), q8Lanes(wb + 68, x0, x1, x2, x3), q8Lanes(wb + 102, x0, x1, x2, x3));
    }
    let h = i32x4.splat(<i32>load<i16>(wb));
    h = i32x4.replace_lane(h, 1, <i32>load<i16>(wb + 34));
    h = i32x4.replace_lane(h, 2, <i32>load<i16>(wb + 68));
    h = i32x4.replace_lane(h, 3, <i32>load<i16>(wb + 102));
    const dw = isClean<C>() ? h2f4n(h) : h2f4x(h);
    acc = madd(f32x4.convert_i32x4_s(s), f32x4.mul(dw, v128.load32_splat(ab)), acc);
  }
  return acc;
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

// Σ over 32 values of Q8_K activation block ab at value offset off, against weights l0 (values 0..15) and
// l1 (16..31) in 0..63, times the sub-block scale (0..63, in every i16 lane of s), as i32x4 lanes. The
// relaxed build's byte dot leaves pair sums within i16 (4·127·31 at most here), which
// i32x4.dot_i16x8_s widens and scales at once.
@inline function kDot32(ab: usize, off: usize, l0: v128, l1: v128, s: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const p = i16x8.add(
      i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ab + KI8 + off), l0),
      i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ab + KI8 + off, 16), l1),
    );
    return i32x4.dot_i16x8_s(p, s);
  }
  const ap = ab + KI8 + off;
  return i32x4.mul(dotA(ap + 16, l1, dotA(ap, l0, i32x4.splat(0))), i32x4.extend_low_i16x8_s(s));
}

// As kDot32 over 16 values against v (0..63), with a signed 8-bit scale in every i16 lane of s.
@inline function kDot16(ab: usize, off: usize, v: v128, s: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i32x4.dot_i16x8_s(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ab + KI8 + off), v), s);
  }
  return i32x4.mul(dotA(ab + KI8 + off, v, i32x4.splat(0)), i32x4.extend_low_i16x8_s(s));
}

// Bytes >> 4 (x86 has no byte shifts: a 16-bit shift and a mask).
@inline function nibHi(q: v128): v128 {
  return v128.and(i16x8.shr_u(q, 4), v128.load(NIB));
}

const BIT4: usize = memory.data<u8>([16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16, 16], 16);

// Bit k (a literal) of each byte of x as 16: one 16-bit shift that moves it to bit 4 (what crosses from the
// neighbouring byte lands outside bit 4) and a mask loaded from memory; the compare-and-select it replaces
// built three byte constants at each use (Q5_K decode 7.7 -> 9.4 GB/s per CPU second, the same values).
@inline function qhBit(x: v128, k: i32): v128 {
  if (k < 4) return v128.and(i16x8.shl(x, 4 - k), v128.load(BIT4));
  if (k == 4) return v128.and(x, v128.load(BIT4));
  return v128.and(i16x8.shr_u(x, k - 4), v128.load(BIT4));
}

// Sub-blocks 2c (low nibbles of qs[32c..32c+31]) and 2c+1 (high nibbles) of a Q4_K/Q5_K super-block, with
// their scales broadcast in s0 and s1; Q5_K adds bit 2c / 2c+1 of qh (at wb + 16) as 16.
@inline function kSubPair(wb: usize, qs: usize, ab: usize, c: i32, s0: v128, s1: v128, five: bool): v128 {
  const q0 = v128.load(qs + (<usize>c << 5)), q1 = v128.load(qs + (<usize>c << 5), 16);
  const lo = v128.load(NIB);
  let l0 = v128.and(q0, lo), l1 = v128.and(q1, lo);
  let h0 = nibHi(q0), h1 = nibHi(q1);
  if (five) {
    const x0 = v128.load(wb + 16), x1 = v128.load(wb + 16, 16);
    l0 = v128.or(l0, qhBit(x0, 2 * c));
    l1 = v128.or(l1, qhBit(x1, 2 * c));
    h0 = v128.or(h0, qhBit(x0, 2 * c + 1));
    h1 = v128.or(h1, qhBit(x1, 2 * c + 1));
  }
  const off = <usize>c << 6;
  return i32x4.add(kDot32(ab, off, l0, l1, s0), kDot32(ab, off + 32, h0, h1, s1));
}

// Q4_K/Q5_K against Q8_K activations: per super-block Σ_j scale_j·(q·a)_j and Σ_j min_j·(Σa)_j in integers,
// then d·d_a and dmin·d_a in float (llama.cpp's ggml_vec_dot_q4_K_q8_K).
@inline function dotQ45K(w: usize, a: usize, nsb: i32, five: bool): f32 {
  const size: usize = five ? 176 : 144;
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) acc = f32x4.add(acc, q45kBlock(w + <usize>b * size, a + <usize>b * QK, five));
  return hsum(acc);
}

// One Q4_K/Q5_K super-block wb against its Q8_K activation block ab: f32 lanes that sum to the dot.
@inline function q45kBlock(wb: usize, ab: usize, five: bool): v128 {
  // the 12 bytes of 6-bit scales and mins unpacked four at a time (scales 0..3, 4..7, mins 0..3, 4..7)
  const u0 = load<u32>(wb, 4), u1 = load<u32>(wb, 8), u2 = load<u32>(wb, 12);
  const sLo = u0 & 0x3f3f3f3f;
  const sHi = (u2 & 0x0f0f0f0f) | (((u0 >> 6) & 0x03030303) << 4);
  const mLo = u1 & 0x3f3f3f3f;
  const mHi = ((u2 >> 4) & 0x0f0f0f0f) | (((u1 >> 6) & 0x03030303) << 4);
  const sm = i32x4.replace_lane(i32x4.replace_lane(i32x4.replace_lane(i32x4.splat(sLo), 1, sHi), 2, mLo), 3, mHi);
  const msum = i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(sm), v128.load(ab + KS32));
  const qs = wb + (five ? 48 : 16);
  // a loop over the sub-block pairs, not four copies (V8 would hold all their vectors at once, as in
  // q6kpBlock), each scale splat from its byte
  let s = i32x4.splat(0);
  for (let c = 0; c < 4; c++) {
    const word = (c < 2 ? sLo : sHi) >> (<u32>(c & 1) << 4);
    s = i32x4.add(s, kSubPair(wb, qs, ab, c, i16x8.splat(<i16>(word & 0xff)), i16x8.splat(<i16>((word >> 8) & 0xff)), five));
  }
  const da = load<f32>(ab);
  return f32x4.sub(
    f32x4.mul(f32x4.convert_i32x4_s(s), f32x4.splat(h2f(load<u16>(wb)) * da)),
    f32x4.mul(f32x4.convert_i32x4_s(msum), f32x4.splat(h2f(load<u16>(wb, 2)) * da)),
  );
}

// A quarter-set of a Q6_K super-block: 16 values from each of its four 32-value rows (h: which 128-value
// half, part: which 16 of the 32), 6-bit values 0..63 (recentred by the caller), each group with its scale.
@inline function q6Part(wb: usize, ab: usize, h: i32, part: i32, s1: v128, s2: v128, s3: v128, s4: v128): v128 {
  const o = <usize>part << 4;
  const ql = wb + (<usize>h << 6), qh = wb + 128 + (<usize>h << 5);
  const L0 = v128.load(ql + o), L1 = v128.load(ql + 32 + o), H = v128.load(qh + o);
  const lo = v128.load(NIB), hm = v128.load(HI2);
  // bit pairs of H moved to bits 4-5 with 16-bit shifts (the mask drops what crosses bytes)
  const v1 = v128.or(v128.and(L0, lo), v128.and(i16x8.shl(H, 4), hm));
  const v2 = v128.or(v128.and(L1, lo), v128.and(i16x8.shl(H, 2), hm));
  const v3 = v128.or(nibHi(L0), v128.and(H, hm));
  const v4 = v128.or(nibHi(L1), v128.and(i16x8.shr_u(H, 2), hm));
  const y = (<usize>h << 7) + o;
  return i32x4.add(
    i32x4.add(kDot16(ab, y, v1, s1), kDot16(ab, y + 32, v2, s2)),
    i32x4.add(kDot16(ab, y + 64, v3, s3), kDot16(ab, y + 96, v4, s4)),
  );
}

// Q6_K against Q8_K activations: Σ_g scale_g·(q·a)_g − 32·Σ_g scale_g·(Σa)_g in integers per super-block,
// then one float multiply by d·d_a (llama.cpp's ggml_vec_dot_q6_K_q8_K).
@inline function dotQ6K(w: usize, a: usize, nsb: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) acc = f32x4.add(acc, q6kBlock(w + <usize>b * 210, a + <usize>b * QK));
  return hsum(acc);
}

// Σ_g scale_g·(Σa)_g of a Q6_K super-block (stored or Q6K_P: the scales are not permuted) against its
// Q8_K activation block, in i32 lanes: what the values' offset of 32 subtracts.
@inline function q6kOffsetSums(wb: usize, ab: usize): v128 {
  const sc = v128.load(wb, 192);
  // scale g of value group g (16 values), as i16 lanes: groups 0..7 in a, 8..15 in c
  const a8 = i16x8.extend_low_i8x16_s(sc), c8 = i16x8.extend_high_i8x16_s(sc);
  return i32x4.add(
    i32x4.dot_i16x8_s(a8, v128.load(ab + KS16)),
    i32x4.dot_i16x8_s(c8, v128.load(ab + KS16, 16)),
  );
}

// The f32 lanes of a Q6_K super-block from its integer sums s and offset sums: (s − 32·corr)·d·d_a.
@inline function q6kLanes(wb: usize, ab: usize, s: v128, corr: v128): v128 {
  const d = h2f(load<u16>(wb, 208)) * load<f32>(ab);
  return f32x4.mul(f32x4.convert_i32x4_s(i32x4.sub(s, i32x4.shl(corr, 5))), f32x4.splat(d));
}

// One Q6_K super-block wb against its Q8_K activation block ab: f32 lanes that sum to the dot.
@inline function q6kBlock(wb: usize, ab: usize): v128 {
  const corr = q6kOffsetSums(wb, ab);
  // a loop over the quarter-sets, not four copies (V8 would hold all their vectors at once, as in q6kpBlock),
  // each group's scale splat from its byte
  let s = i32x4.splat(0);
  for (let q = 0; q < 4; q++) {
    const h = q >> 1, part = q & 1;
    const g = wb + 192 + <usize>((h << 3) + part);
    const s1 = i16x8.splat(<i16>load<i8>(g)), s2 = i16x8.splat(<i16>load<i8>(g, 2));
    const s3 = i16x8.splat(<i16>load<i8>(g, 4)), s4 = i16x8.splat(<i16>load<i8>(g, 6));
    s = i32x4.add(s, q6Part(wb, ab, h, part, s1, s2, s3, s4));
  }
  return q6kLanes(wb, ab, s, corr);
}

// ---- Q6_K permuted for decode (Q6K_P) ----
// Vector t (0..15) of a super-block holds 16 values: byte b is element 4·(b >> 2) + 2·(t & 1) + (b & 1) of
// group 2·(t >> 1) + ((b >> 1) & 1). So the byte dot of vectors 2m and 2m+1 leaves, in i16 lane 2i (2i+1),
// elements 4i..4i+3 of group 2m (2m+1), and one multiply-add by the pair of scales (s_2m, s_2m+1) in every
// 32-bit lane (one lane shuffle) puts into i32 lane i exactly what the stored layout's kernel puts there
// (elements 4i..4i+3 of every group, scaled): the same integer lanes, so the same floats, bit for bit,
// with 8 multiply-adds and 8 lane shuffles a super-block instead of 16 and 16 two-instruction broadcasts.
// Bytes 48j..48j+47 (j = 0..3) hold vectors 4j..4j+3 as three vectors X, Y, Z: vectors 4j, 4j+1, 4j+2 in
// their low six bits and bits 0-1, 2-3, 4-5 of vector 4j+3 in their top two, so three vectors are one AND
// each and the fourth three shifts, three ANDs and two ORs (18 operations per four vectors as nibbles and
// bit pairs, 11 so); scales and d as stored.
const K6: usize = memory.data<u8>([63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63, 63], 16);
const KC0: usize = memory.data<u8>([0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0, 0xc0], 16);

// The fourth vector of X, Y, Z: their top bit pairs, masked first and then moved down two bits at a time
// (16-bit shifts of masked bytes carry nothing across bytes): one mask where shifting first needed three
// (0x03, 0x0c, 0x30). The decode loop holds the activations, the scales and these masks in registers, and
// with three masks V8 spilled there: Q6K_P 19.5-20.7 -> 24.3-25.3 GB/s per CPU second (same values).
@inline function q6pFourth(x: v128, y: v128, z: v128): v128 {
  const m = v128.load(KC0);
  const xy = v128.or(i16x8.shr_u(v128.and(x, m), 2), v128.and(y, m));
  return i16x8.shr_u(v128.or(i16x8.shr_u(xy, 2), v128.and(z, m)), 2);
}

// Permuted vector t (0..15) of a Q6K_P super-block: 16 values 0..63.
@inline function q6pVec(wb: usize, t: i32): v128 {
  const p = wb + <usize>(t >> 2) * 48;
  if ((t & 3) < 3) return v128.and(v128.load(p + (<usize>(t & 3) << 4)), v128.load(K6));
  return q6pFourth(v128.load(p), v128.load(p, 16), v128.load(p, 32));
}

// Group g (its 16 values in order) of a Q6K_P super-block: the 16-bit lanes of vectors g and g ± 1
// interleaved back (the permutation moves 16-bit pairs, so it is its own inverse on two vectors).
@inline function q6pGroup(wb: usize, g: i32): v128 {
  const v0 = q6pVec(wb, g & ~1), v1 = q6pVec(wb, g | 1);
  return g & 1 ? v128.shuffle<i16>(v0, v1, 1, 9, 3, 11, 5, 13, 7, 15) : v128.shuffle<i16>(v0, v1, 0, 8, 2, 10, 4, 12, 6, 14);
}

// Four 6-bit vectors packed as two nibble vectors (a | c << 4, b | d << 4) and one of top-bit pairs
// (a, b, c, d in bits 0-1, 2-3, 4-5, 6-7): Q6_K's stored packing, and Q6K_P's with its vectors.
@inline function q6PackLow(a: v128, c: v128): v128 {
  const lo = v128.load(NIB);
  return v128.or(v128.and(a, lo), i16x8.shl(v128.and(c, lo), 4));
}
@inline function q6PackHigh(a: v128, b: v128, c: v128, d: v128): v128 {
  const hm = v128.load(HI2);
  const ab = v128.or(i16x8.shr_u(v128.and(a, hm), 4), i16x8.shr_u(v128.and(b, hm), 2));
  return v128.or(ab, v128.or(v128.and(c, hm), i16x8.shl(v128.and(d, hm), 2)));
}

/** Permutes nblocks Q6_K super-blocks at w in place into the Q6K_P layout; tmp holds 256 bytes. */
export function repack_q6k_p(w: usize, nblocks: i32, tmp: usize): void {
  const lo = v128.load(NIB), hm = v128.load(HI2);
  for (let blk = 0; blk < nblocks; blk++) {
    const wb = w + <usize>blk * 210;
    // the 16 groups in order into tmp (as dequantQ6K unpacks them)
    for (let h = 0; h < 2; h++) {
      const ql = wb + (<usize>h << 6), qh = wb + 128 + (<usize>h << 5);
      for (let part = 0; part < 2; part++) {
        const o = <usize>part << 4;
        const L0 = v128.load(ql + o), L1 = v128.load(ql + 32 + o), H = v128.load(qh + o);
        const g = tmp + (<usize>((h << 3) + part) << 4);
        v128.store(g, v128.or(v128.and(L0, lo), v128.and(i16x8.shl(H, 4), hm)));
        v128.store(g, v128.or(v128.and(L1, lo), v128.and(i16x8.shl(H, 2), hm)), 32);
        v128.store(g, v128.or(nibHi(L0), v128.and(H, hm)), 64);
        v128.store(g, v128.or(nibHi(L1), v128.and(i16x8.shr_u(H, 2), hm)), 96);
      }
    }
    // vectors 4j..4j+3 from groups 4j..4j+3, the fourth's bit pairs in the top bits of the other three
    for (let j = 0; j < 4; j++) {
      const p = tmp + (<usize>j << 6);
      const g0 = v128.load(p), g1 = v128.load(p, 16), g2 = v128.load(p, 32), g3 = v128.load(p, 48);
      const v0 = v128.shuffle<i16>(g0, g1, 0, 8, 2, 10, 4, 12, 6, 14), v1 = v128.shuffle<i16>(g0, g1, 1, 9, 3, 11, 5, 13, 7, 15);
      const v2 = v128.shuffle<i16>(g2, g3, 0, 8, 2, 10, 4, 12, 6, 14), v3 = v128.shuffle<i16>(g2, g3, 1, 9, 3, 11, 5, 13, 7, 15);
      const q = wb + <usize>j * 48, top = i8x16.splat(<i8>0xc0);
      v128.store(q, v128.or(v0, v128.and(i16x8.shl(v3, 6), top)));
      v128.store(q, v128.or(v1, v128.and(i16x8.shl(v3, 4), top)), 16);
      v128.store(q, v128.or(v2, v128.and(i16x8.shl(v3, 2), top)), 32);
    }
  }
}

/** Writes the Q6K_P super-block at src back in the stored Q6_K layout at dst (210 bytes). */
export function q6p_to_stored(src: usize, dst: usize): void {
  for (let h = 0; h < 2; h++) {
    for (let part = 0; part < 2; part++) {
      const g = (h << 3) + part;
      const v1 = q6pGroup(src, g), v2 = q6pGroup(src, g + 2), v3 = q6pGroup(src, g + 4), v4 = q6pGroup(src, g + 6);
      const o = <usize>part << 4;
      v128.store(dst + (<usize>h << 6) + o, q6PackLow(v1, v3));
      v128.store(dst + (<usize>h << 6) + 32 + o, q6PackLow(v2, v4));
      v128.store(dst + 128 + (<usize>h << 5) + o, q6PackHigh(v1, v2, v3, v4));
    }
  }
  memory.copy(dst + 192, src + 192, 18);
}

/** As quant_q8k_rows, with each block's values in the Q6K_P order (the sums per 16 and 32 as there). */
export function quant_q8k_rows_q6p(x: usize, ldx: i32, K: i32, out: usize, m0: i32, m1: i32): void {
  quant_q8k_rows(x, ldx, K, out, m0, m1);
  const nsb = K >> 8;
  for (let m = m0; m < m1; m++) {
    for (let b = 0; b < nsb; b++) {
      const v = out + (<usize>m * nsb + <usize>b) * QK + KI8;
      for (let j = 0; j < 8; j++) {
        const p = v + (<usize>j << 5);
        const g0 = v128.load(p), g1 = v128.load(p, 16);
        v128.store(p, v128.shuffle<i16>(g0, g1, 0, 8, 2, 10, 4, 12, 6, 14));
        v128.store(p, v128.shuffle<i16>(g0, g1, 1, 9, 3, 11, 5, 13, 7, 15), 16);
      }
    }
  }
}

// Vectors 4j..4j+3 of a Q6K_P super-block (pairs m = 2j, 2j+1; their 48 bytes at q) against their activations
// (at a), sA (sB) the scales of groups 4j, 4j+1 (4j+2, 4j+3) in every 32-bit lane: i32 lane i = elements
// 4i..4i+3 of the four groups, scaled.
@inline function q6pQuad(q: usize, a: usize, sA: v128, sB: v128): v128 {
  const x = v128.load(q), y = v128.load(q, 16), z = v128.load(q, 32);
  const k6 = v128.load(K6);
  return q6pDots(a, v128.and(x, k6), v128.and(y, k6), v128.and(z, k6), q6pFourth(x, y, z), sA, sB);
}

// q6pQuad on the quad's four vectors already unpacked (v0..v3).
@inline function q6pDots(a: usize, v0: v128, v1: v128, v2: v128, v3: v128, sA: v128, sB: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    const pA = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a), v0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 16), v1));
    const pB = i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 32), v2), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(a, 48), v3));
    return i32x4.add(i32x4.dot_i16x8_s(pA, sA), i32x4.dot_i16x8_s(pB, sB));
  }
  unreachable(); // the plain build keeps Q6_K as stored (Engine.repackForDecode)
  return v0;
}

// dotQ6KP for two activation rows (a, a + stride), the sums (+)= into cA and cB: each quad's 6-bit values
// unpacked and its scales widened once for both rows; each row's integer lanes and float operations as
// dotQ6KP's, in the same order, so the same bits.
@inline function dotQ6KPPair(w: usize, a: usize, stride: usize, nsb: i32, cA: usize, cB: usize, add: bool): void {
  let accA = f32x4.splat(0), accB = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const wb = w + <usize>b * 210, ab = a + <usize>b * QK;
    let sa = i32x4.splat(0), sb = i32x4.splat(0);
    const end = wb + 192;
    let ap = ab + KI8, p = end;
    for (let q = wb; q < end; q += 48) {
      const sA = i16x8.extend_low_i8x16_s(v128.load16_splat(p));
      const sB = i16x8.extend_low_i8x16_s(v128.load16_splat(p + 2));
      const x = v128.load(q), y = v128.load(q, 16), z = v128.load(q, 32);
      const k6 = v128.load(K6);
      const v0 = v128.and(x, k6), v1 = v128.and(y, k6), v2 = v128.and(z, k6), v3 = q6pFourth(x, y, z);
      sa = i32x4.add(sa, q6pDots(ap, v0, v1, v2, v3, sA, sB));
      sb = i32x4.add(sb, q6pDots(ap + stride, v0, v1, v2, v3, sA, sB));
      ap += 64;
      p += 4;
    }
    accA = f32x4.add(accA, q6kLanes(wb, ab, sa, q6kOffsetSums(wb, ab)));
    accB = f32x4.add(accB, q6kLanes(wb, ab + stride, sb, q6kOffsetSums(wb, ab + stride)));
  }
  finish(cA, add, hsum(accA));
  finish(cB, add, hsum(accB));
}

// One Q6K_P super-block against its permuted Q8_K activation block: the lanes of q6kBlock, bit for bit.
@inline function q6kpBlock(wb: usize, ab: usize): v128 {
  // a loop, not four copies: V8 schedules a basic block's loads ahead of its arithmetic, and the whole
  // super-block as one block spilled most of its vectors (15.7 -> 19.7 GB/s per CPU second); pointers stepped
  // (quad q at wb + 48·j, its activations at + 64·j, its scales at 192 + 4·j), not computed from j: +2-4%
  let s = i32x4.splat(0);
  const end = wb + 192;
  let a = ab + KI8, p = end;
  for (let q = wb; q < end; q += 48) {
    // the scales of groups 4j, 4j+1 (4j+2, 4j+3) as an i16 pair in every 32-bit lane
    const sA = i16x8.extend_low_i8x16_s(v128.load16_splat(p));
    const sB = i16x8.extend_low_i8x16_s(v128.load16_splat(p + 2));
    s = i32x4.add(s, q6pQuad(q, a, sA, sB));
    a += 64;
    p += 4;
  }
  return q6kLanes(wb, ab, s, q6kOffsetSums(wb, ab));
}

@inline function dotQ6KP(w: usize, a: usize, nsb: i32): f32 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) acc = f32x4.add(acc, q6kpBlock(w + <usize>b * 210, a + <usize>b * QK));
  return hsum(acc);
}

// ---- Q4_K / Q5_K, four rows interleaved for decode (Q4K_X4, Q5K_X4) ----
// One super-block index of four rows (576 bytes Q4_K, 704 Q5_K: the four stored super-blocks' bytes moved):
//   0: the four rows' d (f16), 8: their dmin;
//   16, 32, 48: bytes 0-3, 4-7 and 8-11 of the rows' 12 packed 6-bit scale and min bytes, byte i of row r at
//     position kx4Pos(r, i), so that one vector unpack serves four rows and leaves the scales (and mins) of
//     sub-blocks 2c and 2c+1 as an i16 pair per row (c = 0..3: low/high half of the low/high vector);
//   Q5_K: 64: the rows' 32 bytes of fifth bits, row r at 64 + 32r;
//   then (at 64, Q5_K 192) for each pair c of sub-blocks the four rows' 32 bytes of nibbles qs[32c..32c+31]
//     (Q4_K in the kx4Mix order), row r at + 128c + 32r, so a pass reads one sequential stream.
// Each activation vector is loaded once for four rows, and the rows' byte-dot lanes are added across rows
// in i16 before the multiply-add by their scales. The integer super-block sums are the stored kernel's.

@inline function kx4Pos(r: i32, i: i32): usize {
  return <usize>(((i >> 1) << 3) + (r << 1) + (i & 1));
}

// Byte dots of one row's 32 values against activations x0, x1 (i16 lanes of four products each).
@inline function kx4Pairs(x0: v128, x1: v128, w0: v128, w1: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(x0, w0), i16x8.relaxed_dot_i8x16_i7x16_s(x1, w1));
  }
  unreachable(); // the plain build keeps Q4_K/Q5_K as stored (Engine.repackForDecode)
  return w0;
}

// Q5_K: sub-blocks 2c and 2c+1 (s0, s1: each row's scale in both lanes of its i16 pair) of four rows times
// their scales, i32 lane r = row r. Lanes reach 4·127·31 a row, so only pairs of rows are added in i16 and
// the rest after the multiply-add. The rows are a loop (V8 would load all four rows' vectors ahead and
// spill): l0..l3 and h0..h3 end as rows 0..3.
@inline function kx4Pair5(wb: usize, qc: usize, c: i32, a0: v128, a1: v128, a2: v128, a3: v128, s0: v128, s1: v128): v128 {
  let l0 = i32x4.splat(0), l1 = i32x4.splat(0), l2 = i32x4.splat(0), l3 = i32x4.splat(0);
  let h0 = i32x4.splat(0), h1 = i32x4.splat(0), h2 = i32x4.splat(0), h3 = i32x4.splat(0);
  for (let r = 0; r < 4; r++) {
    const q = qc + (<usize>r << 5), x = wb + 64 + (<usize>r << 5);
    const q0 = v128.load(q), q1 = v128.load(q, 16), x0 = v128.load(x), x1 = v128.load(x, 16);
    const lo = v128.load(NIB);
    const pl = kx4Pairs(a0, a1, v128.or(v128.and(q0, lo), qhBit(x0, 2 * c)), v128.or(v128.and(q1, lo), qhBit(x1, 2 * c)));
    const ph = kx4Pairs(a2, a3, v128.or(nibHi(q0), qhBit(x0, 2 * c + 1)), v128.or(nibHi(q1), qhBit(x1, 2 * c + 1)));
    l0 = l1;
    l1 = l2;
    l2 = l3;
    l3 = pl;
    h0 = h1;
    h1 = h2;
    h2 = h3;
    h3 = ph;
  }
  return i32x4.add(kx4Rows5(l0, l1, l2, l3, s0), kx4Rows5(h0, h1, h2, h3, s1));
}

// Four Q5_K rows' byte-dot lanes p_r times s (each row's scale in both lanes of its i16 pair): lane r.
@inline function kx4Rows5(p0: v128, p1: v128, p2: v128, p3: v128, s: v128): v128 {
  const t01 = i16x8.add(v128.shuffle<i64>(p0, p1, 0, 2), v128.shuffle<i64>(p0, p1, 1, 3));
  const t23 = i16x8.add(v128.shuffle<i64>(p2, p3, 0, 2), v128.shuffle<i64>(p2, p3, 1, 3));
  const a = i32x4.dot_i16x8_s(t01, v128.shuffle<i32>(s, s, 0, 0, 1, 1));
  const b = i32x4.dot_i16x8_s(t23, v128.shuffle<i32>(s, s, 2, 2, 3, 3));
  return i32x4.add(v128.shuffle<i32>(a, b, 0, 2, 4, 6), v128.shuffle<i32>(a, b, 1, 3, 5, 7));
}

// One row's 64 values of a pair in the kx4Mix order (32 bytes at q) against the mixed activations: i16 lanes
// alternating the pair's two sub-blocks.
@inline function kx4MixRow(q: usize, a0: v128, a1: v128, a2: v128, a3: v128): v128 {
  const q0 = v128.load(q), q1 = v128.load(q, 16);
  const lo = v128.load(NIB);
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i16x8.add(
      i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(a0, v128.and(q0, lo)), i16x8.relaxed_dot_i8x16_i7x16_s(a1, v128.and(q1, lo))),
      i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(a2, nibHi(q0)), i16x8.relaxed_dot_i8x16_i7x16_s(a3, nibHi(q1))),
    );
  }
  unreachable(); // the plain build keeps Q4_K as stored (Engine.repackForDecode)
  return q0;
}

// The kx4Mix order of a pair's 64 values (Q4K_X4 nibbles and their activations, quant_q8k_rows_kx4): from
// j = sub-block 2c and k = 2c+1 as 16-value vectors J0, J1 (j's values 0-15, 16-31) and K0, K1, the
// vectors V0 = J0 and K0's 16-bit pairs interleaved from their low halves, V1 from their high halves, V2,
// V3 likewise from J1, K1 (a byte dot's i16 lane then holds one pair of j or of k).
@inline function mixLo(x: v128, y: v128): v128 {
  return v128.shuffle<i16>(x, y, 0, 8, 1, 9, 2, 10, 3, 11);
}
@inline function mixHi(x: v128, y: v128): v128 {
  return v128.shuffle<i16>(x, y, 4, 12, 5, 13, 6, 14, 7, 15);
}
// The inverse: the even (j) or odd (k) 16-bit pairs of V0 then V1.
@inline function unmixEven(x: v128, y: v128): v128 {
  return v128.shuffle<i16>(x, y, 0, 2, 4, 6, 8, 10, 12, 14);
}
@inline function unmixOdd(x: v128, y: v128): v128 {
  return v128.shuffle<i16>(x, y, 1, 3, 5, 7, 9, 11, 13, 15);
}

/** As quant_q8k_rows, with each 64 values in the kx4Mix order (the sums per 16 and 32 as there). */
export function quant_q8k_rows_kx4(x: usize, ldx: i32, K: i32, out: usize, m0: i32, m1: i32): void {
  quant_q8k_rows(x, ldx, K, out, m0, m1);
  const nsb = K >> 8;
  for (let m = m0; m < m1; m++) {
    for (let b = 0; b < nsb; b++) {
      const v = out + (<usize>m * nsb + <usize>b) * QK + KI8;
      for (let c = 0; c < 4; c++) {
        const p = v + (<usize>c << 6);
        const j0 = v128.load(p), j1 = v128.load(p, 16), k0 = v128.load(p, 32), k1 = v128.load(p, 48);
        v128.store(p, mixLo(j0, k0));
        v128.store(p, mixHi(j0, k0), 16);
        v128.store(p, mixLo(j1, k1), 32);
        v128.store(p, mixHi(j1, k1), 48);
      }
    }
  }
}

// Pair c of sub-blocks of four rows: Σ scale·(q·a) per row as i32 lanes. e: the pair's scales, an i16
// pair per row.
@inline function kx4Pair(wb: usize, qs: usize, ab: usize, c: i32, e: v128, five: bool): v128 {
  const ap = ab + KI8 + (<usize>c << 6);
  const qc = qs + (<usize>c << 7);
  if (!five) {
    // Q4_K: nibbles and activations both in the kx4Mix order, so each row's four byte dots add into one
    // vector whose i16 lanes alternate sub-blocks 2c and 2c+1 (8 products each); two rows added in i16,
    // then one multiply-add by each row's scale pair (e's 32-bit lane r)
    const a0 = v128.load(ap), a1 = v128.load(ap, 16), a2 = v128.load(ap, 32), a3 = v128.load(ap, 48);
    // a loop over the rows (V8 would load all four rows' nibbles ahead and spill): p0..p3 end as rows 0..3
    let p0 = i32x4.splat(0), p1 = i32x4.splat(0), p2 = i32x4.splat(0), p3 = i32x4.splat(0);
    for (let r = 0; r < 4; r++) {
      const p = kx4MixRow(qc + (<usize>r << 5), a0, a1, a2, a3);
      p0 = p1;
      p1 = p2;
      p2 = p3;
      p3 = p;
    }
    const t01 = i16x8.add(v128.shuffle<i64>(p0, p1, 0, 2), v128.shuffle<i64>(p0, p1, 1, 3));
    const t23 = i16x8.add(v128.shuffle<i64>(p2, p3, 0, 2), v128.shuffle<i64>(p2, p3, 1, 3));
    const x = i32x4.dot_i16x8_s(t01, v128.shuffle<i32>(e, e, 0, 0, 1, 1));
    const y = i32x4.dot_i16x8_s(t23, v128.shuffle<i32>(e, e, 2, 2, 3, 3));
    return i32x4.add(v128.shuffle<i32>(x, y, 0, 2, 4, 6), v128.shuffle<i32>(x, y, 1, 3, 5, 7));
  }
  const sj = v128.shuffle<i16>(e, e, 0, 0, 2, 2, 4, 4, 6, 6);
  const sk = v128.shuffle<i16>(e, e, 1, 1, 3, 3, 5, 5, 7, 7);
  return kx4Pair5(wb, qc, c, v128.load(ap), v128.load(ap, 16), v128.load(ap, 32), v128.load(ap, 48), sj, sk);
}

// The scales of sub-blocks 4..7 of a Q4K_X4/Q5K_X4 group (bytes 8-11 low nibbles, top bits of 0-3).
@inline function kx4ScalesHi(wb: usize): v128 {
  return v128.or(v128.and(v128.load(wb, 48), v128.load(NIB)), v128.and(i16x8.shr_u(v128.load(wb, 16), 2), v128.load(HI2)));
}

// Four interleaved Q4_K/Q5_K rows (Q4K_X4/Q5K_X4) against one Q8_K activation row: lane r is row r's sum.
@inline function dotQ45Kx4(w: usize, a: usize, nsb: i32, five: bool): v128 {
  const size: usize = five ? 704 : 576;
  const qsAt: usize = five ? 192 : 64;
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const wb = w + <usize>b * size, ab = a + <usize>b * QK;
    // the sums first, each pair's scales unpacked where it starts, the mins and the float tail last (V8
    // hoists a block's loads: unpacked here up front, they were held across the pairs, spilled)
    const qs = wb + qsAt;
    let isum = kx4Pair(wb, qs, ab, 0, i16x8.extend_low_i8x16_u(v128.and(v128.load(wb, 16), v128.load(K6))), five);
    isum = i32x4.add(isum, kx4Pair(wb, qs, ab, 1, i16x8.extend_high_i8x16_u(v128.and(v128.load(wb, 16), v128.load(K6))), five));
    isum = i32x4.add(isum, kx4Pair(wb, qs, ab, 2, i16x8.extend_low_i8x16_u(kx4ScalesHi(wb)), five));
    isum = i32x4.add(isum, kx4Pair(wb, qs, ab, 3, i16x8.extend_high_i8x16_u(kx4ScalesHi(wb)), five));
    acc = f32x4.add(acc, kx4Lanes(wb, ab, isum));
  }
  return acc;
}

// Four Q4K_X4 rows against one Q8_K activation row: lane r is row r's sum. The pairs of sub-blocks are a loop
// with the sums carried: written out as in dotQ45Kx4, binaryen and V8 moved every pair's cross-row reduction
// after the last pair (16 vectors held across the pairs) or spilled the scales unpacked up front; the loop
// reads 22.2-23.3 -> 23.5-24.7 GB/s per CPU second streamed, the same results bit for bit. (Q5_K in such a
// loop measured 6-9% slower, and dotQ45Kx4 with `five` a constant 25% slower: Q5_K keeps dotQ45Kx4, with
// `five` an argument of mmdKx4.)
@inline function dotQ4Kx4(w: usize, a: usize, nsb: i32): v128 {
  let acc = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const wb = w + <usize>b * 576, ab = a + <usize>b * QK;
    let isum = i32x4.splat(0);
    for (let c = 0; c < 4; c++) {
      // pair c's scales (sub-blocks 2c, 2c+1), an i16 pair per row: 8 of the regrouped scale bytes
      const o = wb + (<usize>(c & 1) << 3);
      let sc: v128;
      if (c < 2) sc = v128.and(v128.load64_zero(o + 16), v128.load(K6));
      else sc = v128.or(v128.and(v128.load64_zero(o + 48), v128.load(NIB)), v128.and(i16x8.shr_u(v128.load64_zero(o + 16), 2), v128.load(HI2)));
      isum = i32x4.add(isum, kx4Pair(wb, wb + 64, ab, c, i16x8.extend_low_i8x16_u(sc), false));
    }
    acc = f32x4.add(acc, kx4Lanes(wb, ab, isum));
  }
  return acc;
}

// kx4Pair's reduction of four rows' i16 lanes p0..p3 by their scale pairs (eLo: rows 0-1's, eHi: 2-3's).
@inline function kx4Reduce(p0: v128, p1: v128, p2: v128, p3: v128, eLo: v128, eHi: v128): v128 {
  const t01 = i16x8.add(v128.shuffle<i64>(p0, p1, 0, 2), v128.shuffle<i64>(p0, p1, 1, 3));
  const t23 = i16x8.add(v128.shuffle<i64>(p2, p3, 0, 2), v128.shuffle<i64>(p2, p3, 1, 3));
  const x = i32x4.dot_i16x8_s(t01, eLo);
  const y = i32x4.dot_i16x8_s(t23, eHi);
  return i32x4.add(v128.shuffle<i32>(x, y, 0, 2, 4, 6), v128.shuffle<i32>(x, y, 1, 3, 5, 7));
}

// kx4MixRow on nibbles already unpacked (l0, l1 low, h0, h1 high) against the mixed activations at ap.
@inline function kx4MixDot(ap: usize, l0: v128, l1: v128, h0: v128, h1: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return i16x8.add(
      i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ap), l0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ap, 16), l1)),
      i16x8.add(i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ap, 32), h0), i16x8.relaxed_dot_i8x16_i7x16_s(v128.load(ap, 48), h1)),
    );
  }
  unreachable(); // the plain build keeps Q4_K as stored (Engine.repackForDecode)
  return l0;
}

// Σ_j min_j·(Σa)_j per row (kx4Lanes' msum) from the four rows' mins widened to i16 (sub-blocks 0-1, 2-3,
// 4-5, 6-7) against activation block ab.
@inline function kx4Msum(n0: v128, n1: v128, n2: v128, n3: v128, ab: usize): v128 {
  return i32x4.add(
    i32x4.add(i32x4.dot_i16x8_s(n0, v128.load32_splat(ab + KS32)), i32x4.dot_i16x8_s(n1, v128.load32_splat(ab + KS32 + 4))),
    i32x4.add(i32x4.dot_i16x8_s(n2, v128.load32_splat(ab + KS32 + 8)), i32x4.dot_i16x8_s(n3, v128.load32_splat(ab + KS32 + 12))),
  );
}

// dotQ4Kx4 for two activation rows (a, a + stride), the results (+)= into cA and cB: each pair of
// sub-blocks' nibbles unpacked once for both rows, the scales, mins, d and dmin once. Each row gets
// dotQ4Kx4's integer sums (the same i16 groupings) and the same float operations in the same order, so the
// same bits. The weight rows are a loop with the rows' lanes rotating (V8 hoists a basic block's loads); it
// still spills (two rows cost 0.91x two single rows; two weight rows a step measured the same).
@inline function dotQ4Kx4Pair(w: usize, a: usize, stride: usize, nsb: i32, cA: usize, cB: usize, add: bool): void {
  let accA = f32x4.splat(0), accB = f32x4.splat(0);
  for (let b = 0; b < nsb; b++) {
    const wb = w + <usize>b * 576, ab = a + <usize>b * QK, bb = ab + stride;
    let iA = i32x4.splat(0), iB = i32x4.splat(0);
    for (let c = 0; c < 4; c++) {
      const o = wb + (<usize>(c & 1) << 3);
      let sc: v128;
      if (c < 2) sc = v128.and(v128.load64_zero(o + 16), v128.load(K6));
      else sc = v128.or(v128.and(v128.load64_zero(o + 48), v128.load(NIB)), v128.and(i16x8.shr_u(v128.load64_zero(o + 16), 2), v128.load(HI2)));
      const e = i16x8.extend_low_i8x16_u(sc);
      const ap = ab + KI8 + (<usize>c << 6), bp = ap + stride;
      const qc = wb + 64 + (<usize>c << 7);
      let a0 = i32x4.splat(0), a1 = i32x4.splat(0), a2 = i32x4.splat(0), a3 = i32x4.splat(0);
      let b0 = i32x4.splat(0), b1 = i32x4.splat(0), b2 = i32x4.splat(0), b3 = i32x4.splat(0);
      for (let r = 0; r < 4; r++) {
        const q = qc + (<usize>r << 5);
        const q0 = v128.load(q), q1 = v128.load(q, 16);
        const lo = v128.load(NIB);
        const l0 = v128.and(q0, lo), l1 = v128.and(q1, lo), h0 = nibHi(q0), h1 = nibHi(q1);
        const pa = kx4MixDot(ap, l0, l1, h0, h1), pb = kx4MixDot(bp, l0, l1, h0, h1);
        a0 = a1;
        a1 = a2;
        a2 = a3;
        a3 = pa;
        b0 = b1;
        b1 = b2;
        b2 = b3;
        b3 = pb;
      }
      const eLo = v128.shuffle<i32>(e, e, 0, 0, 1, 1), eHi = v128.shuffle<i32>(e, e, 2, 2, 3, 3);
      iA = i32x4.add(iA, kx4Reduce(a0, a1, a2, a3, eLo, eHi));
      iB = i32x4.add(iB, kx4Reduce(b0, b1, b2, b3, eLo, eHi));
    }
    // kx4Lanes for both rows, the mins and the f16 conversions shared
    const u1 = v128.load(wb, 32), u2 = v128.load(wb, 48);
    const mLo = v128.and(u1, v128.load(K6));
    const mHi = v128.or(nibHi(u2), v128.and(i16x8.shr_u(u1, 2), v128.load(HI2)));
    const n0 = i16x8.extend_low_i8x16_u(mLo), n1 = i16x8.extend_high_i8x16_u(mLo);
    const n2 = i16x8.extend_low_i8x16_u(mHi), n3 = i16x8.extend_high_i8x16_u(mHi);
    const hdr = v128.load(wb);
    const dw = h2f4x(i32x4.extend_low_i16x8_s(hdr)), mw = h2f4x(i32x4.extend_high_i16x8_s(hdr));
    const daA = v128.load32_splat(ab), daB = v128.load32_splat(bb);
    const msA = kx4Msum(n0, n1, n2, n3, ab), msB = kx4Msum(n0, n1, n2, n3, bb);
    accA = f32x4.add(accA, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(iA), f32x4.mul(dw, daA)), f32x4.mul(f32x4.convert_i32x4_s(msA), f32x4.mul(mw, daA))));
    accB = f32x4.add(accB, f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(iB), f32x4.mul(dw, daB)), f32x4.mul(f32x4.convert_i32x4_s(msB), f32x4.mul(mw, daB))));
  }
  v128.store(cA, add ? f32x4.add(v128.load(cA), accA) : accA);
  v128.store(cB, add ? f32x4.add(v128.load(cB), accB) : accB);
}

// A Q4K_X4/Q5K_X4 super-block index from its four rows' integer sums isum: the mins against the activation
// sums, then d·d_a and dmin·d_a, as f32 lanes (one per row).
@inline function kx4Lanes(wb: usize, ab: usize, isum: v128): v128 {
  const u1 = v128.load(wb, 32), u2 = v128.load(wb, 48);
  const mLo = v128.and(u1, v128.load(K6));
  const mHi = v128.or(nibHi(u2), v128.and(i16x8.shr_u(u1, 2), v128.load(HI2)));
  // Σ_j min_j·(Σa)_j per row: the mins of sub-blocks 2c, 2c+1 against the activation sums of both
  const msum = i32x4.add(
    i32x4.add(
      i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(mLo), v128.load32_splat(ab + KS32)),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(mLo), v128.load32_splat(ab + KS32 + 4)),
    ),
    i32x4.add(
      i32x4.dot_i16x8_s(i16x8.extend_low_i8x16_u(mHi), v128.load32_splat(ab + KS32 + 8)),
      i32x4.dot_i16x8_s(i16x8.extend_high_i8x16_u(mHi), v128.load32_splat(ab + KS32 + 12)),
    ),
  );
  const hdr = v128.load(wb);
  const da = v128.load32_splat(ab);
  const d = f32x4.mul(h2f4x(i32x4.extend_low_i16x8_s(hdr)), da);
  const dmin = f32x4.mul(h2f4x(i32x4.extend_high_i16x8_s(hdr)), da);
  return f32x4.sub(f32x4.mul(f32x4.convert_i32x4_s(isum), d), f32x4.mul(f32x4.convert_i32x4_s(msum), dmin));
}

// 32 bytes from src to dst (memory.copy is a call in V8, costly at this size).
@inline function copy32(dst: usize, src: usize): void {
  v128.store(dst, v128.load(src));
  v128.store(dst, v128.load(src, 16), 16);
}

// mmd_q on Q4K_X4 (mmdQ4Kx4) and Q5K_X4 (five), four rows a pass (n0 and n1 are multiples of 4). V8 schedules the loads
// of a basic block ahead of its arithmetic: a super-block as one block holds every row's nibble vectors at
// once and spills most of them (Q4_K 11 GB/s), so the rows of each pair of sub-blocks are a loop.
function mmdKx4(aq: usize, stride: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, nsb: i32, m0: i32, m1: i32, n0: i32, n1: i32, add: bool, five: bool): void {
  for (let n = n0; n < n1; n += 4) {
    const g = w + <usize>n * rowBytes;
    for (let m = m0; m < m1; m++) {
      const v = dotQ45Kx4(g, aq + <usize>m * stride, nsb, five);
      const cp = c + ((<usize>m * ldc + n) << 2);
      v128.store(cp, add ? f32x4.add(v128.load(cp), v) : v);
    }
  }
}

function mmdQ4Kx4(aq: usize, stride: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, nsb: i32, m0: i32, m1: i32, n0: i32, n1: i32, add: bool): void {
  for (let n = n0; n < n1; n += 4) {
    const g = w + <usize>n * rowBytes;
    let m = m0;
    // rows in pairs (each super-block's nibbles unpacked and scales converted once for both), then one alone
    for (; m + 1 < m1; m += 2) {
      const cp = c + ((<usize>m * ldc + n) << 2);
      dotQ4Kx4Pair(g, aq + <usize>m * stride, stride, nsb, cp, cp + (<usize>ldc << 2), add);
    }
    for (; m < m1; m++) {
      const v = dotQ4Kx4(g, aq + <usize>m * stride, nsb);
      const cp = c + ((<usize>m * ldc + n) << 2);
      v128.store(cp, add ? f32x4.add(v128.load(cp), v) : v);
    }
  }
}

/**
 * Rewrites a Q4_K (five = 0) or Q5_K (five = 1) matrix of `rows` rows (a multiple of 4) in place as
 * Q4K_X4/Q5K_X4 groups. scratch holds 4·rowBytes.
 */
export function repack_q45k_x4(w: usize, rows: i32, rowBytes: i32, five: i32, scratch: usize): void {
  const bs: usize = five ? 176 : 144;
  const nsb = <usize>rowBytes / bs;
  const qsIn: usize = five ? 48 : 16, qsOut: usize = five ? 192 : 64;
  const gb = <usize>rowBytes << 2;
  for (let g = 0; g < rows >> 2; g++) {
    const base = w + <usize>g * gb;
    memory.copy(scratch, base, gb);
    for (let b: usize = 0; b < nsb; b++) {
      const o = base + (b * bs << 2);
      for (let r = 0; r < 4; r++) {
        const src = scratch + <usize>r * rowBytes + b * bs;
        const ro = <usize>r << 1;
        store<u16>(o + ro, load<u16>(src));
        store<u16>(o + 8 + ro, load<u16>(src, 2));
        // bytes 0-1 of each scale word at kx4Pos(r, 0..1) = 2r, bytes 2-3 at kx4Pos(r, 2..3) = 8 + 2r
        for (let k: usize = 0; k < 3; k++) {
          const u = load<u32>(src + 4 + (k << 2));
          store<u16>(o + 16 + (k << 4) + ro, <u16>u);
          store<u16>(o + 24 + (k << 4) + ro, <u16>(u >> 16));
        }
        for (let c: usize = 0; c < 4; c++) {
          const dst = o + qsOut + (c << 7) + (<usize>r << 5), q = src + qsIn + (c << 5);
          if (five) copy32(dst, q);
          else {
            // stored: low nibbles j (values 0-31 of sub-block 2c), high nibbles k (2c+1)
            const lo = v128.load(NIB), q0 = v128.load(q), q1 = v128.load(q, 16);
            const j0 = v128.and(q0, lo), j1 = v128.and(q1, lo), k0 = nibHi(q0), k1 = nibHi(q1);
            v128.store(dst, v128.or(mixLo(j0, k0), i16x8.shl(mixLo(j1, k1), 4)));
            v128.store(dst, v128.or(mixHi(j0, k0), i16x8.shl(mixHi(j1, k1), 4)), 16);
          }
        }
        if (five) copy32(o + 64 + (<usize>r << 5), src + 16);
      }
    }
  }
}

/** Writes row r (0..3) of the Q4K_X4/Q5K_X4 super-block group at g back in the stored layout at dst. */
export function kx4_to_stored(g: usize, r: i32, dst: usize, five: i32): void {
  const qsIn: usize = five ? 192 : 64, qsOut: usize = five ? 48 : 16;
  const ro = <usize>r << 1;
  store<u16>(dst, load<u16>(g + ro));
  store<u16>(dst, load<u16>(g + 8 + ro), 2);
  for (let k: usize = 0; k < 3; k++) {
    const p = g + 16 + (k << 4) + ro;
    store<u32>(dst + 4 + (k << 2), <u32>load<u16>(p) | (<u32>load<u16>(p, 8) << 16));
  }
  if (five) copy32(dst + 16, g + 64 + (<usize>r << 5));
  for (let c: usize = 0; c < 4; c++) {
    const out = dst + qsOut + (c << 5), q = g + qsIn + (c << 7) + (<usize>r << 5);
    if (five) copy32(out, q);
    else {
      const lo = v128.load(NIB), q0 = v128.load(q), q1 = v128.load(q, 16);
      const v0 = v128.and(q0, lo), v1 = v128.and(q1, lo), v2 = nibHi(q0), v3 = nibHi(q1);
      v128.store(out, v128.or(unmixEven(v0, v1), i16x8.shl(unmixOdd(v0, v1), 4)));
      v128.store(out, v128.or(unmixEven(v2, v3), i16x8.shl(unmixOdd(v2, v3), 4)), 16);
    }
  }
}

// A Q6K_P super-block as f32, the values of dequantQ6K: (d·scale)·(q − 32).
function dequantQ6KP(wb: usize, ob: usize): void {
  const d = h2f(load<u16>(wb, 208));
  const off = i8x16.splat(32);
  for (let g = 0; g < 16; g++) {
    bytesMulF32(i8x16.sub(q6pGroup(wb, g), off), f32x4.splat(d * <f32>load<i8>(wb + 192 + <usize>g)), ob + (<usize>g << 6));
  }
}

// ---- dequantisation of row panels ----

/** Writes W[r0..r1, k0..k1] as f32 into out (row stride ldo); k0, k1 are multiples of the block size. */
export function dequant_rows(type: i32, w: usize, rowBytes: i32, r0: i32, r1: i32, k0: i32, k1: i32, out: usize, ldo: i32): void {
  if (type == F16P) {
    for (let r = r0; r < r1; r++) dequantRowF16P(w, rowBytes >> 1, r, k0, k1, out + ((<usize>(r - r0) * ldo) << 2));
    return;
  }
  if (type == Q4_0X4) {
    for (let r = r0; r < r1; r++) dequantRowQ4_0x4(w + <usize>(r >> 2) * (<usize>rowBytes << 2), r & 3, k0, k1, out + ((<usize>(r - r0) * ldo) << 2));
    return;
  }
  if (type == Q4K_X4 || type == Q5K_X4) {
    for (let r = r0; r < r1; r++) {
      const g = w + <usize>(r >> 2) * (<usize>rowBytes << 2);
      dequantRowKx4(g, r & 3, k0, k1, out + ((<usize>(r - r0) * ldo) << 2), type == Q5K_X4);
    }
    return;
  }
  if (type == ROWS4 + Q8_0) {
    // interleaved: row r's block b at group + (4b + r mod 4)·34, so its blocks are 4·34 bytes apart
    for (let r = r0; r < r1; r++) {
      const g = w + <usize>(r >> 2) * (<usize>rowBytes << 2);
      dequantRow(Q8_0, g + <usize>(r & 3) * 34, k0, k1, out + ((<usize>(r - r0) * ldo) << 2), 4);
    }
    return;
  }
  for (let r = r0; r < r1; r++) {
    const wr = w + <usize>r * rowBytes;
    const o = out + ((<usize>(r - r0) * ldo) << 2);
    if (type == Q6K_P) {
      for (let b = k0 >> 8; b < k1 >> 8; b++) dequantQ6KP(wr + <usize>b * 210, o + (<usize>((b << 8) - k0) << 2));
    } else dequantRow(type, wr, k0, k1, o, 1);
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

// Row j (0..3) of the Q4_0X4 group at g, values k0..k1, as the Q4_0 path of dequantRow.
function dequantRowQ4_0x4(g: usize, j: i32, k0: i32, k1: i32, o: usize): void {
  const eight = i8x16.splat(8), lo = i8x16.splat(0x0f);
  for (let b = k0 >> 5; b < k1 >> 5; b++) {
    const wb = g + <usize>b * 72;
    const ob = o + (<usize>((b << 5) - k0) << 2);
    const d = f32x4.splat(h2f(load<u16>(wb + (<usize>j << 1))));
    const q = v128.load(wb + 8 + (<usize>j << 4));
    bytesToF32(i8x16.sub(v128.and(q, lo), eight), d, f32x4.splat(0), ob);
    bytesToF32(i8x16.sub(nibHi(q), eight), d, f32x4.splat(0), ob + 64);
  }
}

// Values k0..k1 of the row whose first block is at wr, its blocks `spread` block sizes apart (1: as stored;
// 4: Q8_0 interleaved four rows at a time).
function dequantRow(type: i32, wr: usize, k0: i32, k1: i32, o: usize, spread: usize): void {
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
      const wb = wr + <usize>b * 34 * spread;
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

// 16 signed bytes q as f32 q·d at o (64 bytes): as bytesToF32 without the add, so a zero keeps its sign.
@inline function bytesMulF32(q: v128, d: v128, o: usize): void {
  const lo = i16x8.extend_low_i8x16_s(q), hi = i16x8.extend_high_i8x16_s(q);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(lo)), d));
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(lo)), d), 16);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_low_i16x8_s(hi)), d), 32);
  v128.store(o, f32x4.mul(f32x4.convert_i32x4_s(i32x4.extend_high_i16x8_s(hi)), d), 48);
}

// One Q4_K/Q5_K super-block as f32: d·scale·q − dmin·min per 32-value sub-block (the format decoder's
// arithmetic, so the values are identical), 16 values a step.
function dequantQ45K(wb: usize, ob: usize, five: bool): void {
  dequantQ45KAt(load<u16>(wb), load<u16>(wb, 2), load<u32>(wb, 4), load<u32>(wb, 8), load<u32>(wb, 12), wb + 16, wb + (five ? 48 : 16), 32, ob, five, false);
}

// Byte i of u.
@inline function byteOf(u: u32, i: i32): i32 {
  return <i32>((u >> (<u32>i << 3)) & 0xff);
}

// As dequantQ45K from the super-block's fields: f16 d and dmin, the 12 scale/min bytes as three u32, the
// fifth bits at qh (Q5_K) and the nibbles of sub-block pair c at qs + c·cStride (mixed: in the kx4Mix order).
@inline function dequantQ45KAt(dh: u32, mh: u32, u0: u32, u1: u32, u2: u32, qh: usize, qs: usize, cStride: usize, ob: usize, five: bool, mixed: bool): void {
  const d = h2f(dh), dmin = h2f(mh);
  const lo = i8x16.splat(0x0f), sixteen = i8x16.splat(16);
  for (let c = 0; c < 4; c++) {
    // scales and mins of sub-blocks 2c, 2c+1 (kScale, kMin on the three words)
    const j0 = 2 * c, j1 = 2 * c + 1;
    const s0 = j0 < 4 ? byteOf(u0, j0) & 63 : (byteOf(u2, j0 - 4) & 0xf) | ((byteOf(u0, j0 - 4) >> 6) << 4);
    const s1 = j1 < 4 ? byteOf(u0, j1) & 63 : (byteOf(u2, j1 - 4) & 0xf) | ((byteOf(u0, j1 - 4) >> 6) << 4);
    const n0 = j0 < 4 ? byteOf(u1, j0) & 63 : (byteOf(u2, j0 - 4) >> 4) | ((byteOf(u1, j0 - 4) >> 6) << 4);
    const n1 = j1 < 4 ? byteOf(u1, j1) & 63 : (byteOf(u2, j1 - 4) >> 4) | ((byteOf(u1, j1 - 4) >> 6) << 4);
    const d1 = f32x4.splat(d * <f32>s0), m1 = f32x4.splat(-(dmin * <f32>n0));
    const d2 = f32x4.splat(d * <f32>s1), m2 = f32x4.splat(-(dmin * <f32>n1));
    const sl: i32 = 1 << (2 * c), sh: i32 = 2 << (2 * c);
    const bl = i8x16.splat(<i8>sl), bh = i8x16.splat(<i8>sh);
    if (mixed) {
      // Q4K_X4: the pair's nibbles in the kx4Mix order
      const p = qs + <usize>c * cStride, q0 = v128.load(p), q1 = v128.load(p, 16);
      const v0 = v128.and(q0, lo), v1 = v128.and(q1, lo), v2 = nibHi(q0), v3 = nibHi(q1);
      const oc = ob + (<usize>(c << 6) << 2);
      bytesToF32(unmixEven(v0, v1), d1, m1, oc);
      bytesToF32(unmixEven(v2, v3), d1, m1, oc + 64);
      bytesToF32(unmixOdd(v0, v1), d2, m2, oc + 128);
      bytesToF32(unmixOdd(v2, v3), d2, m2, oc + 192);
      continue;
    }
    for (let half = 0; half < 2; half++) {
      const o = <usize>half << 4;
      const q = v128.load(qs + <usize>c * cStride + o);
      let l = v128.and(q, lo), h = nibHi(q);
      if (five) {
        const x = v128.load(qh + o);
        l = v128.or(l, v128.and(i8x16.eq(v128.and(x, bl), bl), sixteen));
        h = v128.or(h, v128.and(i8x16.eq(v128.and(x, bh), bh), sixteen));
      }
      bytesToF32(l, d1, m1, ob + ((<usize>(c << 6) + o) << 2));
      bytesToF32(h, d2, m2, ob + ((<usize>(c << 6) + 32 + o) << 2));
    }
  }
}

// Row r (0..3) of the Q4K_X4/Q5K_X4 group whose first super-block index is at g, values k0..k1.
function dequantRowKx4(g: usize, r: i32, k0: i32, k1: i32, o: usize, five: bool): void {
  const size: usize = five ? 704 : 576;
  const ro = <usize>r << 1;
  for (let b = k0 >> 8; b < k1 >> 8; b++) {
    const wb = g + <usize>b * size;
    const s = wb + 16 + ro;
    // the three scale words of row r: bytes i at kx4Pos(r, i), i.e. (2r, 2r+1) and (8+2r, 9+2r)
    const u0 = <u32>load<u16>(s) | (<u32>load<u16>(s, 8) << 16);
    const u1 = <u32>load<u16>(s, 16) | (<u32>load<u16>(s, 24) << 16);
    const u2 = <u32>load<u16>(s, 32) | (<u32>load<u16>(s, 40) << 16);
    const qs = wb + (five ? 192 : 64) + (<usize>r << 5);
    dequantQ45KAt(load<u16>(wb + ro), load<u16>(wb + 8 + ro), u0, u1, u2, wb + 64 + (<usize>r << 5), qs, 128, o + (<usize>((b << 8) - k0) << 2), five, !five);
  }
}

// One Q6_K super-block as f32: (d·scale)·(q − 32), 16 values a step.
function dequantQ6K(wb: usize, ob: usize): void {
  const d = h2f(load<u16>(wb, 208));
  const lo = i8x16.splat(0x0f), hm = i8x16.splat(0x30), off = i8x16.splat(32);
  for (let h = 0; h < 2; h++) {
    const ql = wb + (<usize>h << 6), qh = wb + 128 + (<usize>h << 5), sc = wb + 192 + (<usize>h << 3);
    for (let part = 0; part < 2; part++) {
      const o = <usize>part << 4;
      const L0 = v128.load(ql + o), L1 = v128.load(ql + 32 + o), H = v128.load(qh + o);
      const v1 = v128.or(v128.and(L0, lo), v128.and(i16x8.shl(H, 4), hm));
      const v2 = v128.or(v128.and(L1, lo), v128.and(i16x8.shl(H, 2), hm));
      const v3 = v128.or(nibHi(L0), v128.and(H, hm));
      const v4 = v128.or(nibHi(L1), v128.and(i16x8.shr_u(H, 2), hm));
      const y = ob + (((<usize>h << 7) + o) << 2);
      const g = sc + <usize>part;
      bytesMulF32(i8x16.sub(v1, off), f32x4.splat(d * <f32>load<i8>(g)), y);
      bytesMulF32(i8x16.sub(v2, off), f32x4.splat(d * <f32>load<i8>(g, 2)), y + 128);
      bytesMulF32(i8x16.sub(v3, off), f32x4.splat(d * <f32>load<i8>(g, 4)), y + 256);
      bytesMulF32(i8x16.sub(v4, off), f32x4.splat(d * <f32>load<i8>(g, 6)), y + 384);
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
