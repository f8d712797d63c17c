// LoRA fine-tuning at real shapes, QLoRA-style: the base stays packed as stored in the file and frozen, the
// adapter (rank 16 on q/k/v/o) trains on top with activation checkpointing, in one 4 GiB engine on one
// thread. For random-weight files of Qwen2.5-0.5B and -1.5B shapes (ml-shapes.ts) it runs one training
// step at each length of LORA_SEQ and prints tokens per second (wall, and per CPU second: this machine
// is shared, so the CPU figure is the steadier one) and the engine's peak memory. The longest sequence
// that fits 4 GiB is then estimated from the measured peaks (see longestFitting), or run outright with
// LORA_FITS=N (one step at N tokens).
// Env: LORA_SHAPES ("0.5b,1.5b"), LORA_TYPE ("Q4_0"), LORA_SEQ ("64,256,512"), LORA_FITS (off).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { causalExample, Engine, type GgufWriteType, loadLlamaGguf, Trainer } from "@openledger/ml";
import { SHAPES, writeModel } from "./ml-shapes.ts";

const shapes = (process.env.LORA_SHAPES ?? "0.5b,1.5b").split(",");
const type = (process.env.LORA_TYPE ?? "Q4_0") as GgufWriteType;
const lengths = (process.env.LORA_SEQ ?? "64,256,512").split(",").map(Number);
const fitsLength = process.env.LORA_FITS ? Number(process.env.LORA_FITS) : null;
const MiB = 2 ** 20;

interface Step {
  wall: number;
  cpu: number;
  peakMiB: number;
}

/** One LoRA training step on a sequence of `length` tokens; null when it does not fit the engine. */
function step(path: string, engine: Engine, length: number): Step | null {
  const { model, file, config } = loadLlamaGguf(engine, path, { maxContext: length });
  file.close();
  const trainer = new Trainer(model, {
    mode: "lora",
    lora: { rank: 16, alpha: 32, targets: ["q_proj", "k_proj", "v_proj", "o_proj"] },
    learningRate: 1e-4,
    warmupSteps: 0,
    totalSteps: 10,
    seed: 1,
    checkpointActivations: true,
  });
  try {
    const tokens = Array.from({ length: length + 1 }, (_, i) => (i * 7919 + 13) % (config.vocabSize - 1));
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    trainer.trainStep([causalExample(tokens)]);
    const c = process.cpuUsage(c0);
    return {
      wall: (performance.now() - t0) / 1000,
      cpu: (c.user + c.system) / 1e6,
      peakMiB: engine.peakBytes / MiB,
    };
  } catch (err) {
    const name = (err as Error).name;
    if (name === "EngineError" || name === "ModelMemoryError") return null;
    throw err;
  } finally {
    trainer.free();
    model.free();
  }
}

/**
 * The length whose step's peak memory reaches the engine's 4096 MiB, from measured (length, peak MiB)
 * points: through the last three with a quadratic (attention's scratch grows with the square of the
 * length), else the last two with a line (then an upper estimate).
 */
function longestFitting(points: [number, number][]): { tokens: number; how: string } | null {
  const cap = 4096;
  if (points.length >= 3) {
    const [[l0, p0], [l1, p1], [l2, p2]] = points.slice(-3);
    const c = ((p2 - p1) / (l2 - l1) - (p1 - p0) / (l1 - l0)) / (l2 - l0);
    const b = (p1 - p0) / (l1 - l0) - c * (l1 + l0);
    const a = p0 - b * l0 - c * l0 * l0;
    if (c > 0) {
      const tokens = Math.floor((-b + Math.sqrt(b * b - 4 * c * (a - cap))) / (2 * c));
      return { tokens, how: `quadratic through ${l0}, ${l1}, ${l2}` };
    }
  }
  if (points.length < 2) return null;
  const [[l0, p0], [l1, p1]] = points.slice(-2);
  const perToken = (p1 - p0) / (l1 - l0);
  return {
    tokens: Math.floor(l1 + (cap - p1) / perToken),
    how: `linear, ${perToken.toFixed(2)} MiB a token`,
  };
}

/** One step at `length` on a fresh engine (a failed step leaves an engine's memory grown). */
async function measure(path: string, length: number): Promise<Step | null> {
  const engine = await Engine.create({ threads: 1, maxMemoryMiB: 4096 });
  try {
    return step(path, engine, length);
  } finally {
    await engine.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "bench-ml-lora-"));
const rows: string[][] = [];
try {
  for (const shape of shapes) {
    const config = SHAPES[shape];
    if (!config) throw new Error(`unknown shape ${shape}; known: ${Object.keys(SHAPES).join(", ")}`);
    const path = join(dir, `${shape}-${type}.gguf`);
    writeModel(path, config, type);
    const fileMiB = statSync(path).size / MiB;
    const steps: [number, Step][] = [];
    for (const length of lengths) {
      const s = await measure(path, length);
      const label = `${shape} ${type}, ${length} tokens`;
      if (!s) {
        rows.push([label, fileMiB.toFixed(0), "does not fit", "-", "-"]);
        break;
      }
      steps.push([length, s]);
      rows.push([
        label,
        fileMiB.toFixed(0),
        (length / s.wall).toFixed(1),
        (length / s.cpu).toFixed(1),
        s.peakMiB.toFixed(0),
      ]);
    }
    const longest = longestFitting(steps.map(([l, st]) => [l, st.peakMiB]));
    if (longest) {
      rows.push([
        `${shape} ${type}: longest sequence, estimated`,
        fileMiB.toFixed(0),
        "-",
        "-",
        `~${longest.tokens} tokens (${longest.how})`,
      ]);
    }
    if (fitsLength) {
      const s = await measure(path, fitsLength);
      rows.push([
        `${shape} ${type}, ${fitsLength} tokens`,
        fileMiB.toFixed(0),
        s ? (fitsLength / s.wall).toFixed(1) : "does not fit",
        s ? (fitsLength / s.cpu).toFixed(1) : "-",
        s ? s.peakMiB.toFixed(0) : "-",
      ]);
    }
    rmSync(path, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `LoRA rank 16 on q/k/v/o, frozen packed base, activation checkpointing, 1 thread, one 4 GiB engine; ` +
    `load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs shared with other work`,
);
const header = ["model, sequence", "file MiB", "train tok/s", "per CPU s", "peak MiB"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
