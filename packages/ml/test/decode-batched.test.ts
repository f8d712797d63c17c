// Batched decode: M activation rows through one `linear` (or `linearEach`) call give, bit for bit, what
// each row gives on its own, whatever the batch (the kernels that take rows in pairs or fours share the
// per-weight work between rows, never the order of a row's own sums). Both builds, accumulate on and off,
// odd row and column tails, the repacked layouts (Q4_0X4, Q8_0 rows4, Q4K_X4, Q6K_P, F16 panels).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { encodeTensor, type GgufWriteType } from "../src/formats/ggml-types.ts";
import { writeLlamaGguf } from "../src/formats/llama-gguf.ts";
import type { LlamaConfig } from "../src/formats/model-config.ts";
import { type Buf, Engine } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { forward } from "../src/model/infer.ts";
import { KVCache } from "../src/model/llama.ts";
import { loadLlamaGguf } from "../src/model/load-gguf.ts";
import { randomData, randomWeights } from "./formats-util.ts";
import { packedMatrix } from "./helpers/packed.ts";

function packed(
  e: Engine,
  type: GgufWriteType,
  rows: number,
  cols: number,
  seed: number,
  repack: boolean,
): QTensor {
  const W = packedMatrix(e, type, encodeTensor(type, randomData(rows * cols, seed, 0.5), "w"), rows, cols);
  if (repack) e.repackForDecode(W);
  return W;
}

/** The first index where a and b differ in their bits, or -1. */
function firstDifference(a: Float32Array, b: Float32Array): number {
  const [x, y] = [
    new Uint32Array(a.buffer, a.byteOffset, a.length),
    new Uint32Array(b.buffer, b.byteOffset, b.length),
  ];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return i;
  return a.length === b.length ? -1 : Math.min(a.length, b.length);
}

/** Each row of xs through `linear` on its own (one-row calls), from the same starting outputs. */
function oneAtATime(
  e: Engine,
  xs: Float32Array,
  W: QTensor,
  init: Float32Array,
  M: number,
  accumulate: boolean,
) {
  const { rows: N, cols: K } = W;
  const want = new Float32Array(M * N);
  for (let m = 0; m < M; m++) {
    const x = e.from(xs.subarray(m * K, (m + 1) * K));
    const out = e.from(init.subarray(m * N, (m + 1) * N));
    e.linear(x, W, out, 1, N, K, { accumulate });
    want.set(out.f32, m * N);
    x.free();
    out.free();
  }
  return want;
}

const GUARD = 64;
const GUARD_VALUE = -12345.5;

function batched(
  e: Engine,
  xs: Float32Array,
  Ws: QTensor[],
  inits: Float32Array[],
  M: number,
  accumulate: boolean,
) {
  const K = Ws[0].cols;
  const x = e.from(xs);
  // each output is followed by guard values that no kernel may write
  const outs: Buf[] = inits.map((init) => {
    const o = e.alloc(init.length + GUARD, false);
    o.f32.set(init);
    o.f32.fill(GUARD_VALUE, init.length);
    return o;
  });
  if (Ws.length === 1) e.linear(x, Ws[0], outs[0], M, Ws[0].rows, K, { accumulate });
  else e.linearEach(x, Ws, outs, M, K, { accumulate });
  const got = outs.map((o, j) => {
    const n = inits[j].length;
    assert.ok(
      o.f32.subarray(n).every((v) => v === GUARD_VALUE),
      `${Ws[j].typeName} M=${M}: written past the output`,
    );
    return Float32Array.from(o.f32.subarray(0, n));
  });
  for (const b of [x, ...outs]) b.free();
  return got;
}

