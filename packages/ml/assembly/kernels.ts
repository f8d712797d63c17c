// Compute kernels over raw f32 buffers in (shared) linear memory. Every pointer is a byte offset,
// every stride is in elements. Functions that take a sub-range (m0..m1, n0..n1, t0..t1, h0..h1)
// only touch that part of the output, so the host can split one call across worker threads.

const KC: i32 = 256; // k-block: keeps the A and B panels of one block in L1/L2

@inline function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  return f32x4.add(f32x4.mul(a, b), c);
}

@inline function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// e^x for four lanes: range reduction by ln 2 and a degree-6 polynomial (Cephes expf), ~2 ulp.
// Inputs are clamped to [-87.3, 88.7], so very negative x gives ~1e-38 rather than 0.
@inline function expv(x: v128): v128 {
  // pmin/pmax are one instruction each on x86 (min/max, exact for NaN and -0, several); with the constant
  // second, a NaN x passes through both
  x = f32x4.pmax(f32x4.pmin(x, f32x4.splat(88.7)), f32x4.splat(-87.3));
  // n = x·log2(e) rounded to the nearest integer (ties to even) by adding 1.5·2^23, which also leaves n
  // as an integer in t's low bits: two operations for f32x4.nearest and the saturating conversion V8
  // emulates; the same values
  const t = f32x4.add(f32x4.mul(x, f32x4.splat(1.44269504089)), f32x4.splat(12582912));
  const n = f32x4.sub(t, f32x4.splat(12582912));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693359375)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(-2.12194440e-4)));
  let p = f32x4.splat(1.9875691500e-4);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.3981999507e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(8.3334519073e-3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(4.1665795894e-2));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.6666665459e-1));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(5.0000001201e-1));
  p = f32x4.add(f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r), f32x4.splat(1));
  const e = i32x4.shl(i32x4.sub(t, i32x4.splat(0x4b400000 - 127)), 23);
  return f32x4.mul(p, e);
}

@inline function exps(x: f32): f32 {
  return f32x4.extract_lane(expv(f32x4.splat(x)), 0);
}

@inline function at(p: usize, i: i32): usize {
  return p + (<usize>i << 2);
}

