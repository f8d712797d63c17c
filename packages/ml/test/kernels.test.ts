import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Buf, Engine, EngineError } from "../src/kernels/engine.ts";
import * as ref from "../src/kernels/reference.ts";
import { Rng } from "../src/kernels/rng.ts";

function rand(n: number, rng: Rng, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => rng.normal() * scale);
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < expected.length; i++) {
    const err = Math.abs(actual[i] - expected[i]) / (1 + Math.abs(expected[i]));
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  assert.ok(worst <= tol, `${what}: worst error ${worst} at ${at} (${actual[at]} vs ${expected[at]})`);
}

/** Central finite-difference gradient of sum(dy ⊙ f(x)) with respect to x. */
function numericGrad(
  f: (x: Float64Array) => ArrayLike<number>,
  x: Float64Array,
  dy: ArrayLike<number>,
): Float64Array {
  const g = new Float64Array(x.length);
  const h = 1e-6;
  for (let i = 0; i < x.length; i++) {
    const keep = x[i];
    x[i] = keep + h;
    const p = f(x);
    x[i] = keep - h;
    const m = f(x);
    x[i] = keep;
    let s = 0;
    for (let j = 0; j < dy.length; j++) s += dy[j] * (p[j] - m[j]);
    g[i] = s / (2 * h);
  }
  return g;
}

describe("reference backward passes match finite differences (float64)", () => {
  const rng = new Rng(7);
  test("rmsnorm", () => {
    const [T, D] = [3, 5];
    const x = rand(T * D, rng);
    const w = rand(D, rng);
    const dy = rand(T * D, rng);
    const { dx, dw } = ref.rmsnormBackward(x, w, dy, T, D, 1e-5);
    close(
      dx,
      numericGrad((xx) => ref.rmsnorm(xx, w, T, D, 1e-5).out, x, dy),
      1e-7,
      "dx",
    );
    close(
      dw,
      numericGrad((ww) => ref.rmsnorm(x, ww, T, D, 1e-5).out, w, dy),
      1e-7,
      "dw",
    );
  });
  test("rope (backward is the inverse rotation)", () => {
    for (const neox of [true, false]) {
      const [T, H, hd] = [3, 2, 4];
      const x = rand(T * H * hd, rng);
      const dy = rand(T * H * hd, rng);
      const pos = [0, 5, 2];
      const dx = ref.rope(dy, T, H, hd, pos, 10000, neox, true);
      close(
        dx,
        numericGrad((xx) => ref.rope(xx, T, H, hd, pos, 10000, neox), x, dy),
        1e-7,
        `neox=${neox}`,
      );
    }
  });
  test("attention with grouped-query heads", () => {
    const s = { T: 4, nHq: 4, nHkv: 2, hd: 3 };
    const q = rand(s.T * s.nHq * s.hd, rng);
    const k = rand(s.T * s.nHkv * s.hd, rng);
    const v = rand(s.T * s.nHkv * s.hd, rng);
    const dout = rand(s.T * s.nHq * s.hd, rng);
    const g = ref.attentionBackward(q, k, v, dout, s);
    close(
      g.dq,
      numericGrad((x) => ref.attention(x, k, v, s).out, q, dout),
      1e-7,
      "dq",
    );
    close(
      g.dk,
      numericGrad((x) => ref.attention(q, x, v, s).out, k, dout),
      1e-7,
      "dk",
    );
    close(
      g.dv,
      numericGrad((x) => ref.attention(q, k, x, s).out, v, dout),
      1e-7,
      "dv",
    );
  });
  test("swiglu", () => {
    const g = rand(7, rng);
    const u = rand(7, rng);
    const dh = rand(7, rng);
    const r = ref.swigluBackward(g, u, dh);
    close(
      r.dg,
      numericGrad((x) => ref.swiglu(x, u), g, dh),
      1e-7,
      "dg",
    );
    close(
      r.du,
      numericGrad((x) => ref.swiglu(g, x), u, dh),
      1e-7,
      "du",
    );
  });
  test("cross-entropy", () => {
    const [R, V] = [3, 6];
    const logits = rand(R * V, rng);
    const targets = [2, -1, 5];
    const weight = [0.5, 1, 2];
    const { dlogits } = ref.crossEntropy(logits, targets, weight, R, V);
    const loss = (x: Float64Array) => {
      const l = ref.crossEntropy(x, targets, weight, R, V).losses;
      return [l[0] * weight[0] + l[1] * weight[1] + l[2] * weight[2]];
    };
    close(dlogits, numericGrad(loss, logits, [1]), 1e-7, "dlogits");
  });
  test("matmul forms agree with each other", () => {
    const [M, N, K] = [3, 4, 5];
    const a = rand(M * K, rng);
    const b = rand(N * K, rng);
    const bt = new Float64Array(K * N);
    const at = new Float64Array(K * M);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) bt[k * N + n] = b[n * K + k];
    for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) at[k * M + m] = a[m * K + k];
    const c = ref.matmulABt(a, b, M, N, K);
    close(ref.matmulAB(a, bt, M, N, K), c, 1e-12, "AB");
    close(ref.matmulAtB(at, bt, M, N, K), c, 1e-12, "AtB");
  });
});

