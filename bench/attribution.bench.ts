// span-v1/span-v2 benchmark: index build speed and size, attribution latency for 200-word outputs,
// fidelity with planted sources, and extended copies (span-v2's reason to exist), beside the
// brute-force scan a user would otherwise write.
// `npm run bench -- attribution` (10 MB); ATTRIBUTION_BENCH_LARGE=1 adds the 100 MB snapshot;
// ATTRIBUTION_BENCH_SCALE_MB=1024 builds an index file of that much text and queries it opened from
// disk (memory-mapped, and with positioned reads; run node with --max-old-space-size=8192 for 1 GB;
// ATTRIBUTION_BENCH_SCALE_FILE=<path> keeps and reuses the file);
// ATTRIBUTION_BENCH_DEBUG=1 prints grad-v1's per-contribution influence beside its measured effect.
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import {
  attributeSpanV1,
  attributeSpanV2,
  COST_TIERS,
  type SpanChunk,
  SpanIndex,
  spanV1Reference,
  spanV2Reference,
} from "@openledger/attribution";
import { mulberry32 } from "@openledger/common";
import type { Hex } from "viem";

const rnd = mulberry32(20261127);
const int = (n: number) => Math.floor(rnd() * n);

// A Zipf-like vocabulary: the cost table's common words first, then 60,000 invented words.
const COMMON = COST_TIERS.flatMap(([, words]) => words.split(" ")).filter((w) => w.length > 1);
const LETTERS = "abcdefghijklmnopqrstuvwxyz";
const vocab = [...COMMON];
while (vocab.length < 60_000) {
  let w = "";
  for (let k = 3 + int(7); k > 0; k--) w += LETTERS[int(26)];
  vocab.push(w);
}
// Zipf sampling by inverse CDF over ranks (s = 1).
const cdf = new Float64Array(vocab.length);
let acc = 0;
for (let r = 0; r < vocab.length; r++) cdf[r] = acc += 1 / (r + 1);
function word(): string {
  const x = rnd() * acc;
  let a = 0;
  let b = vocab.length - 1;
  while (a < b) {
    const mid = (a + b) >> 1;
    if (cdf[mid] < x) a = mid + 1;
    else b = mid;
  }
  return vocab[a];
}
const sentence = (n: number) => Array.from({ length: n }, word).join(" ");

interface Corpus {
  chunks: SpanChunk[];
  /** Words of each chunk of each contribution. */
  words: Map<bigint, string[][]>;
  copies: Map<bigint, bigint>;
  bytes: number;
}

/** Contributions of 1-3 chunks (~120 words each); every 50th contribution is a later exact copy. */
function corpus(targetBytes: number): Corpus {
  const chunks: SpanChunk[] = [];
  const words = new Map<bigint, string[][]>();
  const copies = new Map<bigint, bigint>();
  let bytes = 0;
  let id = 1n;
  while (bytes < targetBytes) {
    if (id % 50n === 0n && words.size > 10) {
      const original = BigInt(1 + int(Number(id) - 1));
      const src = words.get(original);
      if (src && !copies.has(original)) {
        src.forEach((ws, k) => {
          chunks.push({ contributionId: id, chunkIndex: k, text: `${ws.join(" ")}.` });
          bytes += ws.join(" ").length + 1;
        });
        copies.set(id, original);
        words.set(id, src);
        id++;
        continue;
      }
    }
    const ws: string[][] = [];
    for (let c = 1 + int(3), k = 0; k < c; k++) {
      const text = sentence(80 + int(80));
      chunks.push({ contributionId: id, chunkIndex: k, text: `${text}.` });
      ws.push(text.split(" "));
      bytes += text.length + 1;
    }
    words.set(id, ws);
    id++;
  }
  return { chunks, words, copies, bytes };
}

interface Planted {
  text: string;
  sources: Set<bigint>;
  paraphrased: Set<bigint>;
}