export function relaxed(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

// C[m,n] (+)= sum_k A[m,k] * B[n,k]   (A·Bᵀ: both operands contiguous along k)
export function mm_abt(
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, K: i32,
  m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32,
): void {
  for (let kb = 0; kb < K; kb += KC) {
    const ke = min(kb + KC, K);
    const kv = kb + ((ke - kb) & ~3);
    const add = accumulate != 0 || kb > 0;
    for (let nb = n0; nb < n1; nb += 32) {
      const ne = min(nb + 32, n1);
      let m = m0;
      for (; m + 4 <= m1; m += 4) {
        const a0 = at(a, m * lda), a1 = at(a, (m + 1) * lda), a2 = at(a, (m + 2) * lda), a3 = at(a, (m + 3) * lda);
        let n = nb;
        for (; n + 2 <= ne; n += 2) {
          const b0 = at(b, n * ldb), b1 = at(b, (n + 1) * ldb);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
          let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
          for (let k = kb; k < kv; k += 4) {
            const o = <usize>k << 2;
            const x0 = v128.load(b0 + o), x1 = v128.load(b1 + o);
            let y = v128.load(a0 + o);
            c00 = madd(y, x0, c00); c01 = madd(y, x1, c01);
            y = v128.load(a1 + o);
            c10 = madd(y, x0, c10); c11 = madd(y, x1, c11);
            y = v128.load(a2 + o);
            c20 = madd(y, x0, c20); c21 = madd(y, x1, c21);
            y = v128.load(a3 + o);
            c30 = madd(y, x0, c30); c31 = madd(y, x1, c31);
          }
          let s00 = hsum(c00), s01 = hsum(c01), s10 = hsum(c10), s11 = hsum(c11);
          let s20 = hsum(c20), s21 = hsum(c21), s30 = hsum(c30), s31 = hsum(c31);
          for (let k = kv; k < ke; k++) {
            const o = <usize>k << 2;
            const x0 = load<f32>(b0 + o), x1 = load<f32>(b1 + o);
            s00 += load<f32>(a0 + o) * x0; s01 += load<f32>(a0 + o) * x1;
            s10 += load<f32>(a1 + o) * x0; s11 += load<f32>(a1 + o) * x1;
            s20 += load<f32>(a2 + o) * x0; s21 += load<f32>(a2 + o) * x1;
            s30 += load<f32>(a3 + o) * x0; s31 += load<f32>(a3 + o) * x1;
          }
          const p0 = at(c, m * ldc + n), p1 = at(c, (m + 1) * ldc + n);
          const p2 = at(c, (m + 2) * ldc + n), p3 = at(c, (m + 3) * ldc + n);
          if (add) {
            s00 += load<f32>(p0); s01 += load<f32>(p0, 4); s10 += load<f32>(p1); s11 += load<f32>(p1, 4);
            s20 += load<f32>(p2); s21 += load<f32>(p2, 4); s30 += load<f32>(p3); s31 += load<f32>(p3, 4);
          }
          store<f32>(p0, s00); store<f32>(p0, s01, 4); store<f32>(p1, s10); store<f32>(p1, s11, 4);
          store<f32>(p2, s20); store<f32>(p2, s21, 4); store<f32>(p3, s30); store<f32>(p3, s31, 4);
        }
        for (; n < ne; n++) {
          for (let i = 0; i < 4; i++) abtDot(a, lda, b, ldb, c, ldc, m + i, n, kb, kv, ke, add);
        }
      }
      for (; m < m1; m++) {
        let n = nb;
        const a0 = at(a, m * lda);
        for (; n + 4 <= ne; n += 4) {
          const b0 = at(b, n * ldb), b1 = at(b, (n + 1) * ldb), b2 = at(b, (n + 2) * ldb), b3 = at(b, (n + 3) * ldb);
          let c0 = f32x4.splat(0), c1 = f32x4.splat(0), c2 = f32x4.splat(0), c3 = f32x4.splat(0);
          for (let k = kb; k < kv; k += 4) {
            const o = <usize>k << 2;
            const y = v128.load(a0 + o);
            c0 = madd(y, v128.load(b0 + o), c0);
            c1 = madd(y, v128.load(b1 + o), c1);
            c2 = madd(y, v128.load(b2 + o), c2);
            c3 = madd(y, v128.load(b3 + o), c3);
          }
          let s0 = hsum(c0), s1 = hsum(c1), s2 = hsum(c2), s3 = hsum(c3);
          for (let k = kv; k < ke; k++) {
            const o = <usize>k << 2;
            const y = load<f32>(a0 + o);
            s0 += y * load<f32>(b0 + o); s1 += y * load<f32>(b1 + o);
            s2 += y * load<f32>(b2 + o); s3 += y * load<f32>(b3 + o);
          }
          const p = at(c, m * ldc + n);
          if (add) {
            s0 += load<f32>(p); s1 += load<f32>(p, 4); s2 += load<f32>(p, 8); s3 += load<f32>(p, 12);
          }
          store<f32>(p, s0); store<f32>(p, s1, 4); store<f32>(p, s2, 8); store<f32>(p, s3, 12);
        }
        for (; n < ne; n++) abtDot(a, lda, b, ldb, c, ldc, m, n, kb, kv, ke, add);
      }
    }
  }
}

@inline function abtDot(
  a: usize, lda: i32, b: usize, ldb: i32, c: usize, ldc: i32, m: i32, n: i32, kb: i32, kv: i32, ke: i32, add: bool,
): void {
  const a0 = at(a, m * lda), b0 = at(b, n * ldb);
  let acc = f32x4.splat(0);
  for (let k = kb; k < kv; k += 4) {
    const o = <usize>k << 2;
    acc = madd(v128.load(a0 + o), v128.load(b0 + o), acc);
  }
  let s = hsum(acc);
  for (let k = kv; k < ke; k++) s += load<f32>(a0 + (<usize>k << 2)) * load<f32>(b0 + (<usize>k << 2));
  const p = at(c, m * ldc + n);
  store<f32>(p, add ? load<f32>(p) + s : s);
}

// C[m,n] (+)= sum_k A(m,k) * B[k,n], with A(m,k) at a[m*ars + k*aks]: (ars=lda, aks=1) is A·B and
// (ars=1, aks=lda) is Aᵀ·B. B and C are row-major, vectorised along n.
export function mm_nn(
  a: usize, ars: i32, aks: i32, b: usize, ldb: i32, c: usize, ldc: i32, K: i32,
  m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32,
): void {
  const nv = n0 + ((n1 - n0) & ~7);
  for (let kb = 0; kb < K; kb += KC) {
    const ke = min(kb + KC, K);
    const add = accumulate != 0 || kb > 0;
    for (let nb = n0; nb < nv; nb += 64) {
      const ne = min(nb + 64, nv);
      let m = m0;
      for (; m + 4 <= m1; m += 4) {
        for (let n = nb; n < ne; n += 8) {
          const p0 = at(c, m * ldc + n), p1 = at(c, (m + 1) * ldc + n);
          const p2 = at(c, (m + 2) * ldc + n), p3 = at(c, (m + 3) * ldc + n);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0), c10 = f32x4.splat(0), c11 = f32x4.splat(0);
          let c20 = f32x4.splat(0), c21 = f32x4.splat(0), c30 = f32x4.splat(0), c31 = f32x4.splat(0);
          if (add) {
            c00 = v128.load(p0); c01 = v128.load(p0, 16); c10 = v128.load(p1); c11 = v128.load(p1, 16);
            c20 = v128.load(p2); c21 = v128.load(p2, 16); c30 = v128.load(p3); c31 = v128.load(p3, 16);
          }
          for (let k = kb; k < ke; k++) {
            const bp = at(b, k * ldb + n);
            const x0 = v128.load(bp), x1 = v128.load(bp, 16);
            const ap = at(a, m * ars + k * aks);
            let y = f32x4.splat(load<f32>(ap));
            c00 = madd(y, x0, c00); c01 = madd(y, x1, c01);
            y = f32x4.splat(load<f32>(ap + (<usize>ars << 2)));
            c10 = madd(y, x0, c10); c11 = madd(y, x1, c11);
            y = f32x4.splat(load<f32>(ap + (<usize>ars << 3)));
            c20 = madd(y, x0, c20); c21 = madd(y, x1, c21);
            y = f32x4.splat(load<f32>(ap + (<usize>(3 * ars) << 2)));
            c30 = madd(y, x0, c30); c31 = madd(y, x1, c31);
          }
          v128.store(p0, c00); v128.store(p0, c01, 16); v128.store(p1, c10); v128.store(p1, c11, 16);
          v128.store(p2, c20); v128.store(p2, c21, 16); v128.store(p3, c30); v128.store(p3, c31, 16);
        }
      }
      for (; m < m1; m++) {
        for (let n = nb; n < ne; n += 8) {
          const p0 = at(c, m * ldc + n);
          let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
          if (add) {
            c00 = v128.load(p0); c01 = v128.load(p0, 16);
          }
          for (let k = kb; k < ke; k++) {
            const bp = at(b, k * ldb + n);
            const y = f32x4.splat(load<f32>(at(a, m * ars + k * aks)));
            c00 = madd(y, v128.load(bp), c00); c01 = madd(y, v128.load(bp, 16), c01);
          }
          v128.store(p0, c00); v128.store(p0, c01, 16);
        }
      }
    }
    for (let m = m0; m < m1; m++) {
      for (let n = nv; n < n1; n++) {
        let s: f32 = 0;
        for (let k = kb; k < ke; k++) s += load<f32>(at(a, m * ars + k * aks)) * load<f32>(at(b, k * ldb + n));
        const p = at(c, m * ldc + n);
        store<f32>(p, add ? load<f32>(p) + s : s);
      }
    }
  }
}

