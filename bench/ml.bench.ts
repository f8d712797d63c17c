// The ml engine's own speed: matmul GFLOP/s against a naive loop and the measured machine peak,
// prefill/decode tokens/s, LoRA training throughput, and multi-adapter decode with 1/8/32 adapters.
// (llama.cpp side by side: bench/ml-llamacpp.bench.ts.) Threads: ML_THREADS (default: all CPUs).
import { cpus } from "node:os";
import {
  causalExample,
  Engine,
  forward,
  KVCache,
  type LlamaConfig,
  LlamaModel,
  LoraAdapter,
  type LoraTarget,
  Rng,
  Trainer,
} from "@openledger/ml";

const threads = Number(process.env.ML_THREADS ?? cpus().length);
const quick = process.env.ML_BENCH_QUICK === "1";

/** Seconds per call: the best of 5 rounds of at least minMs each (robust to a busy machine). */
function timeIt(fn: () => void, minMs = quick ? 60 : 250): number {
  fn();
  let best = Number.POSITIVE_INFINITY;
  for (let round = 0; round < 5; round++) {
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < minMs) {
      fn();
      n++;
    }
    best = Math.min(best, (performance.now() - t0) / n / 1000);
  }
  return best;
}

function table(title: string, rows: (string | number)[][]): void {
  console.log(`\n${title}`);
  const cells = rows.map((r) => r.map((c) => (typeof c === "number" ? c.toFixed(c < 10 ? 2 : 1) : c)));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  for (const r of cells) console.log(`  ${r.map((c, i) => c.padEnd(widths[i])).join("  ")}`);
}

function naiveMatmul(a: Float32Array, b: Float32Array, c: Float32Array, n: number): void {
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let k = 0; k < n; k++) s += a[i * n + k] * b[j * n + k];
      c[i * n + j] = s;
    }
}

const e = await Engine.create({ threads });
const e1 = await Engine.create({ threads: 1 });
console.log(`threads: ${threads}, relaxed SIMD (FMA): ${e.relaxedSimd}, CPU: ${cpus()[0]?.model ?? "?"}`);

// ---- matmul ----
const mmRows: (string | number)[][] = [["shape (A·Bᵀ)", "naive JS 1T", "wasm 1T", `wasm ${threads}T`]];
let peak = 0;
for (const n of [128, 256, 512, 1024]) {
  const rng = new Rng(n);
  const a = Float32Array.from({ length: n * n }, () => rng.normal());
  const flops = 2 * n * n * n;
  const naive =
    n <= 256 ? flops / timeIt(() => naiveMatmul(a, a, new Float32Array(n * n), n)) / 1e9 : Number.NaN;
  const gf = (eng: Engine) => {
    const A = eng.from(a);
    const C = eng.alloc(n * n);
    const g = flops / timeIt(() => eng.matmulABt(A, A, C, n, n, n)) / 1e9;
    A.free();
    C.free();
    return g;
  };
  const g1 = gf(e1);
  const gT = gf(e);
  peak = Math.max(peak, gT);
  mmRows.push([`${n}x${n}x${n}`, Number.isNaN(naive) ? "-" : naive, g1, gT]);
}
table("matmul GFLOP/s", mmRows);
console.log(`  measured peak (best matmul, ${threads} threads): ${peak.toFixed(1)} GFLOP/s`);

// ---- model ----
const cfg: LlamaConfig = {
  architecture: "llama",
  vocabSize: 8192,
  hiddenSize: 512,
  intermediateSize: 1408,
  numLayers: 8,
  numHeads: 8,
  numKvHeads: 4,
  headDim: 64,
  contextLength: 1024,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: true,
  attentionBias: false,
};
const model = LlamaModel.random(e, cfg, 1);
const P = model.parameterCount;
console.log(
  `\nmodel: ${cfg.numLayers} layers, hidden ${cfg.hiddenSize}, ${(P / 1e6).toFixed(1)}M parameters (f32)`,
);
const rng = new Rng(2);
const prompt = Array.from({ length: 256 }, () => rng.int(cfg.vocabSize));

