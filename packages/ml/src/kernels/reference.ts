// Plain TypeScript versions of every kernel, in float64, used by the tests to check the WebAssembly
// fast path and to check the hand-derived backward passes by finite differences.
export type Arr = Float32Array | Float64Array | number[];

/** C[M,N] = A[M,K] · B[N,K]ᵀ */
export function matmulABt(a: Arr, b: Arr, M: number, N: number, K: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let n = 0; n < N; n++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[m * K + k] * b[n * K + k];
      c[m * N + n] = s;
    }
  return c;
}

/** C[M,N] = A[M,K] · B[K,N] */
export function matmulAB(a: Arr, b: Arr, M: number, N: number, K: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let m = 0; m < M; m++)
    for (let k = 0; k < K; k++) {
      const x = a[m * K + k];
      for (let n = 0; n < N; n++) c[m * N + n] += x * b[k * N + n];
    }
  return c;
}

/** C[M,N] = A[K,M]ᵀ · B[K,N] */
export function matmulAtB(a: Arr, b: Arr, M: number, N: number, K: number): Float64Array {
  const c = new Float64Array(M * N);
  for (let k = 0; k < K; k++)
    for (let m = 0; m < M; m++) {
      const x = a[k * M + m];
      for (let n = 0; n < N; n++) c[m * N + n] += x * b[k * N + n];
    }
  return c;
}

export function rmsnorm(
  x: Arr,
  w: Arr,
  T: number,
  D: number,
  eps: number,
): { out: Float64Array; rstd: Float64Array } {
  const out = new Float64Array(T * D);
  const rstd = new Float64Array(T);
  for (let t = 0; t < T; t++) {
    let ss = 0;
    for (let i = 0; i < D; i++) ss += x[t * D + i] ** 2;
    const r = 1 / Math.sqrt(ss / D + eps);
    rstd[t] = r;
    for (let i = 0; i < D; i++) out[t * D + i] = x[t * D + i] * r * w[i];
  }
  return { out, rstd };
}

export function rmsnormBackward(
  x: Arr,
  w: Arr,
  dy: Arr,
  T: number,
  D: number,
  eps: number,
): { dx: Float64Array; dw: Float64Array } {
  const { rstd } = rmsnorm(x, w, T, D, eps);
  const dx = new Float64Array(T * D);
  const dw = new Float64Array(D);
  for (let t = 0; t < T; t++) {
    const r = rstd[t];
    let dot = 0;
    for (let i = 0; i < D; i++) dot += w[i] * dy[t * D + i] * x[t * D + i];
    for (let i = 0; i < D; i++) {
      dx[t * D + i] = r * w[i] * dy[t * D + i] - (x[t * D + i] * dot * r ** 3) / D;
      dw[i] += dy[t * D + i] * x[t * D + i] * r;
    }
  }
  return { dx, dw };
}

/** Rotary embedding of x[T, nHeads*hd] (returns a copy). neox pairs (i, i+hd/2); otherwise (2i, 2i+1). */
export function rope(
  x: Arr,
  T: number,
  nHeads: number,
  hd: number,
  pos: ArrayLike<number>,
  theta: number,
  neox: boolean,
  inverse = false,
): Float64Array {
  const out = Float64Array.from(x);
  const half = hd / 2;
  for (let t = 0; t < T; t++)
    for (let h = 0; h < nHeads; h++)
      for (let i = 0; i < half; i++) {
        const ang = pos[t] * theta ** (-(2 * i) / hd);
        const c = Math.cos(ang);
        const s = inverse ? -Math.sin(ang) : Math.sin(ang);
        const base = t * nHeads * hd + h * hd;
        const ia = base + (neox ? i : 2 * i);
        const ib = base + (neox ? i + half : 2 * i + 1);
        const a = x[ia];
        const b = x[ib];
        out[ia] = a * c - b * s;
        out[ib] = a * s + b * c;
      }
  return out;
}

export interface AttnShape {
  T: number;
  nHq: number;
  nHkv: number;
  hd: number;
}