// out[t,:] = x[t,:] / rms(x[t,:]) * w; rstd[t] saved for the backward pass when rstd != 0.
export function rmsnorm_fwd(x: usize, w: usize, out: usize, rstd: usize, D: i32, eps: f32, t0: i32, t1: i32): void {
  const dv = D & ~3;
  for (let t = t0; t < t1; t++) {
    const xp = at(x, t * D), op = at(out, t * D);
    let acc = f32x4.splat(0);
    for (let i = 0; i < dv; i += 4) {
      const v = v128.load(at(xp, i));
      acc = madd(v, v, acc);
    }
    let ss = hsum(acc);
    for (let i = dv; i < D; i++) ss += load<f32>(at(xp, i)) * load<f32>(at(xp, i));
    const r: f32 = 1.0 / Mathf.sqrt(ss / <f32>D + eps);
    if (rstd != 0) store<f32>(at(rstd, t), r);
    const rv = f32x4.splat(r);
    for (let i = 0; i < dv; i += 4) {
      v128.store(at(op, i), f32x4.mul(f32x4.mul(v128.load(at(xp, i)), rv), v128.load(at(w, i))));
    }
    for (let i = dv; i < D; i++) store<f32>(at(op, i), load<f32>(at(xp, i)) * r * load<f32>(at(w, i)));
  }
}