const prefillS = timeIt(() => {
  const cache = new KVCache(model, 512);
  forward(model, [{ tokens: prompt, cache }]);
  cache.free();
});
const cache = new KVCache(model, 512);
forward(model, [{ tokens: prompt.slice(0, 64), cache }]);
let tok = 1;
const decodeS = timeIt(() => {
  if (cache.length >= 500) cache.truncate(64);
  const l = forward(model, [{ tokens: [tok], cache }])[0];
  tok = l.indexOf(Math.max(...l.subarray(0, 100)));
});
cache.free();
table("inference (batch 1)", [
  ["prefill 256 tokens", "tokens/s", prompt.length / prefillS],
  ["decode", "tokens/s", 1 / decodeS],
]);

// ---- LoRA training ----
const targets: LoraTarget[] = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
const trainer = new Trainer(model, {
  mode: "lora",
  lora: { rank: 16, alpha: 32, targets },
  learningRate: 1e-3,
  warmupSteps: 2,
  totalSteps: 1000,
  seed: 1,
  batchSize: 4,
});
const T = 128;
const examples = Array.from({ length: 8 }, () =>
  causalExample(Array.from({ length: T + 1 }, () => rng.int(cfg.vocabSize))),
);
const stepS = timeIt(() => trainer.trainStep(examples.slice(0, 4)), quick ? 100 : 600);
const tokensPerStep = 4 * T;
// matmul FLOPs per token: forward 2·W, backward 2·W (input gradients only; the base is frozen),
// with W the weights touched per token (layers + LM head); attention ≈ 4·T·d per layer each way.
const layerW = cfg.numLayers * (2 * 512 * 512 + 2 * 512 * 256 + 3 * 512 * 1408);
const W = layerW + cfg.vocabSize * 512;
const attn = cfg.numLayers * 4 * (T / 2) * 512;
const flopsPerToken = 4 * W + 3 * attn;
const trainGflops = (flopsPerToken * tokensPerStep) / stepS / 1e9;
table("LoRA training (rank 16, all 7 targets, batch 4x128)", [
  ["tokens/s", tokensPerStep / stepS],
  ["achieved GFLOP/s", trainGflops],
  ["share of measured peak", `${((100 * trainGflops) / peak).toFixed(0)}%`],
]);
trainer.adapter?.free();

// ---- multi-adapter decode ----
// 32 rows per step; rows cycle through k distinct adapters. Two shapes: the common PEFT default
// (rank 8 on q/v) and a heavy one (rank 16 on all 7 targets: each adapter is ~17% of this small base,
// so 32 of them read more bytes per step than the base itself).
const rows = 32;
for (const [label, rank, on] of [
  ["rank 8 on q_proj+v_proj", 8, ["q_proj", "v_proj"]],
  ["rank 16 on all 7 targets", 16, targets],
] as [string, number, LoraTarget[]][]) {
  const pool = Array.from({ length: 32 }, (_, i) => {
    const a = LoraAdapter.create(e, cfg, { rank, alpha: 2 * rank, targets: on }, 100 + i);
    for (const s of a.orderedSlots()) s.B.f32.fill(0.001);
    return a;
  });
  const multi: (string | number)[][] = [["distinct adapters in a batch of 32", "tokens/s", "vs 1 adapter"]];
  let one = 0;
  for (const k of [1, 8, 32]) {
    const caches = Array.from({ length: rows }, () => new KVCache(model, 256));
    forward(
      model,
      caches.map((c, i) => ({ tokens: prompt.slice(0, 32), cache: c, adapter: pool[i % k] })),
    );
    const s = timeIt(() => {
      for (const c of caches) if (c.length >= 250) c.truncate(32);
      forward(
        model,
        caches.map((c, i) => ({ tokens: [i + 1], cache: c, adapter: pool[i % k] })),
      );
    });
    const tps = rows / s;
    if (k === 1) one = tps;
    multi.push([String(k), tps, `${((100 * tps) / one).toFixed(0)}%`]);
    for (const c of caches) c.free();
  }
  table(`multi-adapter decode (${label})`, multi);
  for (const a of pool) a.free();
}

await e.close();
await e1.close();
