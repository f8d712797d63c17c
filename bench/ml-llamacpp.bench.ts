// This engine beside llama.cpp (node-llama-cpp 3.21.1, prebuilt CPU binaries) on the same GGUF files at
// real model shapes: SmolLM-135M, Qwen2.5-0.5B, Qwen2.5-1.5B and Llama-3.1-8B, in F16, Q8_0 and Q4_0/Q4_K.
// The files hold random weights written straight in their block formats (no f32 model in memory), so
// 8B-sized files take seconds to write. Each engine runs in its own child process per file, so load
// time and peak RSS are its own. Each also runs a warm pass in the same process (DECODE more tokens,
// then the prompt again into an empty cache): V8 compiles our JavaScript as it runs it (our load runs a
// warm-up for that, counted in load time and CPU), so the warm ratios are what a server's later
// requests see.
// Env: BENCH_SHAPES (default "135m,0.5b"; also 1.5b, 8b), BENCH_TYPES (default "F16,Q8_0,Q4"),
// BENCH_THREADS (default "1"; "1,2" adds 2-thread rows, marked), BENCH_PROMPT (64), BENCH_DECODE (32),
// BENCH_BATCH (4: sequences decoding together in the batched rows, as a server batches its requests).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { forward, type GgufWriteType, KVCache, type LlamaConfig, loadLlamaGgufSplit } from "@openledger/ml";
import { SHAPES, writeModel } from "./ml-shapes.ts";
import { measureWasmPeaks, type WasmPeaks } from "./wasm-peak.ts";

const PROMPT = Number(process.env.BENCH_PROMPT ?? 64);
const DECODE = Number(process.env.BENCH_DECODE ?? 32);
const BATCH = Number(process.env.BENCH_BATCH ?? 4);
/** the batched rows' prompts: BATCH different ones of this many tokens */
const BATCH_PROMPT = 16;
const promptFor = (vocabSize: number) =>
  Array.from({ length: PROMPT }, (_, i) => (i * 7919 + 13) % (vocabSize - 1));

interface Measured {
  load: number;
  /** CPU seconds of the process during load (ours: reading, repacking and the warm-up) */
  loadCpu: number;
  prefill: number;
  decode: number;
  /** tokens per CPU second of the process (steadier than wall time on a shared machine) */
  prefillCpu: number;
  decodeCpu: number;
  /** the next DECODE tokens, and the same prompt prefilled again into an empty cache: the engine warm */
  warmDecode: number;
  warmDecodeCpu: number;
  warmPrefill: number;
  warmPrefillCpu: number;
  /** BATCH sequences decoding DECODE tokens each together: tokens per second, all sequences counted */
  batchDecode: number;
  batchDecodeCpu: number;
  peakRss: number;
  /** RSS of the child before loading: Node, tsx and the imports, which the engine cannot shrink */
  idleRss: number;
  /** greedy continuation of the prompt */
  tokens: number[];
  /** engines the model was split across (ours) */
  parts?: number;
  error?: string;
}

// ---- child: one engine, one file ----

/** Resident bytes now (the static imports above are already loaded). */
const idleRss = process.memoryUsage().rss;