for (const relaxedSimd of [false, true]) {
  describe(`WebAssembly kernels match the reference (relaxedSimd=${relaxedSimd}, 2 threads)`, () => {
    let e: Engine;
    const rng = new Rng(11);
    before(async () => {
      e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 64 });
    });
    after(() => e.close());

    const shapes: [number, number, number][] = [
      [1, 1, 1],
      [1, 7, 13],
      [5, 3, 9],
      [7, 10, 300],
      [64, 96, 80],
      [2, 130, 64],
    ];
    test("matmul A·Bᵀ, A·B, Aᵀ·B (with accumulate)", () => {
      for (const [M, N, K] of shapes) {
        const a = rand(M * K, rng);
        const b = rand(N * K, rng);
        const bt = new Float64Array(K * N);
        const at = new Float64Array(K * M);
        for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) bt[k * N + n] = b[n * K + k];
        for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) at[k * M + m] = a[m * K + k];
        const want = ref.matmulABt(a, b, M, N, K);
        const tol = 1e-5 * Math.sqrt(K);
        const A = e.from(a);
        const B = e.from(b);
        const Bt = e.from(bt);
        const At = e.from(at);
        const C = e.alloc(M * N);
        e.matmulABt(A, B, C, M, N, K);
        close(C.f32, want, tol, `ABt ${M}x${N}x${K}`);
        e.matmulAB(A, Bt, C, M, N, K);
        close(C.f32, want, tol, `AB ${M}x${N}x${K}`);
        e.matmulAtB(At, Bt, C, M, N, K, { accumulate: true });
        close(
          C.f32,
          want.map((x) => 2 * x),
          tol,
          `AtB+= ${M}x${N}x${K}`,
        );
        for (const x of [A, B, Bt, At, C]) x.free();
      }
      assert.equal(e.allocatedBytes, 0);
    });

    test("matmul rejects buffers that are too small", () => {
      const a = e.alloc(6);
      assert.throws(() => e.matmulABt(a, a, a, 3, 3, 3), EngineError);
      a.free();
    });

    test("rmsnorm forward and backward", () => {
      const [T, D] = [6, 37];
      const x = rand(T * D, rng);
      const w = rand(D, rng);
      const dy = rand(T * D, rng);
      const r = ref.rmsnorm(x, w, T, D, 1e-5);
      const g = ref.rmsnormBackward(x, w, dy, T, D, 1e-5);
      const [X, W, O, R, DY, DX, DW] = [
        e.from(x),
        e.from(w),
        e.alloc(T * D),
        e.alloc(T),
        e.from(dy),
        e.alloc(T * D),
        e.alloc(D),
      ];
      e.rmsnorm(X, W, O, R, T, D, 1e-5);
      close(O.f32, r.out, 1e-5, "out");
      close(R.f32, r.rstd, 1e-5, "rstd");
      e.rmsnormBackward(X, W, R, DY, DX, DW, T, D);
      close(DX.f32, g.dx, 1e-4, "dx");
      close(DW.f32, g.dw, 1e-4, "dw");
      for (const b of [X, W, O, R, DY, DX, DW]) b.free();
    });

    test("rope forward and inverse, both pairings", () => {
      const [T, H, hd] = [5, 3, 8];
      for (const neox of [true, false]) {
        const x = rand(T * H * hd, rng);
        const pos = [0, 1, 7, 3, 31];
        const table = e.ropeTable(32, hd, 10000, neox);
        const X = e.from(x);
        const P = e.fromInt32(pos);
        e.rope(X, T, H * hd, H, hd, P, table);
        close(X.f32, ref.rope(x, T, H, hd, pos, 10000, neox), 1e-5, "rope");
        e.rope(X, T, H * hd, H, hd, P, table, true);
        close(X.f32, x, 1e-5, "inverse");
        for (const b of [X, P, table.cos, table.sin]) b.free();
      }
    });

    test("attention forward/backward (GQA), and KV-cache decode equals full prefill", () => {
      const s = { T: 9, nHq: 6, nHkv: 2, hd: 12 };
      const qd = s.nHq * s.hd;
      const kd = s.nHkv * s.hd;
      const q = rand(s.T * qd, rng);
      const k = rand(s.T * kd, rng);
      const v = rand(s.T * kd, rng);
      const dout = rand(s.T * qd, rng);
      const want = ref.attention(q, k, v, s);
      const grads = ref.attentionBackward(q, k, v, dout, s);
      const [Q, K, V, O, ATT, DO, DQ, DK, DV] = [
        e.from(q),
        e.from(k),
        e.from(v),
        e.alloc(s.T * qd),
        e.alloc(s.nHq * s.T * s.T),
        e.from(dout),
        e.alloc(s.T * qd),
        e.alloc(s.T * kd),
        e.alloc(s.T * kd),
      ];
      const args = {
        q: Q,
        qStride: qd,
        k: K,
        v: V,
        kvStride: kd,
        out: O,
        outStride: qd,
        att: ATT,
        S0: 0,
        ...s,
      };
      e.attention({ ...args, scale: 1 / Math.sqrt(s.hd) });
      close(O.f32, want.out, 1e-5, "out");
      close(ATT.f32, want.att, 1e-5, "att");
      e.attentionBackward({ ...args, scale: 1 / Math.sqrt(s.hd), dout: DO, dq: DQ, dk: DK, dv: DV });
      close(DQ.f32, grads.dq, 1e-4, "dq");
      close(DK.f32, grads.dk, 1e-4, "dk");
      close(DV.f32, grads.dv, 1e-4, "dv");
      // last row alone against a cache of the first T-1 rows
      const last = e.alloc(qd);
      e.attention({
        ...args,
        q: Q.at((s.T - 1) * qd),
        out: last,
        T: 1,
        S0: s.T - 1,
        scale: 1 / Math.sqrt(s.hd),
      });
      close(last.f32, want.out.subarray((s.T - 1) * qd), 1e-5, "decode row");
      for (const b of [Q, K, V, O, ATT, DO, DQ, DK, DV, last]) b.free();
    });

    test("swiglu, softmax, cross-entropy, axpy, add", () => {
      const n = 1000;
      const g = rand(n, rng, 3);
      const u = rand(n, rng);
      const dh = rand(n, rng);
      const [G, U, H, DH, DG, DU] = [e.from(g), e.from(u), e.alloc(n), e.from(dh), e.alloc(n), e.alloc(n)];
      e.swiglu(G, U, H, n);
      close(H.f32, ref.swiglu(g, u), 1e-5, "swiglu");
      e.swigluBackward(G, U, DH, DG, DU, n);
      const r = ref.swigluBackward(g, u, dh);
      close(DG.f32, r.dg, 1e-5, "dg");
      close(DU.f32, r.du, 1e-5, "du");
      const [R, V] = [4, 50];
      const logits = rand(R * V, rng, 4);
      const L = e.from(logits);
      const S = e.alloc(R * V);
      e.softmax(L, S, R, V);
      close(S.f32, ref.softmax(logits, R, V), 1e-5, "softmax");
      const targets = [3, -1, 49, 0];
      const weight = [1, 1, 0.5, 2];
      const TG = e.fromInt32(targets);
      const WT = e.from(weight);
      const LS = e.alloc(R);
      e.crossEntropy(L, TG, WT, LS, L, R, V);
      const x = ref.crossEntropy(logits, targets, weight, R, V);
      close(LS.f32, x.losses, 1e-5, "losses");
      close(L.f32, x.dlogits, 1e-5, "dlogits (in place)");
      e.axpy(G, U, 0.5, n);
      close(
        G.f32,
        g.map((gi, i) => gi + 0.5 * u[i]),
        1e-6,
        "axpy",
      );
      e.add(U, DH, H, n);
      close(
        H.f32,
        u.map((ui, i) => ui + dh[i]),
        1e-6,
        "add",
      );
      for (const b of [G, U, H, DH, DG, DU, L, S, TG, WT, LS]) b.free();
    });
  });
}