// [type, rows, cols, repacked]: F16 with 8-value steps and 4-, 5- and 7-value tails, F16 panels (cols >
// 4096: a 4-value tail after the last panel, an 8-value step there, two blocks of 128 rows that the two
// threads split with a 15-value tail), Q4_0 / Q8_0 repacked four rows at a time and as stored (odd row
// counts stay stored)
const CASES: [GgufWriteType, number, number, boolean][] = [
  ["F16", 12, 100, false],
  ["F16", 12, 104, false],
  ["F16", 7, 37, false],
  ["F16", 128, 4100, true],
  ["F16", 128, 4104, true],
  ["F16", 256, 4111, true],
  ["Q4_0", 20, 352, true],
  ["Q4_0", 9, 96, false],
  ["Q8_0", 16, 288, true],
  ["Q8_0", 5, 64, false],
  ["Q4_K", 8, 512, true],
  ["Q6_K", 6, 768, true],
];

for (const relaxedSimd of [false, true]) {
  describe(`batched decode, ${relaxedSimd ? "relaxed" : "plain"} SIMD`, () => {
    let e: Engine;
    before(async () => {
      e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 96 });
    });
    after(() => e.close());

    for (const [type, N, K, repack] of CASES) {
      test(`${type} [${N}, ${K}]${repack ? " repacked" : ""}: up to decodeRows rows at once equal the rows one at a time`, () => {
        const W = packed(e, type, N, K, N + K, repack);
        // the plain build keeps the K-quants as stored
        if (repack && (relaxedSimd || !type.endsWith("_K")))
          assert.notEqual(W.kernelType, W.type, "repacked");
        const limit = e.decodeRows(W);
        for (let M = 1; M <= limit + 1; M++) {
          // rows of very different magnitudes, so a row that took another's sums shows
          const xs = randomData(M * K, 100 + M);
          for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) xs[m * K + k] *= 4 ** m;
          for (const accumulate of [false, true]) {
            const init = accumulate ? randomData(M * N, 200 + M) : new Float32Array(M * N);
            const [got] = batched(e, xs, [W], [init], M, accumulate);
            const want = oneAtATime(e, xs, W, init, M, accumulate);
            if (M > limit) {
              // past the decode kernels: the GEMM / panels, the same products rounded in another order
              for (let i = 0; i < got.length; i++) {
                const scale = 4 ** Math.floor(i / N) * Math.sqrt(K);
                assert.ok(
                  Math.abs(got[i] - want[i]) <= 1e-3 * scale,
                  `M=${M} [${i}]: ${got[i]} against ${want[i]}`,
                );
              }
              continue;
            }
            const i = firstDifference(got, want);
            assert.equal(
              i,
              -1,
              `M=${M} accumulate=${accumulate}: [${Math.floor(i / N)}, ${i % N}] ${got[i]} against ${want[i]}`,
            );
          }
        }
        W.free();
      });
    }

    test("strided input and output rows (lda > K, ldc > N) through the paired kernels equal the rows one at a time", () => {
      for (const [type, N, K] of [
        ["F16", 128, 4100],
        ["Q4_0", 8, 256],
        ["Q4_K", 8, 256],
        ["Q6_K", 4, 256],
      ] as const) {
        const W = packed(e, type, N, K, 7, true);
        // an odd count leaves the pair kernels a single row at the end
        for (const M of [e.decodeRows(W) - 1, e.decodeRows(W)]) {
          const [lda, ldc] = [K + 5, N + 3];
          const xs = randomData(M * lda, 400 + M);
          const x = e.from(xs);
          const out = e.from(new Float32Array(M * ldc).fill(7));
          e.linear(x, W, out, M, N, K, { lda, ldc });
          const dense = new Float32Array(M * K);
          for (let m = 0; m < M; m++) dense.set(xs.subarray(m * lda, m * lda + K), m * K);
          const want = oneAtATime(e, dense, W, new Float32Array(M * N), M, false);
          for (let m = 0; m < M; m++) {
            const row = out.f32.slice(m * ldc, m * ldc + N);
            assert.equal(firstDifference(row, want.subarray(m * N, (m + 1) * N)), -1, `${type} row ${m}`);
            assert.deepEqual(
              [...out.f32.slice(m * ldc + N, (m + 1) * ldc)],
              [7, 7, 7],
              `${type} row ${m}: the gap untouched`,
            );
          }
          for (const b of [x, out]) b.free();
        }
        W.free();
      }
    });

    test("F16 panels split across the two threads: each thread carries its sums in its own scratch", () => {
      // two blocks of 128 rows a thread, four panels each: threads that shared one sums area would
      // overwrite each other's carried sums while both run (a race: repeated so that it shows)
      const W = packed(e, "F16", 512, 8200, 11, true);
      for (const M of [2, e.decodeRows(W)]) {
        const xs = randomData(M * 8200, 500 + M);
        const want = oneAtATime(e, xs, W, new Float32Array(M * 512), M, false);
        for (let rep = 0; rep < 16; rep++) {
          const [got] = batched(e, xs, [W], [new Float32Array(M * 512)], M, false);
          assert.equal(firstDifference(got, want), -1, `M=${M}, run ${rep}`);
        }
      }
      W.free();
    });

    test("linearEach over several packed weights (q/k/v-like): each output equals its rows one at a time", () => {
      const K = 256;
      const Ws = [
        packed(e, "Q4_0", 16, K, 1, true),
        packed(e, "F16", 12, K, 2, false),
        packed(e, "Q8_0", 8, K, 3, true),
      ];
      for (const M of [2, 3, Math.min(...Ws.map((W) => e.decodeRows(W)))]) {
        const xs = randomData(M * K, 300 + M);
        const inits = Ws.map((W) => new Float32Array(M * W.rows));
        const got = batched(e, xs, Ws, inits, M, false);
        Ws.forEach((W, j) => {
          const want = oneAtATime(e, xs, W, inits[j], M, false);
          assert.equal(firstDifference(got[j], want), -1, `${W.typeName} M=${M}`);
        });
      }
      for (const W of Ws) W.free();
    });
  });
}