/** ~200 words: 1-3 verbatim passages (12-30 words) from true sources, a paraphrase, novel text. */
function plantedOutput(c: Corpus): Planted {
  const ids = [...c.words.keys()].filter((id) => !c.copies.has(id));
  const parts: string[] = [];
  const sources = new Set<bigint>();
  const paraphrased = new Set<bigint>();
  for (let k = 1 + int(3); k > 0; k--) {
    const id = ids[int(ids.length)];
    const chunksOf = c.words.get(id)!;
    const src = chunksOf[int(chunksOf.length)];
    const from = int(Math.max(1, src.length - 30));
    parts.push(sentence(10 + int(20)), src.slice(from, from + 12 + int(19)).join(" "));
    sources.add(id);
  }
  const pid = ids[int(ids.length)];
  const pchunks = c.words.get(pid)!;
  const psrc = pchunks[int(pchunks.length)];
  const from = int(Math.max(1, psrc.length - 30));
  // Paraphrase: every third word replaced, so no 4-word run survives.
  parts.push(
    psrc
      .slice(from, from + 24)
      .map((w, k) => (k % 3 === 2 ? word() : w))
      .join(" "),
  );
  if (!sources.has(pid)) paraphrased.add(pid);
  let text = parts.join(". ");
  const n = text.split(" ").length;
  if (n < 200) text += `. ${sentence(200 - n)}`;
  return { text, sources, paraphrased };
}

type Attribute = typeof attributeSpanV1 | typeof attributeSpanV2;