test("AdamW update and sum of squares match a float64 formula", async () => {
  const e = await Engine.create({ threads: 2, maxMemoryMiB: 16 });
  const rng = new Rng(5);
  const n = 1001;
  const w = rand(n, rng);
  const g = rand(n, rng);
  const m = rand(n, rng, 0.1);
  const v = rand(n, rng, 0.1).map(Math.abs);
  const [W, G, M, V] = [e.from(w), e.from(g), e.from(m), e.from(v)];
  const o = { lr: 0.01, beta1: 0.9, beta2: 0.99, eps: 1e-8, decay: 0.001, c1: 0.5, c2: 0.3, gradScale: 0.7 };
  e.adamw(W, G, M, V, o);
  const want = w.map((wi, i) => {
    const gi = g[i] * o.gradScale;
    const mi = o.beta1 * m[i] + (1 - o.beta1) * gi;
    const vi = o.beta2 * v[i] + (1 - o.beta2) * gi * gi;
    return wi - (o.lr * (mi / o.c1)) / (Math.sqrt(vi / o.c2) + o.eps) - o.decay * wi;
  });
  close(W.f32, want, 1e-5, "adamw");
  const ss = g.reduce((s, x) => s + x * x, 0);
  assert.ok(Math.abs(e.sumSquares(G) - ss) < 1e-4 * ss);
  await e.close();
});