async function measureOurs(path: string, threads: number): Promise<Measured> {
  let t0 = performance.now();
  const l0 = process.cpuUsage();
  // one engine when the model fits one 4 GiB memory, layer ranges on several otherwise
  const { model, file, config, engines } = await loadLlamaGgufSplit(path, {
    threads,
    maxContext: Math.max(PROMPT + 2 * DECODE, BATCH_PROMPT + DECODE) + 8,
  });
  file.close();
  try {
    const load = (performance.now() - t0) / 1000;
    const loadCpu = cpuSince(l0);
    const prompt = promptFor(config.vocabSize);
    const cache = new KVCache(model);
    t0 = performance.now();
    let c0 = process.cpuUsage();
    let [logits] = forward(model, [{ tokens: prompt, cache }]);
    const prefill = PROMPT / ((performance.now() - t0) / 1000);
    const prefillCpu = PROMPT / cpuSince(c0);
    t0 = performance.now();
    c0 = process.cpuUsage();
    const tokens: number[] = [];
    for (let i = 0; i < DECODE; i++) {
      tokens.push(argmaxOf(logits));
      [logits] = forward(model, [{ tokens: [tokens[i]], cache }]);
    }
    const decode = DECODE / ((performance.now() - t0) / 1000);
    const decodeCpu = DECODE / cpuSince(c0);
    t0 = performance.now();
    c0 = process.cpuUsage();
    for (let i = 0; i < DECODE; i++) {
      [logits] = forward(model, [{ tokens: [argmaxOf(logits)], cache }]);
    }
    const warmDecode = DECODE / ((performance.now() - t0) / 1000);
    const warmDecodeCpu = DECODE / cpuSince(c0);
    const again = new KVCache(model);
    t0 = performance.now();
    c0 = process.cpuUsage();
    forward(model, [{ tokens: prompt, cache: again }]);
    const warmPrefill = PROMPT / ((performance.now() - t0) / 1000);
    const warmPrefillCpu = PROMPT / cpuSince(c0);
    const peakRss = peakRssBytes();
    cache.free();
    again.free();
    // BATCH sequences: each prompt but its last token prefilled, then DECODE batched steps of one token each
    const prompts = batchPrompts(config.vocabSize);
    const caches = prompts.map((p) => {
      const c = new KVCache(model, BATCH_PROMPT + DECODE + 1);
      forward(model, [{ tokens: p.slice(0, -1), cache: c }]);
      return c;
    });
    let next = prompts.map((p) => p[p.length - 1]);
    t0 = performance.now();
    c0 = process.cpuUsage();
    for (let i = 0; i < DECODE; i++) {
      next = forward(
        model,
        caches.map((c, j) => ({ tokens: [next[j]], cache: c })),
      ).map(argmaxOf);
    }
    const batchDecode = (BATCH * DECODE) / ((performance.now() - t0) / 1000);
    const batchDecodeCpu = (BATCH * DECODE) / cpuSince(c0);
    for (const c of caches) c.free();
    return {
      load,
      loadCpu,
      prefill,
      decode,
      prefillCpu,
      decodeCpu,
      warmDecode,
      warmDecodeCpu,
      warmPrefill,
      warmPrefillCpu,
      batchDecode,
      batchDecodeCpu,
      peakRss,
      idleRss,
      tokens,
      parts: engines.length,
    };
  } finally {
    model.free();
    await Promise.all(engines.map((e) => e.close()));
  }
}

/**
 * This process's peak resident memory: the kernel's high-water mark of its own address space (VmHWM).
 * Not getrusage's maxRSS: a spawned child's maxRSS starts from its parent's resident size at the fork
 * (Linux carries it across exec), so every child of a large parent reported at least the parent's size.
 */
function peakRssBytes(): number {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (hwm) return Number(hwm[1]) * 1024;
  } catch {
    // not Linux: getrusage is what there is
  }
  return process.resourceUsage().maxRSS * 1024;
}

function cpuSince(c0: NodeJS.CpuUsage): number {
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / 1e6;
}

/** BATCH different prompts of BATCH_PROMPT tokens */
function batchPrompts(vocabSize: number): number[][] {
  return Array.from({ length: BATCH }, (_, j) =>
    Array.from({ length: BATCH_PROMPT }, (_, i) => (i * 7919 + 31 * j + 13) % (vocabSize - 1)),
  );
}

function argmaxOf(x: Float32Array): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

