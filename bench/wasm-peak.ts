// The compute ceiling of 128-bit WebAssembly SIMD on this CPU, one thread: how many multiply-adds a second
// each instruction our prefill kernels are built on can retire when nothing else runs (eight independent
// sums, operands from L1). A kernel that does anything besides these instructions (unpacking, scales,
// reductions) runs below its ceiling, so an engine that is faster than the ceiling cannot be matched by
// any WebAssembly kernel on that instruction.
import { setFlagsFromString } from "node:v8";

/** Multiply-adds per CPU second (in units of 10^9) for the instructions of the prefill kernels. */
export interface WasmPeaks {
  /** i16x8.relaxed_dot_i8x16_i7x16_s, summed in i16: the integer GEMM's byte dot (4- to 6-bit formats) */
  byteDot: number;
  /** i32x4.dot_i16x8_s: the Q8_0 GEMM's dot (signed bytes on both sides, widened) */
  i16Dot: number;
  /** f32x4.relaxed_madd: the f32 GEMM that F16/BF16 prefill runs on dequantised panels */
  f32Fma: number;
}

// The WebAssembly JS API is not in the ES lib typings; the part used here.
interface Probes {
  memory: { buffer: ArrayBuffer };
  byteDot(buf: number, iters: number): void;
  i16Dot(buf: number, iters: number): void;
  f32Fma(buf: number, iters: number): void;
}
const WA = (
  globalThis as unknown as {
    WebAssembly: {
      instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: unknown } }>;
    };
  }
).WebAssembly;

const UNROLL = 8;

// One probe per instruction: `acc = op(acc, a, w)` over eight accumulators, weights read from a 4 KiB ring.
function probe(name: string, zero: string, step: (acc: string, w: string) => string, fold: string): string {
  const accs = Array.from({ length: UNROLL }, (_, i) => `s${i}`);
  return `
export function ${name}(buf: usize, iters: i32): void {
  let ${accs.map((s) => `${s} = ${zero}`).join(", ")};
  const a = v128.load(buf + 4096);
  for (let i = 0; i < iters; i++) {
    const p = buf + (<usize>(i & 31) << 7);
${accs.map((s, i) => `    ${s} = ${step(s, `v128.load(p, ${i * 16})`)};`).join("\n")}
  }
  v128.store(buf + 8192, ${accs.reduce((x, s) => `${fold}(${x}, ${s})`)});
}`;
}

const SOURCE = [
  probe(
    "byteDot",
    "i16x8.splat(0)",
    (s, w) => `i16x8.add(${s}, i16x8.relaxed_dot_i8x16_i7x16_s(a, ${w}))`,
    "i16x8.add",
  ),
  probe("i16Dot", "i32x4.splat(0)", (s, w) => `i32x4.add(${s}, i32x4.dot_i16x8_s(a, ${w}))`, "i32x4.add"),
  probe("f32Fma", "f32x4.splat(0)", (s, w) => `f32x4.relaxed_madd(a, ${w}, ${s})`, "f32x4.add"),
].join("\n");

/** multiply-adds per instruction */
const LANES: Record<keyof WasmPeaks, number> = { byteDot: 16, i16Dot: 8, f32Fma: 4 };

/** Compiles the probes and takes the best of three timed runs of each. */
export async function measureWasmPeaks(iters = 4e7): Promise<WasmPeaks> {
  setFlagsFromString("--experimental-wasm-relaxed-simd");
  // the compiler is large: loaded only here, not by the benchmark's child processes that import this file
  const { default: asc } = await import("assemblyscript/asc");
  const out = await asc.compileString(SOURCE, {
    optimizeLevel: 3,
    runtime: "stub",
    initialMemory: 1,
    enable: ["simd", "relaxed-simd"],
  });
  if (out.error || !out.binary) throw new Error(`wasm peak probes did not compile: ${out.stderr.toString()}`);
  const { instance } = await WA.instantiate(out.binary, { env: { abort() {} } });
  const fns = instance.exports as Probes;
  const buf = 16384;
  new Uint8Array(fns.memory.buffer).fill(3, buf, buf + 8192);
  const peaks = {} as WasmPeaks;
  for (const name of Object.keys(LANES) as (keyof WasmPeaks)[]) {
    fns[name](buf, iters / 10); // compiled by V8's optimising tier before the timed runs
    let best = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 3; run++) {
      const c0 = process.cpuUsage();
      fns[name](buf, iters);
      const c = process.cpuUsage(c0);
      best = Math.min(best, (c.user + c.system) / 1e6);
    }
    peaks[name] = (iters * UNROLL * LANES[name]) / best / 1e9;
  }
  return peaks;
}