/** Causal GQA attention over one sequence (no cache): q [T, nHq*hd], k/v [T, nHkv*hd]. */
export function attention(q: Arr, k: Arr, v: Arr, s: AttnShape): { out: Float64Array; att: Float64Array } {
  const { T, nHq, nHkv, hd } = s;
  const scale = 1 / Math.sqrt(hd);
  const group = nHq / nHkv;
  const out = new Float64Array(T * nHq * hd);
  const att = new Float64Array(nHq * T * T);
  for (let h = 0; h < nHq; h++) {
    const g = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const sc: number[] = [];
      for (let j = 0; j <= t; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += q[t * nHq * hd + h * hd + i] * k[j * nHkv * hd + g * hd + i];
        sc.push(d * scale);
      }
      const mx = Math.max(...sc);
      const e = sc.map((x) => Math.exp(x - mx));
      const sum = e.reduce((a, b) => a + b, 0);
      for (let j = 0; j <= t; j++) {
        const p = e[j] / sum;
        att[(h * T + t) * T + j] = p;
        for (let i = 0; i < hd; i++) out[t * nHq * hd + h * hd + i] += p * v[j * nHkv * hd + g * hd + i];
      }
    }
  }
  return { out, att };
}

export function attentionBackward(
  q: Arr,
  k: Arr,
  v: Arr,
  dout: Arr,
  s: AttnShape,
): { dq: Float64Array; dk: Float64Array; dv: Float64Array } {
  const { T, nHq, nHkv, hd } = s;
  const scale = 1 / Math.sqrt(hd);
  const group = nHq / nHkv;
  const { att } = attention(q, k, v, s);
  const dq = new Float64Array(T * nHq * hd);
  const dk = new Float64Array(T * nHkv * hd);
  const dv = new Float64Array(T * nHkv * hd);
  for (let h = 0; h < nHq; h++) {
    const g = Math.floor(h / group);
    for (let t = 0; t < T; t++) {
      const dp: number[] = [];
      let sum = 0;
      for (let j = 0; j <= t; j++) {
        let d = 0;
        for (let i = 0; i < hd; i++) d += dout[t * nHq * hd + h * hd + i] * v[j * nHkv * hd + g * hd + i];
        dp.push(d);
        sum += att[(h * T + t) * T + j] * d;
      }
      for (let j = 0; j <= t; j++) {
        const p = att[(h * T + t) * T + j];
        const ds = p * (dp[j] - sum) * scale;
        for (let i = 0; i < hd; i++) {
          dq[t * nHq * hd + h * hd + i] += ds * k[j * nHkv * hd + g * hd + i];
          dk[j * nHkv * hd + g * hd + i] += ds * q[t * nHq * hd + h * hd + i];
          dv[j * nHkv * hd + g * hd + i] += p * dout[t * nHq * hd + h * hd + i];
        }
      }
    }
  }
  return { dq, dk, dv };
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

export function swiglu(g: Arr, u: Arr): Float64Array {
  return Float64Array.from({ length: g.length }, (_, i) => g[i] * sigmoid(g[i]) * u[i]);
}

export function swigluBackward(g: Arr, u: Arr, dh: Arr): { dg: Float64Array; du: Float64Array } {
  const dg = new Float64Array(g.length);
  const du = new Float64Array(g.length);
  for (let i = 0; i < g.length; i++) {
    const s = sigmoid(g[i]);
    dg[i] = dh[i] * u[i] * s * (1 + g[i] * (1 - s));
    du[i] = dh[i] * g[i] * s;
  }
  return { dg, du };
}

export function softmax(x: Arr, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    let mx = -Infinity;
    for (let j = 0; j < cols; j++) mx = Math.max(mx, x[r * cols + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += out[r * cols + j] = Math.exp(x[r * cols + j] - mx);
    for (let j = 0; j < cols; j++) out[r * cols + j] /= sum;
  }
  return out;
}

/** Per-row cross-entropy and its gradient (softmax − onehot)·weight; negative targets are masked. */
export function crossEntropy(
  logits: Arr,
  targets: ArrayLike<number>,
  weight: ArrayLike<number>,
  rows: number,
  V: number,
): { losses: Float64Array; dlogits: Float64Array } {
  const p = softmax(logits, rows, V);
  const losses = new Float64Array(rows);
  const dlogits = new Float64Array(rows * V);
  for (let r = 0; r < rows; r++) {
    const t = targets[r];
    if (t < 0) continue;
    losses[r] = -Math.log(p[r * V + t]);
    for (let j = 0; j < V; j++) dlogits[r * V + j] = (p[r * V + j] - (j === t ? 1 : 0)) * weight[r];
  }
  return { losses, dlogits };
}