async function measureLlamaCpp(path: string, threads: number, vocabSize: number): Promise<Measured> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  let t0 = performance.now();
  const l0 = process.cpuUsage();
  const model = await llama.loadModel({ modelPath: path, gpuLayers: 0 });
  let context = await model.createContext({ contextSize: 512, batchSize: 512, threads });
  const load = (performance.now() - t0) / 1000;
  const loadCpu = cpuSince(l0);
  try {
    const seq = context.getSequence();
    // node-llama-cpp's Token is a branded number
    const prompt = promptFor(vocabSize) as unknown as Parameters<
      typeof seq.evaluateWithoutGeneratingNewTokens
    >[0];
    t0 = performance.now();
    let c0 = process.cpuUsage();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    const prefill = PROMPT / ((performance.now() - t0) / 1000);
    const prefillCpu = PROMPT / cpuSince(c0);
    await seq.clearHistory();
    const tokens: number[] = [];
    let decode = 0;
    let decodeCpu = 0;
    for await (const t of seq.evaluate(prompt, { temperature: 0 })) {
      tokens.push(Number(t));
      if (tokens.length === 1 || tokens.length === DECODE + 1) {
        if (tokens.length > 1) {
          decode = DECODE / ((performance.now() - t0) / 1000);
          decodeCpu = DECODE / cpuSince(c0);
        }
        // after prefill and the first token; then after the first DECODE tokens
        t0 = performance.now();
        c0 = process.cpuUsage();
      }
      if (tokens.length > 2 * DECODE) break;
    }
    const warmDecode = DECODE / ((performance.now() - t0) / 1000);
    const warmDecodeCpu = DECODE / cpuSince(c0);
    await seq.clearHistory();
    t0 = performance.now();
    c0 = process.cpuUsage();
    await seq.evaluateWithoutGeneratingNewTokens(prompt);
    const warmPrefill = PROMPT / ((performance.now() - t0) / 1000);
    const warmPrefillCpu = PROMPT / cpuSince(c0);
    const peakRss = peakRssBytes();
    // BATCH sequences of one context, stepped in lockstep: node-llama-cpp puts the evaluations requested
    // in the same turn into one llama_decode batch (generators left to run on their own drift apart and
    // are mostly evaluated one at a time)
    await context.dispose();
    context = await model.createContext({
      contextSize: BATCH * (BATCH_PROMPT + DECODE + 8),
      batchSize: 512,
      threads,
      sequences: BATCH,
    });
    const seqs = Array.from({ length: BATCH }, () => context.getSequence());
    const prompts = batchPrompts(vocabSize) as unknown as (typeof prompt)[];
    for (const [j, s] of seqs.entries()) await s.evaluateWithoutGeneratingNewTokens(prompts[j].slice(0, -1));
    const steps = seqs.map((s, j) =>
      s.evaluate(prompts[j].slice(-1), { temperature: 0 })[Symbol.asyncIterator](),
    );
    t0 = performance.now();
    c0 = process.cpuUsage();
    for (let i = 0; i < DECODE; i++) await Promise.all(steps.map((g) => g.next()));
    const batchDecode = (BATCH * DECODE) / ((performance.now() - t0) / 1000);
    const batchDecodeCpu = (BATCH * DECODE) / cpuSince(c0);
    await Promise.all(steps.map((g) => g.return(undefined)));
    return {
      load,
      loadCpu,
      prefill,
      decode,
      prefillCpu,
      decodeCpu,
      warmDecode,
      warmDecodeCpu,
      warmPrefill,
      warmPrefillCpu,
      batchDecode,
      batchDecodeCpu,
      peakRss,
      idleRss,
      tokens: tokens.slice(0, DECODE),
    };
  } finally {
    await context.dispose();
    await model.dispose();
    await llama.dispose();
  }
}

// ---- random files in their storage formats ----
// ---- parent ----

function runChild(engine: "ours" | "llama.cpp", path: string, threads: number, vocabSize: number): Measured {
  const run = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      new URL(import.meta.url).pathname,
      "--child",
      engine,
      path,
      String(threads),
      String(vocabSize),
    ],
    { encoding: "utf8", maxBuffer: 1 << 24 },
  );
  const line = run.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(line) as Measured;
  } catch {
    const why = (run.stderr || run.stdout).trim().split("\n").slice(-1)[0] ?? `exit ${run.status}`;
    return {
      load: 0,
      loadCpu: 0,
      prefill: 0,
      decode: 0,
      prefillCpu: 0,
      decodeCpu: 0,
      warmDecode: 0,
      warmDecodeCpu: 0,
      warmPrefill: 0,
      warmPrefillCpu: 0,
      batchDecode: 0,
      batchDecodeCpu: 0,
      peakRss: 0,
      idleRss: 0,
      tokens: [],
      error: why.slice(0, 160),
    };
  }
}

/**
 * Multiply-adds per prompt token of a PROMPT-token prefill: the layers' matmuls, attention over the
 * tokens before it (PROMPT/2 on average), and the output head, which prefill runs for the last token only.
 */