test("a kernel that traps in a worker thread raises an error and the engine keeps working", async () => {
  const e = await Engine.create({ threads: 2, maxMemoryMiB: 16 });
  const n = 1 << 18;
  const ok = e.alloc(n);
  // a view whose second half lies beyond the end of memory: only the worker's slice traps
  const edge = new Buf(e, e.memory.buffer.byteLength - n * 2, n, false);
  assert.throws(
    () => e.add(edge, edge, edge, n),
    /kernel add_range failed in worker thread 1: memory access out of bounds/,
  );
  e.add(ok, ok, ok, n);
  assert.equal(ok.f32[n - 1], 0);
  ok.free();
  await e.close();
});

test("allocator reuses freed space and rejects double free", async () => {
  const e = await Engine.create({ threads: 1, maxMemoryMiB: 16 });
  const a = e.alloc(100);
  const b = e.alloc(100);
  const ptr = a.ptr;
  a.free();
  const c = e.alloc(50);
  assert.equal(c.ptr, ptr);
  assert.throws(() => a.free(), EngineError);
  assert.throws(() => e.alloc(16 * 1024 * 1024), /out of kernel memory/);
  b.free();
  c.free();
  assert.equal(e.allocatedBytes, 0);
  await e.close();
});

test("zeroed allocations are zero over reused space, also when they reach past the high-water mark", async () => {
  const e = await Engine.create({ threads: 1, maxMemoryMiB: 16 });
  const a = e.alloc(1000, false);
  a.f32.fill(Number.NaN);
  const under = a.ptr;
  a.free();
  // the same space again, then space that starts in used memory and ends in never-used memory
  const b = e.alloc(500);
  assert.equal(b.ptr, under);
  assert.ok(b.f32.every((x) => x === 0));
  const c = e.alloc(300_000);
  assert.ok(c.ptr < under + 4000);
  assert.ok(c.f32.every((x) => x === 0));
  c.f32.fill(-1);
  c.free();
  const d = e.alloc(300_000);
  assert.ok(d.f32.every((x) => x === 0));
  b.free();
  d.free();
  await e.close();
});