// dx[t,:] += rstd*w*dy - x * rstd³/D * sum(w*dy*x);  dw[:] += sum_t dy*x*rstd  (skipped when dw == 0)
export function rmsnorm_bwd(x: usize, w: usize, rstd: usize, dy: usize, dx: usize, dw: usize, D: i32, t0: i32, t1: i32): void {
  for (let t = t0; t < t1; t++) {
    const xp = at(x, t * D), gp = at(dy, t * D), dp = at(dx, t * D);
    const r = load<f32>(at(rstd, t));
    let dot: f32 = 0;
    for (let i = 0; i < D; i++) dot += load<f32>(at(w, i)) * load<f32>(at(gp, i)) * load<f32>(at(xp, i));
    const c = dot * r * r * r / <f32>D;
    for (let i = 0; i < D; i++) {
      const xi = load<f32>(at(xp, i)), gi = load<f32>(at(gp, i));
      store<f32>(at(dp, i), load<f32>(at(dp, i)) + r * load<f32>(at(w, i)) * gi - xi * c);
      if (dw != 0) store<f32>(at(dw, i), load<f32>(at(dw, i)) + gi * xi * r);
    }
  }
}

// Rotates each head of rows t0..t1 in place by angle pos[t]*freq[i]; tables are [maxPos, hd/2].
// neox=1 pairs (i, i+hd/2) as HF rotate_half does; neox=0 pairs (2i, 2i+1) as GGUF llama weights expect.
// inverse=1 rotates by the negative angle, which is the backward pass.
export function rope(
  x: usize, stride: i32, nHeads: i32, hd: i32, pos: usize, cosT: usize, sinT: usize,
  neox: i32, inverse: i32, t0: i32, t1: i32,
): void {
  const half = hd >> 1;
  for (let t = t0; t < t1; t++) {
    const p = load<i32>(at(pos, t));
    const cp = at(cosT, p * half), sp = at(sinT, p * half);
    for (let h = 0; h < nHeads; h++) {
      const hp = at(x, t * stride + h * hd);
      for (let i = 0; i < half; i++) {
        const c = load<f32>(at(cp, i));
        const s = inverse != 0 ? -load<f32>(at(sp, i)) : load<f32>(at(sp, i));
        const ia = neox != 0 ? i : 2 * i;
        const ib = neox != 0 ? i + half : 2 * i + 1;
        const a = load<f32>(at(hp, ia)), b = load<f32>(at(hp, ib));
        store<f32>(at(hp, ia), a * c - b * s);
        store<f32>(at(hp, ib), a * s + b * c);
      }
    }
  }
}

@inline function dot(a: usize, b: usize, n: i32): f32 {
  const nv = n & ~3;
  let acc = f32x4.splat(0);
  for (let i = 0; i < nv; i += 4) acc = madd(v128.load(at(a, i)), v128.load(at(b, i)), acc);
  let s = hsum(acc);
  for (let i = nv; i < n; i++) s += load<f32>(at(a, i)) * load<f32>(at(b, i));
  return s;
}

@inline function axpy(y: usize, x: usize, alpha: f32, n: i32): void {
  const nv = n & ~3;
  const av = f32x4.splat(alpha);
  for (let i = 0; i < nv; i += 4) v128.store(at(y, i), madd(av, v128.load(at(x, i)), v128.load(at(y, i))));
  for (let i = nv; i < n; i++) store<f32>(at(y, i), load<f32>(at(y, i)) + alpha * load<f32>(at(x, i)));
}