function prefillMacsPerToken(c: LlamaConfig): number {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const layer = c.hiddenSize * (2 * q + 2 * kv) + 3 * c.hiddenSize * c.intermediateSize + q * (PROMPT + 1);
  return c.numLayers * layer + (c.hiddenSize * c.vocabSize) / PROMPT;
}

/** The instruction our prefill of this weight format is built on (see wasm-peak.ts). */
function prefillInstruction(type: GgufWriteType): keyof WasmPeaks {
  return type === "F16" || type === "BF16" ? "f32Fma" : type === "Q8_0" ? "i16Dot" : "byteDot";
}

async function main(): Promise<void> {
  const shapes = (process.env.BENCH_SHAPES ?? "135m,0.5b").split(",");
  const types = (process.env.BENCH_TYPES ?? "F16,Q8_0,Q4").split(",");
  const threadList = (process.env.BENCH_THREADS ?? "1").split(",").map(Number);
  const dir = mkdtempSync(join(tmpdir(), "bench-ml-llamacpp-"));
  const rows: string[][] = [];
  const idle: number[] = [];
  const mib = (b: number) => (b / 2 ** 20).toFixed(0);
  const notes: string[] = [];
  const GiB = 2 ** 30;
  const peaks = await measureWasmPeaks();
  try {
    for (const shape of shapes) {
      const config = SHAPES[shape];
      if (!config) throw new Error(`unknown shape ${shape}; known: ${Object.keys(SHAPES).join(", ")}`);
      for (const t of types) {
        // "Q4": Q4_K (with Q6_K output) where rows are whole 256-value super-blocks, else Q4_0
        const type: GgufWriteType =
          t === "Q4"
            ? config.hiddenSize % 256 === 0 && config.intermediateSize % 256 === 0
              ? "Q4_K"
              : "Q4_0"
            : (t as GgufWriteType);
        const path = join(dir, `${shape}-${type}.gguf`);
        const w0 = performance.now();
        writeModel(path, config, type);
        const size = statSync(path).size;
        notes.push(
          `${shape} ${type}: ${(size / GiB).toFixed(2)} GiB written in ${((performance.now() - w0) / 1000).toFixed(1)} s`,
        );
        for (const threads of threadList) {
          const cpp = runChild("llama.cpp", path, threads, config.vocabSize);
          const ours = runChild("ours", path, threads, config.vocabSize);
          if (ours.idleRss) idle.push(ours.idleRss);
          const parts = (ours.parts ?? 1) > 1 ? ` [${ours.parts} memories]` : "";
          const label = `${shape} ${type}${threads > 1 ? ` (${threads} threads, see note)` : ""}${parts}`;
          let agree = 0;
          while (agree < ours.tokens.length && ours.tokens[agree] === cpp.tokens[agree]) agree++;
          const ratio = (a: number, b: number) => (a && b ? (a / b).toFixed(2) : "-");
          // llama.cpp's prefill in multiply-adds per CPU second against the ceiling of our instruction
          const cppMacs = (cpp.prefillCpu * prefillMacsPerToken(config)) / 1e9;
          const ceiling = peaks[prefillInstruction(type)];
          const f = (x: number, d = 1) => (x ? x.toFixed(d) : "-");
          rows.push([
            label,
            `${(size / GiB).toFixed(2)}`,
            `${f(ours.decode)} (${f(ours.decodeCpu)})`,
            `${f(cpp.decode)} (${f(cpp.decodeCpu)})`,
            `${ratio(ours.decode, cpp.decode)} (${ratio(ours.decodeCpu, cpp.decodeCpu)})`,
            `${f(ours.prefill)} (${f(ours.prefillCpu)})`,
            `${f(cpp.prefill)} (${f(cpp.prefillCpu)})`,
            `${ratio(ours.prefill, cpp.prefill)} (${ratio(ours.prefillCpu, cpp.prefillCpu)})`,
            `${f(cppMacs)} / ${f(ceiling)} = ${ratio(ceiling, cppMacs)}`,
            `${ratio(ours.warmDecode, cpp.warmDecode)} (${ratio(ours.warmDecodeCpu, cpp.warmDecodeCpu)})`,
            `${ratio(ours.warmPrefill, cpp.warmPrefill)} (${ratio(ours.warmPrefillCpu, cpp.warmPrefillCpu)})`,
            `${f(ours.batchDecodeCpu)} ×${ratio(ours.batchDecodeCpu, ours.decodeCpu)}`,
            `${f(cpp.batchDecodeCpu)} ×${ratio(cpp.batchDecodeCpu, cpp.decodeCpu)}`,
            `${ratio(ours.batchDecodeCpu, cpp.batchDecodeCpu)}`,
            ours.peakRss ? (ours.peakRss / size).toFixed(2) : "-",
            ours.peakRss ? ((ours.peakRss - ours.idleRss) / size).toFixed(2) : "-",
            cpp.peakRss ? (cpp.peakRss / size).toFixed(2) : "-",
            `${f(ours.load, 2)} (${f(ours.loadCpu, 2)})`,
            `${f(cpp.load, 2)} (${f(cpp.loadCpu, 2)})`,
            ours.tokens.length && cpp.tokens.length ? `${agree}/${ours.tokens.length}` : "-",
          ]);
          if (ours.error) notes.push(`${label} ours: ${ours.error}`);
          if (cpp.error) notes.push(`${label} llama.cpp: ${cpp.error}`);
        }
        rmSync(path, { force: true });
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `prompt ${PROMPT} tokens, decode ${DECODE} greedy tokens; random weights in each format; tok/s of wall time ` +
      `(in brackets: per CPU second of the engine's process, steadier on a shared machine); ` +
      `load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs shared with other work, so figures vary run to run`,
  );
  const header = [
    "model",
    "GiB",
    "decode ours",
    "llama.cpp",
    "ratio",
    "prefill ours",
    "llama.cpp",
    "ratio",
    "llama.cpp GMAC/s / ceiling",
    "warm decode ratio",
    "warm prefill ratio",
    `batch ${BATCH} ours`,
    "llama.cpp",
    "ratio",
    "RSS/file ours",
    "above idle",
    "llama.cpp",
    "load s ours",
    "llama.cpp",
    "greedy same",
  ];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
  console.log(
    `  warm: the ${DECODE} tokens after the first ${DECODE}, and the prompt prefilled again into an empty cache, in the same process (V8 compiles our engine's JavaScript as it runs it; a server is warm after its first request)`,
  );
  console.log(
    "  load s: wall (in brackets: CPU seconds of the process); ours includes the warm-up that has V8 compile the per-token JavaScript before the first request (packages/ml README)",
  );
  console.log(
    `  RSS is the child process's peak; "above idle" subtracts what the child held before loading (Node, tsx and the imports: ${mib(Math.min(...idle))}-${mib(Math.max(...idle))} MiB in these runs)`,
  );
  console.log(
    `  llama.cpp GMAC/s / ceiling: llama.cpp's prefill in 10^9 multiply-adds per CPU second, beside the most that the 128-bit WebAssembly SIMD instruction our prefill of that format runs on retires here with nothing else to do ` +
      `(bench/wasm-peak.ts, 1 thread: byte dot ${peaks.byteDot.toFixed(1)}, 16-bit dot ${peaks.i16Dot.toFixed(1)}, f32 fused multiply-add ${peaks.f32Fma.toFixed(1)}); ` +
      "the quotient bounds the prefill ratio that any kernel on that instruction could reach, one that did nothing but multiply-add (llama.cpp runs 256/512-bit AVX-512 VNNI and F16C code here)",
  );
  console.log(
    `  batch ${BATCH}: ${BATCH} sequences decoding ${DECODE} tokens each in one batched pass per step (as OpenLoRA's scheduler runs requests), tokens per CPU second of all of them; ×: the gain over one sequence's decode`,
  );
  for (const n of notes) console.log(`  ${n}`);
  if (threadList.some((t) => t > 1)) {
    console.log(
      "  2-thread rows: llama.cpp's spinning thread barrier collapses when its threads are descheduled on this shared machine, so those ratios mislead",
    );
  }
}

const argv = process.argv;
if (argv[2] === "--child") {
  const [engine, path, threads, vocabSize] = argv.slice(3);
  try {
    const m =
      engine === "ours"
        ? await measureOurs(path, Number(threads))
        : await measureLlamaCpp(path, Number(threads), Number(vocabSize));
    console.log(JSON.stringify(m));
  } catch (err) {
    console.error((err as Error).message);
    process.exit(1);
  }
} else await main();
