// LoRA fine-tuning at real shapes, QLoRA-style: the base stays packed as stored in the file and frozen, the
// adapter (rank 16 on q/k/v/o) trains on top with activation checkpointing, in one 4 GiB engine on one
// thread. Prints tokens per second of a training step (wall and CPU time: this machine is shared, so the
// CPU figure is the steadier one) and the longest sequence that fits, for random-weight files of
// Qwen2.5-0.5B and -1.5B shapes written by ml-shapes.ts.
// Env: LORA_SHAPES ("0.5b,1.5b"), LORA_TYPE ("Q4_0"), LORA_SEQ (the speed row's length, 128),
// LORA_TRY (lengths tried for "fits", one step each, stopping at the first that does not: "512,1024,2048").
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { causalExample, Engine, type GgufWriteType, loadLlamaGguf, Trainer } from "@openledger/ml";
import { SHAPES, writeModel } from "./ml-shapes.ts";

const shapes = (process.env.LORA_SHAPES ?? "0.5b,1.5b").split(",");
const type = (process.env.LORA_TYPE ?? "Q4_0") as GgufWriteType;
const speedLength = Number(process.env.LORA_SEQ ?? 128);
const tryLengths = (process.env.LORA_TRY ?? "512,1024,2048").split(",").map(Number);
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
      peakMiB: engine.memory.buffer.byteLength / MiB,
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

const dir = mkdtempSync(join(tmpdir(), "bench-ml-lora-"));
const rows: string[][] = [];
try {
  for (const shape of shapes) {
    const config = SHAPES[shape];
    if (!config) throw new Error(`unknown shape ${shape}; known: ${Object.keys(SHAPES).join(", ")}`);
    const path = join(dir, `${shape}-${type}.gguf`);
    writeModel(path, config, type);
    const fileMiB = statSync(path).size / MiB;
    let speed = "-";
    let fits = "-";
    // a fresh engine per attempt: a failed one leaves its memory grown
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 4096 });
    try {
      const s = step(path, engine, speedLength);
      if (s) {
        speed = `${(speedLength / s.wall).toFixed(1)} (${(speedLength / s.cpu).toFixed(1)} per CPU s)`;
        fits = `${speedLength}`;
      }
    } finally {
      await engine.close();
    }
    for (const length of tryLengths) {
      if (fits === "-") break;
      const e = await Engine.create({ threads: 1, maxMemoryMiB: 4096 });
      try {
        const s = step(path, e, length);
        if (!s) {
          fits += ` (${length} does not)`;
          break;
        }
        fits = `${length} (step ${s.wall.toFixed(0)} s, memory ${s.peakMiB.toFixed(0)} MiB)`;
      } finally {
        await e.close();
      }
    }
    rows.push([`${shape} ${type}`, fileMiB.toFixed(0), speed, fits]);
    rmSync(path, { force: true });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  `LoRA rank 16 on q/k/v/o, frozen packed base, activation checkpointing, 1 thread, one 4 GiB engine; ` +
    `load average ${loadavg()[0].toFixed(1)} on ${cpus().length} CPUs shared with other work`,
);
const header = ["model", "file MiB", `train tok/s at ${speedLength}`, "longest sequence tried that fits"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
for (const r of [header, ...rows]) console.log(r.map((c, i) => c.padEnd(widths[i])).join("  "));