// Causal attention with grouped-query heads for query heads h0..h1. Query row t sits at position
// S0+t and sees keys 0..S0+t. q/out rows hold all query heads, k/v rows hold all kv heads.
// att is [nHq, T, S0+T]: softmax probabilities (zero above the diagonal), kept for the backward pass.
// Scores and outputs are matmuls over blocks of 16 query rows, skipping keys no row of the block sees.
export function attn_fwd(
  q: usize, qs: i32, k: usize, v: usize, kvs: i32, out: usize, os: i32, att: usize,
  T: i32, S0: i32, nHq: i32, nHkv: i32, hd: i32, scale: f32, h0: i32, h1: i32,
): void {
  const group = nHq / nHkv;
  const S = S0 + T;
  for (let h = h0; h < h1; h++) {
    const kh = h / group;
    const ah = at(att, h * T * S);
    const qh = at(q, h * hd), kp = at(k, kh * hd), vp = at(v, kh * hd), oh = at(out, h * hd);
    if (T == 1 && (hd & 31) == 0) {
      attnRow(qh, kp, vp, kvs, oh, ah, S, hd, scale);
      continue;
    }
    for (let t0 = 0; t0 < T; t0 += 16) {
      const t1 = min(t0 + 16, T);
      const width = S0 + t1;
      mm_abt(qh, qs, kp, kvs, ah, S, hd, t0, t1, 0, width, 0);
      for (let t = t0; t < t1; t++) {
        const ap = at(ah, t * S);
        const n = S0 + t + 1;
        scaleRow(ap, n, scale);
        scaleRow(ap, n, 1 / expShiftSum(ap, ap, n, rowMax(ap, n)));
        for (let j = n; j < S; j++) store<f32>(at(ap, j), 0);
      }
      mm_nn(ah, S, 1, vp, kvs, oh, os, width, t0, t1, 0, hd, 0);
    }
  }
}

// Lane r = Σ lanes of s_r.
@inline function hsum4f(s0: v128, s1: v128, s2: v128, s3: v128): v128 {
  const t0 = f32x4.add(v128.shuffle<i32>(s0, s1, 0, 1, 4, 5), v128.shuffle<i32>(s0, s1, 2, 3, 6, 7));
  const t1 = f32x4.add(v128.shuffle<i32>(s2, s3, 0, 1, 4, 5), v128.shuffle<i32>(s2, s3, 2, 3, 6, 7));
  return f32x4.add(v128.shuffle<i32>(t0, t1, 0, 2, 4, 6), v128.shuffle<i32>(t0, t1, 1, 3, 5, 7));
}

// One query row (decode, hd a multiple of 32) against S keys and values. Scores four keys a pass, so each
// load of q serves four multiply-adds (the matmul path's tiles are built for many rows), then the
// softmax, then the output 32 values at a time with its sums in registers.
function attnRow(qh: usize, kp: usize, vp: usize, kvs: i32, oh: usize, ap: usize, S: i32, hd: i32, scale: f32): void {
  let j = 0;
  const sv = f32x4.splat(scale);
  for (; j + 4 <= S; j += 4) {
    const k0 = at(kp, j * kvs), k1 = at(kp, (j + 1) * kvs), k2 = at(kp, (j + 2) * kvs), k3 = at(kp, (j + 3) * kvs);
    // two sums per key, eight chains of multiply-adds in flight
    let s0 = f32x4.splat(0), s1 = f32x4.splat(0), s2 = f32x4.splat(0), s3 = f32x4.splat(0);
    let t0 = f32x4.splat(0), t1 = f32x4.splat(0), t2 = f32x4.splat(0), t3 = f32x4.splat(0);
    for (let i = 0; i < hd; i += 8) {
      const x = v128.load(at(qh, i)), y = v128.load(at(qh, i + 4));
      s0 = madd(x, v128.load(at(k0, i)), s0);
      s1 = madd(x, v128.load(at(k1, i)), s1);
      s2 = madd(x, v128.load(at(k2, i)), s2);
      s3 = madd(x, v128.load(at(k3, i)), s3);
      t0 = madd(y, v128.load(at(k0, i + 4)), t0);
      t1 = madd(y, v128.load(at(k1, i + 4)), t1);
      t2 = madd(y, v128.load(at(k2, i + 4)), t2);
      t3 = madd(y, v128.load(at(k3, i + 4)), t3);
    }
    const sum = hsum4f(f32x4.add(s0, t0), f32x4.add(s1, t1), f32x4.add(s2, t2), f32x4.add(s3, t3));
    v128.store(at(ap, j), f32x4.mul(sum, sv));
  }
  for (; j < S; j++) store<f32>(at(ap, j), dot(qh, at(kp, j * kvs), hd) * scale);
  scaleRow(ap, S, 1 / expShiftSum(ap, ap, S, rowMax(ap, S)));
  for (let d = 0; d < hd; d += 32) {
    let o0 = f32x4.splat(0), o1 = f32x4.splat(0), o2 = f32x4.splat(0), o3 = f32x4.splat(0);
    let o4 = f32x4.splat(0), o5 = f32x4.splat(0), o6 = f32x4.splat(0), o7 = f32x4.splat(0);
    for (let t = 0; t < S; t++) {
      const p = v128.load32_splat(at(ap, t));
      const vt = at(vp, t * kvs + d);
      o0 = madd(p, v128.load(vt), o0);
      o1 = madd(p, v128.load(vt, 16), o1);
      o2 = madd(p, v128.load(vt, 32), o2);
      o3 = madd(p, v128.load(vt, 48), o3);
      o4 = madd(p, v128.load(vt, 64), o4);
      o5 = madd(p, v128.load(vt, 80), o5);
      o6 = madd(p, v128.load(vt, 96), o6);
      o7 = madd(p, v128.load(vt, 112), o7);
    }
    const od = at(oh, d);
    v128.store(od, o0);
    v128.store(od, o1, 16);
    v128.store(od, o2, 32);
    v128.store(od, o3, 48);
    v128.store(od, o4, 64);
    v128.store(od, o5, 80);
    v128.store(od, o6, 96);
    v128.store(od, o7, 112);
  }
}