/** Latency and fidelity of one algorithm over the planted outputs. */
function fidelity(attribute: Attribute, index: SpanIndex, c: Corpus, planted: Planted[], fillers: string[]) {
  for (const p of planted.slice(0, 5)) attribute(p.text, [index]); // warm up
  const latencies: number[] = [];
  let tp = 0;
  let credited = 0;
  let trueCount = 0;
  let trueShare = 0;
  let copyShare = 0;
  let paraphraseCredits = 0;
  for (const p of planted) {
    const s = performance.now();
    const r = attribute(p.text, [index]);
    latencies.push(performance.now() - s);
    credited += r.credits.length;
    trueCount += p.sources.size;
    for (const cr of r.credits) {
      if (p.sources.has(cr.contributionId)) {
        tp++;
        trueShare += cr.share;
      }
      if (c.copies.has(cr.contributionId)) copyShare += cr.share;
      if (p.paraphrased.has(cr.contributionId)) paraphraseCredits++;
    }
  }
  return {
    "p50 ms (200 words)": pct(latencies, 50).toFixed(2),
    "p99 ms": pct(latencies, 99).toFixed(2),
    precision: `${((100 * tp) / Math.max(1, credited)).toFixed(1)} %`,
    recall: `${((100 * tp) / Math.max(1, trueCount)).toFixed(1)} %`,
    "share to true sources": `${(trueShare / (planted.length * 10_000)).toFixed(1)} %`,
    "to later exact copies": `${copyShare} ppm`,
    "paraphrases credited": `${paraphraseCredits} of ${planted.length}`,
    "filler-only outputs credited": `${fillers.filter((f) => attribute(f, [index]).credits.length > 0).length} of ${fillers.length}`,
  };
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const ROOT = `0x${"11".repeat(32)}` as Hex;
const MB = 1024 * 1024;

function run(label: string, targetBytes: number, outputs: number) {
  const c = corpus(targetBytes);
  const t0 = performance.now();
  const built = SpanIndex.build(c.chunks, ROOT);
  const buildMs = performance.now() - t0;
  const file = built.toBuffer();
  const t1 = performance.now();
  const index = SpanIndex.load(file);
  const loadMs = performance.now() - t1;
  const planted = Array.from({ length: outputs }, () => plantedOutput(c));
  const fillers = Array.from({ length: 50 }, () => sentence(200));
  const v1 = fidelity(attributeSpanV1, index, c, planted, fillers);
  const v2 = fidelity(attributeSpanV2, index, c, planted, fillers);
  // The same index opened from its file (paged positioned reads) instead of loaded into memory.
  const dir = mkdtempSync(join(tmpdir(), "attribution-bench-"));
  built.writeFile(join(dir, "index.spanidx"));
  const opened = SpanIndex.open(join(dir, "index.spanidx"));
  const v2Opened = fidelity(attributeSpanV2, opened, c, planted, fillers);
  opened.close();
  rmSync(dir, { recursive: true });
  console.log(
    `\n${label}: ${(c.bytes / MB).toFixed(1)} MB corpus, ${c.chunks.length} chunks, ${index.wordCount} words`,
  );
  console.table({
    "index build": {
      value: `${(c.bytes / MB / (buildMs / 1000)).toFixed(2)} MB/s (${(buildMs / 1000).toFixed(1)} s)`,
    },
    "index file": {
      value: `${(file.length / c.bytes).toFixed(2)} bytes per corpus byte (${(file.length / MB).toFixed(1)} MB)`,
    },
    "index load": { value: `${loadMs.toFixed(1)} ms` },
  });
  console.table({ "span-v1": v1, "span-v2": v2, "span-v2, index opened from file": v2Opened });
  return { c, index, planted };
}

// ATTRIBUTION_BENCH_SCALE_ONLY=1 runs only the scale part (with ATTRIBUTION_BENCH_SCALE_MB).
const scaleOnly = process.env.ATTRIBUTION_BENCH_SCALE_ONLY === "1";
if (!scaleOnly) smallCorpora();

/** The 10 MB (and optional 100 MB) snapshots, the brute-force comparison and extended copies. */
function smallCorpora() {
  const { c, planted } = run("10 MB snapshot", 10 * MB, 200);

  // Beside the peer: a brute-force scan (the reference implementation) over a 1 MB slice.
  const sliceChunks: SpanChunk[] = [];
  let sliceBytes = 0;
  for (const ch of c.chunks) {
    if (sliceBytes > MB) break;
    sliceChunks.push(ch);
    sliceBytes += (ch.text as string).length;
  }
  const sliceIndex = SpanIndex.build(sliceChunks, ROOT);
  const sample = planted.slice(0, 3).map((p) => p.text);
  let bruteMs = 0;
  let indexMs = 0;
  for (const text of sample) {
    let s = performance.now();
    const a = spanV1Reference(text, sliceChunks, [ROOT]);
    bruteMs += performance.now() - s;
    s = performance.now();
    const b = attributeSpanV1(text, [sliceIndex]);
    indexMs += performance.now() - s;
    if (a.commitment !== b.commitment) throw new Error("index and brute force disagree");
    if (
      spanV2Reference(text, sliceChunks, [ROOT]).commitment !== attributeSpanV2(text, [sliceIndex]).commitment
    )
      throw new Error("span-v2 index and brute force disagree");
  }
  console.log("\nbeside brute force (1 MB slice, 200-word outputs, same commitments):");
  console.table({
    "brute-force scan": { "ms per output": (bruteMs / sample.length).toFixed(1) },
    "suffix-array index": { "ms per output": (indexMs / sample.length).toFixed(3) },
    speedup: { "ms per output": `${(bruteMs / indexMs).toFixed(0)}x` },
  });

  if (process.env.ATTRIBUTION_BENCH_LARGE === "1") run("100 MB snapshot", 100 * MB, 100);
  else console.log("\n(set ATTRIBUTION_BENCH_LARGE=1 for the 100 MB snapshot)");

  extendedCopies(sliceChunks, c);
}

if (process.env.ATTRIBUTION_BENCH_SCALE_MB) scale(Number(process.env.ATTRIBUTION_BENCH_SCALE_MB));
else console.log("\n(set ATTRIBUTION_BENCH_SCALE_MB=1024 for a 1 GB index queried from its file)");

/**
 * Scale: `mb` MB of snapshot text in one index file, opened (not loaded) and queried with 200-word
 * outputs holding 1-3 verbatim passages: memory-mapped (the default) and with positioned reads (the
 * fallback without the addon). Chunks are generated lean (no per-word bookkeeping) so the build fits
 * in memory. ATTRIBUTION_BENCH_SCALE_FILE=<path> keeps the index file and its outputs there and
 * reuses them on the next run (the 1 GB build takes many minutes).
 */
function scale(mb: number) {
  const kept = process.env.ATTRIBUTION_BENCH_SCALE_FILE;
  const dir = kept ? undefined : mkdtempSync(join(tmpdir(), "attribution-scale-"));
  const path = kept ?? join(dir!, "scale.spanidx");
  let bytes = mb * MB;
  let outputs: string[];
  let built = "reused";
  if (kept && existsSync(path) && existsSync(`${path}.json`)) {
    ({ bytes, outputs } = JSON.parse(readFileSync(`${path}.json`, "utf8")));
  } else {
    const chunks: SpanChunk[] = [];
    const samples: string[][] = [];
    bytes = 0;
    let id = 1n;
    const t0 = performance.now();
    while (bytes < mb * MB) {
      for (let k = 0, n = 1 + int(3); k < n; k++) {
        const text = sentence(80 + int(80));
        if (chunks.length % 500 === 0) samples.push(text.split(" "));
        chunks.push({ contributionId: id, chunkIndex: k, text });
        bytes += text.length;
      }
      id++;
    }
    const genMs = performance.now() - t0;
    const t1 = performance.now();
    SpanIndex.build(chunks, ROOT).writeFile(path);
    const buildMs = performance.now() - t1;
    chunks.length = 0;
    built = `${(genMs / 1000).toFixed(0)} s / ${(buildMs / 1000).toFixed(0)} s (${(bytes / MB / (buildMs / 1000)).toFixed(2)} MB/s)`;
    outputs = Array.from({ length: 100 }, () => {
      const parts: string[] = [];
      for (let k = 1 + int(3); k > 0; k--) {
        const src = samples[int(samples.length)];
        const from = int(Math.max(1, src.length - 30));
        parts.push(sentence(10 + int(20)), src.slice(from, from + 12 + int(19)).join(" "));
      }
      const text = parts.join(". ");
      const n = text.split(" ").length;
      return n < 200 ? `${text}. ${sentence(200 - n)}` : text;
    });
    if (kept) writeFileSync(`${path}.json`, JSON.stringify({ bytes, outputs }));
  }
  // Wall time on this shared machine is mostly waiting for a core, so CPU time is printed beside it.
  // The first pass over distinct outputs pays for cold pages and the empty two-word prefix cache.
  const measure = (index: SpanIndex, attribute: Attribute, texts: string[], warmUp = true) => {
    if (warmUp) for (const o of texts.slice(0, 10)) attribute(o, [index]); // page cache, JIT
    const before = index.ioStats();
    const ms: number[] = [];
    const cpuMs: number[] = [];
    const commitments: Hex[] = [];
    let credited = 0;
    for (const o of texts) {
      const c = process.cpuUsage();
      const s = performance.now();
      const r = attribute(o, [index]);
      ms.push(performance.now() - s);
      const used = process.cpuUsage(c);
      cpuMs.push((used.user + used.system) / 1000);
      commitments.push(r.commitment);
      credited += r.credits.length > 0 ? 1 : 0;
    }
    const after = index.ioStats();
    const per = (k: "probes" | "pageReads") => ((after[k] - before[k]) / texts.length).toFixed(0);
    return {
      "p50 / p99 ms": `${pct(ms, 50).toFixed(2)} / ${pct(ms, 99).toFixed(2)}`,
      "CPU p50 / p99 ms": `${pct(cpuMs, 50).toFixed(2)} / ${pct(cpuMs, 99).toFixed(2)}`,
      "suffix probes / query": per("probes"),
      "16 KiB preads / query": per("pageReads"),
      credited: `${credited} of ${texts.length}`,
      commitments,
    };
  };
  // Read the file once so that the OS page cache holds it, as it does for a served index: a first
  // pass over a file evicted by other work pays disk reads instead (README, "Scale").
  const t3 = performance.now();
  const fd = openSync(path, "r");
  const buffer = new Uint8Array(64 * MB);
  for (let at = 0; readSync(fd, buffer, 0, buffer.length, at) > 0; at += buffer.length);
  closeSync(fd);
  const cacheMs = performance.now() - t3;
  const t2 = performance.now();
  const mapped = SpanIndex.open(path);
  const openMs = performance.now() - t2;
  const rows: Record<string, ReturnType<typeof measure>> = {
    [`span-v2, ${mapped.access}`]: measure(mapped, attributeSpanV2, outputs),
    [`span-v2, ${mapped.access}, same outputs again`]: measure(mapped, attributeSpanV2, outputs, false),
    [`span-v1, ${mapped.access}`]: measure(mapped, attributeSpanV1, outputs),
  };
  const memory = process.memoryUsage();
  mapped.close();
  const paged = SpanIndex.open(path, { access: "pread" });
  // Fewer outputs: each pread is a syscall, and the machine is shared.
  rows["span-v2, pread (64 MiB pages)"] = measure(paged, attributeSpanV2, outputs.slice(0, 40));
  paged.close();
  for (const [label, row] of Object.entries(rows)) {
    const same = label.startsWith("span-v2") ? rows[`span-v2, ${mapped.access}`] : row;
    if (row.commitments.some((c, k) => c !== same.commitments[k]))
      throw new Error(`${label}: commitments differ from the mapped index`);
  }
  const fileMb = statSync(path).size / MB;
  if (dir) rmSync(dir, { recursive: true });
  console.log(
    `\nscale: ${(bytes / MB).toFixed(0)} MB of snapshot text in one index file (${fileMb.toFixed(0)} MB, ${(fileMb / (bytes / MB)).toFixed(2)} bytes per text byte), 200-word outputs, one query each:`,
  );
  console.table(Object.fromEntries(Object.entries(rows).map(([k, { commitments: _, ...v }]) => [k, v])));
  console.table({
    "generate / build": { value: built },
    "read once (page cache)": { value: `${(cacheMs / 1000).toFixed(1)} s` },
    open: { value: `${openMs.toFixed(1)} ms (vocabulary, buckets and chunk tables read; the rest mapped)` },
    "memory after querying": {
      value: `heap ${(memory.heapUsed / MB).toFixed(0)} MB, rss ${(memory.rss / MB).toFixed(0)} MB (mapped pages count in rss; index file ${fileMb.toFixed(0)} MB)`,
    },
  });
}

/**
 * Extended copies: a later contribution holding an original's passage with k of the output's own
 * neighbouring words added on one or both sides (so the output's maximal span runs into the copy),
 * in the original's snapshot or in another one queried together. `k = 10, 2 reproduced`: a copy
 * padded with 10 words of which the output happens to share only the 2 next to the passage. When the
 * output reproduces all 10 added words, those words (4+ words, 40+ bits) were first contributed by the
 * copy and span-v2 pays it for them, and only them: the last column counts passage words it was paid for.
 */
function extendedCopies(base: SpanChunk[], c: Corpus) {
  const baseIds = [...new Set(base.map((ch) => ch.contributionId))].filter((id) => !c.copies.has(id));
  let nextId = 10_000_000n;
  const perVariant = 20;
  const variants: { k: number; shared: number; left: boolean; right: boolean; other: boolean }[] = [];
  for (const other of [false, true])
    for (const [k, shared] of [
      [1, 1],
      [2, 2],
      [10, 10],
      [10, 2],
    ])
      for (const [left, right] of [
        [true, false],
        [false, true],
        [true, true],
      ])
        variants.push({ k, shared, left, right, other });
  const sameChunks = [...base];
  const otherChunks: SpanChunk[] = [];
  const cases = variants.flatMap((v) =>
    Array.from({ length: perVariant }, () => {
      const original = baseIds[int(baseIds.length)];
      const src = c.words.get(original)![0];
      const from = int(Math.max(1, src.length - 30));
      const passage = src.slice(from, from + 12 + int(19));
      const leftCtx = sentence(v.k).split(" ");
      const rightCtx = sentence(v.k).split(" ");
      // The output shares the `shared` words nearest the passage; the copy's other padding differs.
      const outLeft = [
        ...sentence(v.k - v.shared)
          .split(" ")
          .filter(Boolean),
        ...leftCtx.slice(v.k - v.shared),
      ];
      const outRight = [
        ...rightCtx.slice(0, v.shared),
        ...sentence(v.k - v.shared)
          .split(" ")
          .filter(Boolean),
      ];
      const copy = nextId++;
      const text = [...(v.left ? leftCtx : []), ...passage, ...(v.right ? rightCtx : [])].join(" ");
      (v.other ? otherChunks : sameChunks).push({ contributionId: copy, chunkIndex: 0, text });
      const output = [sentence(15), ...outLeft, ...passage, ...outRight, sentence(15)].join(" ");
      const passageStart = 15 + outLeft.length;
      return { v, original, copy, output, passage: [passageStart, passageStart + passage.length] };
    }),
  );
  const indexes = [
    SpanIndex.build(sameChunks, ROOT),
    SpanIndex.build(otherChunks, `0x${"22".repeat(32)}` as Hex),
  ];
  const rows: Record<string, Record<string, string>> = {};
  for (const v of variants) {
    const mine = cases.filter((x) => x.v === v);
    const measure = (attribute: Attribute) => {
      let copyShare = 0;
      let originalShare = 0;
      let copyOnPassage = 0;
      for (const x of mine) {
        const r = attribute(x.output, indexes);
        for (const cr of r.credits) {
          if (cr.contributionId === x.copy) copyShare += cr.share;
          if (cr.contributionId === x.original) originalShare += cr.share;
        }
        // Passage words inside spans credited to the copy (span-v1 spans start before the passage).
        for (const sp of r.spans)
          if (sp.contributionId === x.copy)
            copyOnPassage += Math.max(
              0,
              Math.min(sp.wordEnd, x.passage[1]) - Math.max(sp.wordStart, x.passage[0]),
            );
      }
      return {
        copy: copyShare / mine.length,
        original: originalShare / mine.length,
        passageWords: copyOnPassage,
      };
    };
    const a = measure(attributeSpanV1);
    const b = measure(attributeSpanV2);
    const sides = v.left && v.right ? "both sides" : v.left ? "left" : "right";
    const name = `+${v.k}${v.shared < v.k ? ` (${v.shared} reproduced)` : ""} ${sides}, ${v.other ? "other" : "same"} snapshot`;
    rows[name] = {
      "span-v1 copy ppm": a.copy.toFixed(0),
      "span-v1 original ppm": a.original.toFixed(0),
      "span-v2 copy ppm": b.copy.toFixed(0),
      "span-v2 original ppm": b.original.toFixed(0),
      "span-v2 passage words paid to copy": String(b.passageWords),
    };
  }
  console.log(`\nextended copies (${perVariant} outputs per row, mean share per output, ppm):`);
  console.table(rows);
}

// grad-v1 fidelity: linear datamodeling score (LDS, as in TRAK) of TracIn influence on a tiny LLaMA
// trained with LoRA by the ml part, against BM25 and random scores, over random half-subsets.
if (!scaleOnly) await gradV1Lds();

async function gradV1Lds() {
  const {
    Engine,
    LlamaModel,
    Rng,
    Trainer,
    causalExample,
    initWeights,
    learningRateAt,
    perExampleGradients,
  } = await import("@openledger/ml");
  const { GradientStore, GradientStoreBuilder, gradV1 } = await import("@openledger/attribution");
  const g = mulberry32(4242);
  const engine = await Engine.create({ threads: 1, maxMemoryMiB: 256 });
  const config = {
    architecture: "llama" as const,
    vocabSize: 48,
    hiddenSize: 32,
    intermediateSize: 48,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 8,
    contextLength: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
  };
  // A base with unit-scale weights (a fresh init has near-uniform logits that LoRA can hardly move).
  const weights = initWeights(config, 11);
  const rng = new Rng(12);
  for (const [name, t] of weights) {
    for (let i = 0; i < t.data.length; i++) {
      t.data[i] = name.endsWith("norm.weight") ? 1 : rng.normal() / Math.sqrt(t.shape[1]);
    }
  }
  const model = LlamaModel.fromWeights(engine, config, weights);
  // 12 contributions of 3 sequences each; contribution k follows its rule's successor table
  // (a seeded permutation of the 48 tokens); rules 1, 3 and 5 are each shared by two contributions.
  const steps = [1, 2, 3, 5, 7, 11, 13, 1, 3, 5, 17, 19];
  const successor = new Map<number, number[]>();
  for (const rule of new Set(steps)) {
    const perm = Array.from({ length: 48 }, (_, i) => i);
    for (let i = 47; i > 0; i--) {
      const j = Math.floor(g() * (i + 1));
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    successor.set(rule, perm);
  }
  const sequence = (rule: number) => {
    let x = Math.floor(g() * 48);
    const next = successor.get(rule)!;
    return Array.from({ length: 14 }, () => (x = next[x]));
  };
  const contributions = steps.map((step, k) => ({
    id: BigInt(k + 1),
    sequences: Array.from({ length: 3 }, () => sequence(step)),
  }));
  const examples = contributions.flatMap((c) => c.sequences.map((s) => ({ id: c.id, ex: causalExample(s) })));
  const query = causalExample(sequence(3));
  const schedule = { learningRate: 0.03, warmupSteps: 0, totalSteps: 90 };
  const options = {
    mode: "lora" as const,
    lora: {
      rank: 8,
      alpha: 16,
      targets: ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const,
    },
    seed: 5,
    batchSize: 6,
    ...schedule,
  };
  // Every run starts from the same adapter init (options.seed).
  const train = () =>
    new Trainer(model, { ...options, lora: { ...options.lora, targets: [...options.lora.targets] } });

  // Full-data run with checkpoints; projected per-example gradients at each.
  const full = train();
  const checkpoints = [30, 60, 90];
  const builder = new GradientStoreBuilder({
    dims: 64,
    learningRates: checkpoints.map((s) => learningRateAt(schedule, s - 1)),
    contributionIds: examples.map((e) => e.id),
  });
  const queryGradients: Float32Array[] = [];
  checkpoints.forEach((step, c) => {
    const last = full.run(
      examples.map((e) => e.ex),
      { steps: step - full.step },
    );
    if (process.env.ATTRIBUTION_BENCH_DEBUG)
      console.log(`full run step ${step}: train loss ${last?.loss.toFixed(3)}`);
    const pe = perExampleGradients(model, full.adapter!, [...examples.map((e) => e.ex), query], {
      projectDims: 64,
      seed: 9,
    });
    for (let i = 0; i < examples.length; i++) builder.set(c, i, pe.vectors[i]);
    queryGradients.push(pe.vectors[examples.length]);
  });
  full.free();
  // TracIn: a positive dot product means a step on the example lowers the query loss.
  const influence = new Map(
    gradV1(queryGradients, GradientStore.load(builder.toBuffer())).signed.map((s) => [
      s.contributionId,
      Number(s.influence) / 2 ** 64,
    ]),
  );

  // BM25 over token "words": query tokens against each contribution's tokens.
  const docs = contributions.map((c) => c.sequences.flat());
  const avg = docs.reduce((a, d) => a + d.length, 0) / docs.length;
  const df = new Map<number, number>();
  for (const d of docs) for (const t of new Set(d)) df.set(t, (df.get(t) ?? 0) + 1);
  const bm25 = docs.map((d) => {
    let score = 0;
    for (const t of new Set(query.tokens as number[])) {
      const tf = d.filter((x) => x === t).length;
      const idf = Math.log(1 + (docs.length - (df.get(t) ?? 0) + 0.5) / ((df.get(t) ?? 0) + 0.5));
      score += (idf * tf * 2.2) / (tf + 1.2 * (0.25 + (0.75 * d.length) / avg));
    }
    return score;
  });

  const subsets = Array.from({ length: 40 }, () => contributions.map(() => g() < 0.5));
  const losses = subsets.map((mask) => {
    const chosen = examples.filter((e) => mask[Number(e.id) - 1]);
    const t = train();
    t.run(chosen.map((e) => e.ex));
    const loss = t.evaluate([query]).loss;
    t.free();
    return loss;
  });
  if (process.env.ATTRIBUTION_BENCH_DEBUG) {
    contributions.forEach((c, k) => {
      const inc = losses.filter((_, i) => subsets[i][k]);
      const exc = losses.filter((_, i) => !subsets[i][k]);
      const m = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      console.log(
        `contribution ${c.id} step ${steps[k]}: loss effect ${(m(inc) - m(exc)).toFixed(4)} influence ${influence.get(c.id)?.toExponential(2)} bm25 ${bm25[k].toFixed(2)}`,
      );
    });
    console.log("losses", Math.min(...losses).toFixed(3), Math.max(...losses).toFixed(3));
  }
  const score = (per: (k: number) => number) =>
    subsets.map((mask) => mask.reduce((a, on, k) => a + (on ? per(k) : 0), 0));
  const lds = (pred: number[]) =>
    spearman(
      pred,
      losses.map((l) => -l),
    );
  console.log(
    "\ngrad-v1 linear datamodeling score (Spearman of predicted vs actual query loss over 40 half-subsets):",
  );
  console.table({
    "grad-v1 (TracIn, 3 checkpoints, 64-dim projection)": {
      LDS: lds(score((k) => influence.get(BigInt(k + 1)) ?? 0)).toFixed(3),
    },
    "BM25 over tokens": { LDS: lds(score((k) => bm25[k])).toFixed(3) },
    "random scores (mean of 100 draws)": {
      LDS: (
        Array.from({ length: 100 }, () => {
          const r = contributions.map(() => g());
          return lds(score((k) => r[k]));
        }).reduce((a, b) => a + b, 0) / 100
      ).toFixed(3),
    },
  });
  model.free();
  await engine.close();
}

function spearman(a: number[], b: number[]): number {
  const rank = (xs: number[]) => {
    const order = xs.map((x, i) => [x, i] as const).sort((p, q) => p[0] - q[0]);
    const r = new Array<number>(xs.length);
    order.forEach(([, i], k) => {
      r[i] = k;
    });
    return r;
  };
  const ra = rank(a);
  const rb = rank(b);
  const n = a.length;
  const mean = (n - 1) / 2;
  let num = 0;
  let da = 0;
  let db = 0;
  for (let i = 0; i < n; i++) {
    num += (ra[i] - mean) * (rb[i] - mean);
    da += (ra[i] - mean) ** 2;
    db += (rb[i] - mean) ** 2;
  }
  return num / Math.sqrt(da * db);
}