describe("a batched forward step of packed models", () => {
  const dir = mkdtempSync(join(tmpdir(), "ml-batched-"));
  // 256-wide so that the K-quants stay packed; 96 rows of vocabulary, a multiple of four (repacked head)
  const cfg: LlamaConfig = {
    architecture: "llama",
    vocabSize: 96,
    hiddenSize: 256,
    intermediateSize: 512,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 64,
    contextLength: 32,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
  };
  const weights = randomWeights(cfg, 11);
  after(() => rmSync(dir, { recursive: true, force: true }));

  for (const relaxedSimd of [false, true]) {
    for (const type of ["F16", "Q4_0", "Q4_K", "Q6_K"] as const) {
      test(`${type}, ${relaxedSimd ? "relaxed" : "plain"}: each sequence's logits in a batch of up to decodeRows are its logits alone, bit for bit`, async () => {
        const path = join(dir, `${type}.gguf`);
        writeLlamaGguf(path, { config: cfg, weights, tensorType: type });
        const e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 64 });
        try {
          const { model, file } = loadLlamaGguf(e, path, { warmUp: false });
          file.close();
          // as many sequences as every matrix of the model keeps on its decode kernels
          const packedWeights = [...model.params.values()].filter((W) => W instanceof QTensor);
          assert.ok(packedWeights.length > 0, "packed");
          const B = Math.min(...packedWeights.map((W) => e.decodeRows(W)));
          const prompts = Array.from({ length: B }, (_, i) =>
            [3 + i, 40 + 2 * i, 7, 90 - i].slice(0, 2 + (i % 3)),
          );
          // the same prompts into two sets of caches, one sequence at a time
          const caches = [0, 1].map(() =>
            prompts.map((tokens) => {
              const cache = new KVCache(model, 16);
              forward(model, [{ tokens, cache }]);
              return cache;
            }),
          );
          const next = prompts.map((_, i) => 11 + 5 * i);
          const together = forward(
            model,
            next.map((t, i) => ({ tokens: [t], cache: caches[0][i] })),
          );
          next.forEach((t, i) => {
            const [alone] = forward(model, [{ tokens: [t], cache: caches[1][i] }]);
            assert.equal(firstDifference(together[i], alone), -1, `${type} B=${B}: sequence ${i}`);
          });
          for (const c of caches.flat()) c.free();
          model.free();
        } finally {
          await e.close();
        }
      });
    }
  }
});