// Backward of attn_fwd with S0 = 0, for kv heads g0..g1 (each owns its query heads, so ranges never
// write the same dk/dv rows). Accumulates into dq, dk and dv. dps is scratch of nHq*T*T floats.
export function attn_bwd(
  q: usize, qs: i32, k: usize, v: usize, kvs: i32, dout: usize, os: i32, att: usize,
  dq: usize, dk: usize, dv: usize, dps: usize, T: i32, nHq: i32, nHkv: i32, hd: i32, scale: f32, g0: i32, g1: i32,
): void {
  const group = nHq / nHkv;
  for (let g = g0; g < g1; g++) {
    const kp = at(k, g * hd), vp = at(v, g * hd), dkp = at(dk, g * hd), dvp = at(dv, g * hd);
    for (let h = g * group; h < (g + 1) * group; h++) {
      const ah = at(att, h * T * T), dh = at(dps, h * T * T);
      const gh = at(dout, h * hd), qh = at(q, h * hd), dqh = at(dq, h * hd);
      // dP = dO·Vᵀ, then dS = P ⊙ (dP − rowsum(P ⊙ dP)) · scale, in place in dh
      mm_abt(gh, os, vp, kvs, dh, T, hd, 0, T, 0, T, 0);
      for (let t = 0; t < T; t++) {
        const ap = at(ah, t * T), dp = at(dh, t * T);
        const sum = dot(ap, dp, t + 1);
        for (let j = 0; j <= t; j++) {
          store<f32>(at(dp, j), load<f32>(at(ap, j)) * (load<f32>(at(dp, j)) - sum) * scale);
        }
        for (let j = t + 1; j < T; j++) store<f32>(at(dp, j), 0);
      }
      mm_nn(dh, T, 1, kp, kvs, dqh, qs, T, 0, T, 0, hd, 1); // dQ += dS·K
      mm_nn(dh, 1, T, qh, qs, dkp, kvs, T, 0, T, 0, hd, 1); // dK += dSᵀ·Q
      mm_nn(ah, 1, T, gh, os, dvp, kvs, T, 0, T, 0, hd, 1); // dV += Pᵀ·dO
    }
  }
}

// h = silu(g) * u
export function swiglu_fwd(g: usize, u: usize, h: usize, i0: i32, i1: i32): void {
  const one = f32x4.splat(1);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const x = v128.load(at(g, i));
    const sg = f32x4.div(one, f32x4.add(one, expv(f32x4.neg(x))));
    v128.store(at(h, i), f32x4.mul(f32x4.mul(x, sg), v128.load(at(u, i))));
  }
  for (; i < i1; i++) {
    const x = load<f32>(at(g, i));
    store<f32>(at(h, i), (x / (1 + exps(-x))) * load<f32>(at(u, i)));
  }
}

// dg = dh * u * silu'(g), du = dh * silu(g)
export function swiglu_bwd(g: usize, u: usize, dh: usize, dg: usize, du: usize, i0: i32, i1: i32): void {
  const one = f32x4.splat(1);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const x = v128.load(at(g, i));
    const sg = f32x4.div(one, f32x4.add(one, expv(f32x4.neg(x))));
    const d = v128.load(at(dh, i));
    const deriv = f32x4.mul(sg, f32x4.add(one, f32x4.mul(x, f32x4.sub(one, sg))));
    v128.store(at(dg, i), f32x4.mul(f32x4.mul(d, v128.load(at(u, i))), deriv));
    v128.store(at(du, i), f32x4.mul(d, f32x4.mul(x, sg)));
  }
  for (; i < i1; i++) {
    const x = load<f32>(at(g, i));
    const sg: f32 = 1 / (1 + exps(-x));
    const d = load<f32>(at(dh, i));
    store<f32>(at(dg, i), d * load<f32>(at(u, i)) * sg * (1 + x * (1 - sg)));
    store<f32>(at(du, i), d * x * sg);
  }
}

@inline function rowMax(p: usize, n: i32): f32 {
  let mv = f32x4.splat(-Infinity);
  let j = 0;
  // pmax (one instruction) may skip a NaN here, but the NaN then reaches the sum and every output
  for (; j + 4 <= n; j += 4) mv = f32x4.pmax(mv, v128.load(at(p, j)));
  let mx = max(max(f32x4.extract_lane(mv, 0), f32x4.extract_lane(mv, 1)), max(f32x4.extract_lane(mv, 2), f32x4.extract_lane(mv, 3)));
  for (; j < n; j++) mx = max(mx, load<f32>(at(p, j)));
  return mx;
}

// out[j] = exp(x[j] - mx) for j < n; returns the sum (out may alias x)
@inline function expShiftSum(x: usize, out: usize, n: i32, mx: f32): f32 {
  const mv = f32x4.splat(mx);
  let acc = f32x4.splat(0);
  let j = 0;
  for (; j + 4 <= n; j += 4) {
    const e = expv(f32x4.sub(v128.load(at(x, j)), mv));
    v128.store(at(out, j), e);
    acc = f32x4.add(acc, e);
  }
  let sum = hsum(acc);
  for (; j < n; j++) {
    const e = exps(load<f32>(at(x, j)) - mx);
    store<f32>(at(out, j), e);
    sum += e;
  }
  return sum;
}

@inline function scaleRow(p: usize, n: i32, a: f32): void {
  const av = f32x4.splat(a);
  let j = 0;
  for (; j + 4 <= n; j += 4) v128.store(at(p, j), f32x4.mul(v128.load(at(p, j)), av));
  for (; j < n; j++) store<f32>(at(p, j), load<f32>(at(p, j)) * a);
}

// Row softmax of x into out (may alias).
export function softmax_rows(x: usize, out: usize, cols: i32, r0: i32, r1: i32): void {
  for (let r = r0; r < r1; r++) {
    const xp = at(x, r * cols), op = at(out, r * cols);
    const sum = expShiftSum(xp, op, cols, rowMax(xp, cols));
    scaleRow(op, cols, 1 / sum);
  }
}

// Cross-entropy per row: losses[r] = logsumexp(logits[r]) - logits[r, targets[r]] (0 where the
// target is negative, i.e. masked). When dlogits != 0 it also writes (softmax - onehot) * weight[r]
// there (may alias logits); masked rows get zero gradient.
export function xent(
  logits: usize, targets: usize, weight: usize, losses: usize, dlogits: usize, V: i32, r0: i32, r1: i32,
): void {
  for (let r = r0; r < r1; r++) {
    const lp = at(logits, r * V);
    const tg = load<i32>(at(targets, r));
    const mx = rowMax(lp, V);
    const target: f32 = tg < 0 ? 0 : load<f32>(at(lp, tg));
    if (dlogits != 0) {
      const dp = at(dlogits, r * V);
      const sum = expShiftSum(lp, dp, V, mx);
      const w: f32 = tg < 0 ? 0 : load<f32>(at(weight, r));
      scaleRow(dp, V, w / sum);
      if (tg >= 0) store<f32>(at(dp, tg), load<f32>(at(dp, tg)) - w);
      store<f32>(at(losses, r), tg < 0 ? 0 : <f32>Math.log(sum) + mx - target);
    } else {
      const mv = f32x4.splat(mx);
      let acc = f32x4.splat(0);
      let j = 0;
      for (; j + 4 <= V; j += 4) acc = f32x4.add(acc, expv(f32x4.sub(v128.load(at(lp, j)), mv)));
      let sum = hsum(acc);
      for (; j < V; j++) sum += exps(load<f32>(at(lp, j)) - mx);
      store<f32>(at(losses, r), tg < 0 ? 0 : <f32>Math.log(sum) + mx - target);
    }
  }
}

// y[i] = y[i] + alpha * x[i]
export function axpy_range(y: usize, x: usize, alpha: f32, i0: i32, i1: i32): void {
  axpy(at(y, i0), at(x, i0), alpha, i1 - i0);
}

// out[i] = a[i] + b[i]
export function add_range(a: usize, b: usize, out: usize, i0: i32, i1: i32): void {
  let i = i0;
  for (; i + 4 <= i1; i += 4) v128.store(at(out, i), f32x4.add(v128.load(at(a, i)), v128.load(at(b, i))));
  for (; i < i1; i++) store<f32>(at(out, i), load<f32>(at(a, i)) + load<f32>(at(b, i)));
}

// AdamW over elements i0..i1: g is scaled by gscale (clipping); c1, c2 are the bias corrections.
export function adamw(
  w: usize, g: usize, m: usize, v: usize, i0: i32, i1: i32,
  lr: f32, b1: f32, b2: f32, eps: f32, decay: f32, c1: f32, c2: f32, gscale: f32,
): void {
  const vb1 = f32x4.splat(b1), vb2 = f32x4.splat(b2), vb1c = f32x4.splat(1 - b1), vb2c = f32x4.splat(1 - b2);
  const vs = f32x4.splat(gscale), vlr = f32x4.splat(lr), veps = f32x4.splat(eps), vdec = f32x4.splat(decay);
  const vc1 = f32x4.splat(1 / c1), vc2 = f32x4.splat(1 / c2);
  let i = i0;
  for (; i + 4 <= i1; i += 4) {
    const gi = f32x4.mul(v128.load(at(g, i)), vs);
    const mi = f32x4.add(f32x4.mul(vb1, v128.load(at(m, i))), f32x4.mul(vb1c, gi));
    const vi = f32x4.add(f32x4.mul(vb2, v128.load(at(v, i))), f32x4.mul(vb2c, f32x4.mul(gi, gi)));
    v128.store(at(m, i), mi);
    v128.store(at(v, i), vi);
    const upd = f32x4.div(f32x4.mul(mi, vc1), f32x4.add(f32x4.sqrt(f32x4.mul(vi, vc2)), veps));
    const wi = v128.load(at(w, i));
    v128.store(at(w, i), f32x4.sub(wi, f32x4.add(f32x4.mul(vlr, upd), f32x4.mul(vdec, wi))));
  }
  for (; i < i1; i++) {
    const gi = load<f32>(at(g, i)) * gscale;
    const mi = b1 * load<f32>(at(m, i)) + (1 - b1) * gi;
    const vi = b2 * load<f32>(at(v, i)) + (1 - b2) * gi * gi;
    store<f32>(at(m, i), mi);
    store<f32>(at(v, i), vi);
    const wi = load<f32>(at(w, i));
    store<f32>(at(w, i), wi - (lr * (mi / c1) / (Mathf.sqrt(vi / c2) + eps) + decay * wi));
  }
}

// Sum of squares of n elements, accumulated in float64.
export function sumsq(x: usize, n: i32): f64 {
  let total: f64 = 0;
  let i = 0;
  while (i < n) {
    const end = min(i + 4096, n);
    let acc = f32x4.splat(0);
    for (; i + 4 <= end; i += 4) {
      const xv = v128.load(at(x, i));
      acc = madd(xv, xv, acc);
    }
    let s = <f64>hsum(acc);
    for (; i < end; i++) s += <f64>load<f32>(at(x, i)) * <f64>load<f32>(at(x, i));
    total += s;
  }
  return total;
}
