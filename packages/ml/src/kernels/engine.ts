import { readFileSync } from "node:fs";
import { cpus } from "node:os";
import { setFlagsFromString } from "node:v8";
import { Worker } from "node:worker_threads";
import { GgmlType } from "../formats/ggml-types.ts";
import { IN_MEMORY_TYPES, QTensor, type Weight } from "./qtensor.ts";

/** A region of f32 (or i32) elements in the engine's shared WebAssembly memory. */
export class Buf {
  constructor(
    readonly engine: Engine,
    /** byte offset in the shared memory */
    readonly ptr: number,
    /** number of 4-byte elements */
    readonly length: number,
    readonly owned: boolean,
  ) {}
  /** Float32Array over the region (re-created after memory growth, cheap). */
  get f32(): Float32Array {
    return new Float32Array(this.engine.memory.buffer, this.ptr, this.length);
  }
  get i32(): Int32Array {
    return new Int32Array(this.engine.memory.buffer, this.ptr, this.length);
  }
  /** A sub-region starting `offset` elements in (not separately freeable). */
  at(offset: number, length = this.length - offset): Buf {
    if (offset < 0 || length < 0 || offset + length > this.length) {
      throw new RangeError(`sub-buffer [${offset}, ${offset + length}) outside a buffer of ${this.length}`);
    }
    return new Buf(this.engine, this.ptr + offset * 4, length, false);
  }
  free(): void {
    this.engine.free(this);
  }
}

// The WebAssembly JS API is not in the ES lib typings; these are the parts used here.
interface WasmMemory {
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  grow(pages: number): number;
}
type WasmModule = object;
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (m: WasmModule, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

export class EngineError extends Error {
  override name = "EngineError";
}

export interface EngineOptions {
  /** worker threads plus the calling thread; default: number of CPUs (at most 16) */
  threads?: number;
  /** use relaxed SIMD (fused multiply-add) when the runtime supports it; default true */
  relaxedSimd?: boolean;
  /** upper bound of the shared memory in MiB; default 2048 */
  maxMemoryMiB?: number;
}

type KernelName =
  | "mm_abt"
  | "mm_nn"
  | "rmsnorm_fwd"
  | "rmsnorm_bwd"
  | "rope"
  | "attn_fwd"
  | "attn_bwd"
  | "swiglu_fwd"
  | "swiglu_bwd"
  | "softmax_rows"
  | "xent"
  | "axpy_range"
  | "add_range"
  | "adamw"
  | "sumsq"
  | "q8_block_bytes"
  | "quant_q8_rows"
  | "round_q8_rows"
  | "q8k_block_bytes"
  | "quant_q8k_rows"
  | "round_q8k_rows"
  | "f16_act_rows"
  | "decode_scan"
  | "mmd_f16"
  | "mmd_bf16"
  | "mmd_q"
  | "dequant_rows"
  | "mmp_abt"
  | "mmp_nn"
  | "qg_panel_bytes"
  | "mmq_abt"
  | "repack_q4_0x4"
  | "repack_rows4"
  | "repack_q6k_p"
  | "repack_q45k_x4"
  | "repack_f16_panels"
  | "quant_q8k_rows_q6p"
  | "quant_q8k_rows_kx4";
const KERNELS: KernelName[] = [
  "mm_abt",
  "mm_nn",
  "rmsnorm_fwd",
  "rmsnorm_bwd",
  "rope",
  "attn_fwd",
  "attn_bwd",
  "swiglu_fwd",
  "swiglu_bwd",
  "softmax_rows",
  "xent",
  "axpy_range",
  "add_range",
  "adamw",
  "sumsq",
  "q8_block_bytes",
  "quant_q8_rows",
  "round_q8_rows",
  "q8k_block_bytes",
  "quant_q8k_rows",
  "round_q8k_rows",
  "f16_act_rows",
  "decode_scan",
  "mmd_f16",
  "mmd_bf16",
  "mmd_q",
  "dequant_rows",
  "mmp_abt",
  "mmp_nn",
  "qg_panel_bytes",
  "mmq_abt",
  "repack_q4_0x4",
  "repack_rows4",
  "repack_q6k_p",
  "repack_q45k_x4",
  "repack_f16_panels",
  "quant_q8k_rows_q6p",
  "quant_q8k_rows_kx4",
];

const PAGE = 65536;
const CTRL_PTR = 1024;
const SLOT_PTR = 4096;
const HEAP_BASE = 65536;
const ALIGN = 64;
/** Below this many multiply-adds a matmul runs on the calling thread only. */
const PARALLEL_MIN_WORK = 1 << 16;
/**
 * Up to this many rows a linear layer on packed weights dots straight from the blocks (decode), unless
 * DECODE_ROWS says otherwise.
 */
const DIRECT_ROWS = 4;
/** f32 elements of one thread's dequantised weight panel (256 KiB: stays in L2). */
const PANEL_ELEMENTS = 1 << 16;
/** Bytes of one thread's panel of unpacked weight bytes for the integer GEMM (stays in L1). */
const QPANEL_BYTES = 32768;

/**
 * The kernels' codes for matrices repacked four rows at a time (Engine.repackForDecode) are the ggml type
 * plus this; the types that have one, with their block bytes.
 */
const ROWS4 = 100;
const ROWS4_TYPES: Partial<Record<number, number>> = {
  [GgmlType.Q4_0]: 18,
  [GgmlType.Q8_0]: 34,
};
/**
 * The kernels' code for Q6_K with each super-block's values permuted at load (repack_q6k_p, relaxed build
 * only): its decode needs no scale broadcasts, with the same results bit for bit.
 */
const Q6K_P = 214;
/**
 * The kernels' codes for Q4_K and Q5_K with four rows' super-blocks interleaved at load (repack_q45k_x4,
 * relaxed build only): decoded four rows a pass.
 */
const Q4K_X4 = ROWS4 + GgmlType.Q4_K;
const Q5K_X4 = ROWS4 + GgmlType.Q5_K;
/**
 * The kernels' code for F16 with rows longer than F16P_MIN_COLS rearranged at load into column panels of
 * blocks of F16P_ROWS rows (repack_f16_panels, in place, same bytes): decode keeps a panel's activations
 * in L1 beside the weight stream (896x4864 streamed 17 -> 25 GB/s per CPU second, 1536x8960 10 -> 25),
 * with the same results bit for bit.
 */
const F16P = 201;
/** rows of a block, as F16P_ROWS in assembly/quant.ts */
const F16P_ROWS = 128;
const F16P_MIN_COLS = 4096;
/**
 * Decode rows by kernel type where they differ from DIRECT_ROWS: [relaxed build, plain build], measured
 * one thread per CPU second against the integer GEMM (relaxed) or the dequantised panels (plain) at
 * 896x4864, 4864x896, 1536x8960 and 8960x1536. The kernels that take activation rows in pairs (F16/F16P,
 * Q4_0X4, Q4K_X4) stay ahead up to 6-16 rows (batched decode of several sequences), and so does Q8_0's
 * one-row kernel (its GEMM widens to 16 bits); Q6K_P's pairs tie with its GEMM at 4 rows and lose at 6
 * (2.5 ms against 2.3 at 1536x8960), so it keeps DIRECT_ROWS. The one-row kernels of Q4_1, Q5_0, Q5_1 and
 * Q5_K lose to the GEMM from 2 rows (Q5_0 at 4 rows: 5.3 ms against 2.5) but keep DIRECT_ROWS: the GEMM
 * sums in another order, and up to 4 rows a sequence's logits have never depended on what it is batched
 * with.
 */
const DECODE_ROWS: Partial<Record<number, [number, number]>> = {
  [GgmlType.F16]: [16, 6],
  [F16P]: [16, 6],
  [ROWS4 + GgmlType.Q4_0]: [8, 16],
  [ROWS4 + GgmlType.Q8_0]: [16, 16],
  [Q4K_X4]: [6, DIRECT_ROWS],
};
/** The most rows any layout keeps on the decode kernels: longer calls (prompts) run the GEMM / panels. */
export const MAX_DECODE_ROWS = Math.max(DIRECT_ROWS, ...Object.values(DECODE_ROWS).flatMap((r) => r ?? []));
/**
 * The most scratch the F16P repack at load takes on several threads (a block of F16P_ROWS rows each):
 * within the fit check's working margin (8 MiB and more), so a model the check accepts loads whatever
 * the thread count (a block per thread on 8-16 threads took 16-37 MiB at 8192-8960 columns).
 */
const F16P_REPACK_SCRATCH = 8 << 20;

/**
 * Bytes of scratch Engine.repackForDecode takes for an F16 matrix [rows, cols] on any number of threads
 * (0 when it stays as stored): a block of F16P_ROWS rows per thread, as many threads as
 * F16P_REPACK_SCRATCH holds, at least one.
 */
export function f16RepackScratchBytes(rows: number, cols: number): number {
  if (cols <= F16P_MIN_COLS || rows % F16P_ROWS !== 0) return 0;
  const blockBytes = F16P_ROWS * cols * 2;
  return blockBytes * Math.min(rows / F16P_ROWS, Math.max(1, Math.floor(F16P_REPACK_SCRATCH / blockBytes)));
}

/** Added to mmd_q's type for a repacked matrix that passed decode_scan (its fast decode path). */
const CLEAN = 0x1000;

/** How decode-sized calls prepare the activations for a packed type (decodeActs). */
const ACTS_F16 = 0;
const ACTS_Q8 = 1;
const ACTS_Q8K = 2;
/** Q8_K with each block's values in the Q6K_P order */
const ACTS_Q8K_Q6P = 3;
/** Q8_K with each 64 values in the Q4K_X4 order (two sub-blocks' values alternating in 16-bit pairs) */
const ACTS_Q8K_KX4 = 4;
/** The activations the kernels of a matrix's kernelType read. */
function decodeActs(kernelType: number): number {
  if (kernelType === Q6K_P) return ACTS_Q8K_Q6P;
  if (kernelType === Q4K_X4) return ACTS_Q8K_KX4;
  return kernelType === GgmlType.F16 || kernelType === F16P
    ? ACTS_F16
    : isKQuant(kernelType)
      ? ACTS_Q8K
      : ACTS_Q8;
}

/** K-quants (or their decode layouts): 256-value super-blocks, dotted against 256-value activation blocks. */
function isKQuant(type: number): boolean {
  return (
    type === GgmlType.Q4_K ||
    type === GgmlType.Q5_K ||
    type === GgmlType.Q6_K ||
    type === Q4K_X4 ||
    type === Q5K_X4
  );
}

function wasmPath(relaxed: boolean): URL {
  return new URL(`../../build/${relaxed ? "kernels-relaxed" : "kernels"}.wasm`, import.meta.url);
}

function loadModule(relaxed: boolean): WasmModule {
  let bytes: Buffer;
  try {
    bytes = readFileSync(wasmPath(relaxed));
  } catch {
    throw new EngineError(
      `WebAssembly kernels not built (${wasmPath(relaxed).pathname}): run "npm run build -w packages/ml"`,
    );
  }
  return new WA.Module(bytes);
}

function tryRelaxed(): WasmModule | null {
  try {
    setFlagsFromString("--experimental-wasm-relaxed-simd");
    return loadModule(true);
  } catch (e) {
    if (e instanceof EngineError) throw e;
    return null;
  }
}

/**
 * WebAssembly SIMD kernels over one shared memory, with worker threads that take slices of the
 * big kernels (rows or columns of a matmul, heads of attention). All calls are synchronous.
 */
export class Engine {
  readonly memory: WasmMemory;
  readonly threads: number;
  readonly relaxedSimd: boolean;
  private readonly k: Record<KernelName, (...args: number[]) => number>;
  private readonly workers: Worker[] = [];
  private readonly ctrl: Int32Array;
  private top = HEAP_BASE;
  private highWater = HEAP_BASE;
  private readonly freeList: { ptr: number; size: number }[] = [];
  private readonly live = new Map<number, { size: number; buf: Buf }>();
  private closed = false;
  /** per-thread panels of dequantised weights (grown on demand, not counted as allocated) */
  private scratch: Buf | null = null;
  /** prepared activations of decode-sized linear calls (not counted as allocated) */
  private decodeBuf: Buf | null = null;
  /** repacked matrices that passed decode_scan */
  private readonly clean = new WeakSet<QTensor>();
  /** bytes of one 32-value block of quant_q8_rows' output, as the kernels lay it out */
  private readonly q8BlockBytes: number;
  /** bytes of one 256-value block of quant_q8k_rows' output (the K-quants' activations) */
  private readonly q8kBlockBytes: number;

  private constructor(
    module: WasmModule,
    relaxed: boolean,
    threads: number,
    private readonly maxPages: number,
  ) {
    this.memory = new WA.Memory({ initial: 64, maximum: maxPages, shared: true });
    const instance = new WA.Instance(module, { env: { memory: this.memory } });
    this.k = instance.exports as unknown as Record<KernelName, (...args: number[]) => number>;
    this.relaxedSimd = relaxed;
    this.q8BlockBytes = this.k.q8_block_bytes();
    this.q8kBlockBytes = this.k.q8k_block_bytes();
    this.threads = threads;
    this.ctrl = new Int32Array(this.memory.buffer, CTRL_PTR, 32);
    for (let part = 1; part < threads; part++) {
      this.workers.push(
        new Worker(new URL("./worker.mjs", import.meta.url), {
          workerData: {
            module,
            memory: this.memory,
            names: KERNELS,
            ctrlPtr: CTRL_PTR,
            slotPtr: SLOT_PTR,
            part,
          },
        }),
      );
    }
  }

  static async create(options: EngineOptions = {}): Promise<Engine> {
    const threads = Math.max(1, Math.min(16, Math.floor(options.threads ?? cpus().length)));
    const maxMiB = options.maxMemoryMiB ?? 2048;
    if (!(maxMiB >= 16 && maxMiB <= 4096))
      throw new EngineError(`maxMemoryMiB must be 16..4096, got ${maxMiB}`);
    const relaxedModule = options.relaxedSimd === false ? null : tryRelaxed();
    const module = relaxedModule ?? loadModule(false);
    const engine = new Engine(module, relaxedModule !== null, threads, Math.floor((maxMiB * 1048576) / PAGE));
    await Promise.all(
      engine.workers.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once("message", () => resolve());
            w.once("error", reject);
          }),
      ),
    );
    for (const w of engine.workers) w.unref();
    return engine;
  }

  /** Stops the worker threads; the engine cannot run kernels afterwards. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const slots = new Float64Array(this.memory.buffer, SLOT_PTR, 32 * this.threads);
    for (let p = 1; p < this.threads; p++) slots[p * 32] = -2;
    for (const w of this.workers) w.ref();
    Atomics.add(this.ctrl, 0, 1);
    Atomics.notify(this.ctrl, 0);
    await Promise.all(this.workers.map((w) => new Promise((r) => w.once("exit", r))));
  }

  // ---- memory ----

  /** Allocates `n` 4-byte elements, zeroed unless `zero` is false (for outputs that are overwritten). */
  alloc(n: number, zero = true): Buf {
    if (!Number.isInteger(n) || n < 0) throw new EngineError(`cannot allocate ${n} elements`);
    const size = Math.max(ALIGN, Math.ceil((n * 4) / ALIGN) * ALIGN);
    // memory above the high-water mark has never been handed out, so it is still the zeros the
    // memory was created or grown with: leaving it untouched keeps it out of the process's RSS
    // (a KV cache sized for the whole context then costs only the positions written)
    const neverUsed = this.highWater;
    let ptr = -1;
    for (let i = 0; i < this.freeList.length; i++) {
      const b = this.freeList[i];
      if (b.size >= size) {
        ptr = b.ptr;
        if (b.size === size) this.freeList.splice(i, 1);
        else {
          b.ptr += size;
          b.size -= size;
        }
        break;
      }
    }
    if (ptr < 0) {
      ptr = this.top;
      const end = ptr + size;
      const have = this.memory.buffer.byteLength;
      if (end > have) {
        const pages = Math.ceil((end - have) / PAGE);
        try {
          this.memory.grow(Math.max(pages, Math.ceil(have / PAGE / 4)));
        } catch {
          try {
            this.memory.grow(pages);
          } catch {
            throw new EngineError(
              `out of kernel memory: need ${end} bytes; raise maxMemoryMiB or use a smaller model/batch`,
            );
          }
        }
      }
      this.top = end;
      if (end > this.highWater) this.highWater = end;
    }
    const buf = new Buf(this, ptr, n, true);
    this.live.set(ptr, { size, buf });
    if (zero && ptr < neverUsed) buf.f32.fill(0, 0, Math.min(n, (neverUsed - ptr) / 4));
    return buf;
  }

  /** Allocates `bytes` bytes (rounded up to whole 4-byte elements), not zeroed. */
  allocBytes(bytes: number): Buf {
    return this.alloc(Math.ceil(bytes / 4), false);
  }

  /** The most bytes this engine's memory can grow to. */
  get maxBytes(): number {
    return this.maxPages * PAGE;
  }

  /** Bytes still free for allocation: up to the maximum, minus what is handed out and the heap base. */
  get availableBytes(): number {
    const held = (this.scratch?.length ?? 0) + (this.decodeBuf?.length ?? 0);
    return this.maxBytes - HEAP_BASE - this.allocatedBytes - held * 4;
  }

  /** Allocates and copies `data` in. */
  from(data: ArrayLike<number>): Buf {
    const b = this.alloc(data.length);
    b.f32.set(data);
    return b;
  }

  fromInt32(data: ArrayLike<number>): Buf {
    const b = this.alloc(data.length);
    b.i32.set(data);
    return b;
  }

  free(buf: Buf): void {
    if (!buf.owned) throw new EngineError("cannot free a sub-buffer");
    const entry = this.live.get(buf.ptr);
    if (entry?.buf !== buf) throw new EngineError(`double free or foreign buffer at ${buf.ptr}`);
    const size = entry.size;
    this.live.delete(buf.ptr);
    if (buf.ptr + size === this.top) {
      this.top = buf.ptr;
      // absorb a free block that now touches the top
      const last = this.freeList[this.freeList.length - 1];
      if (last && last.ptr + last.size === this.top) {
        this.top = last.ptr;
        this.freeList.pop();
      }
      return;
    }
    let i = 0;
    while (i < this.freeList.length && this.freeList[i].ptr < buf.ptr) i++;
    this.freeList.splice(i, 0, { ptr: buf.ptr, size });
    const next = this.freeList[i + 1];
    if (next && buf.ptr + size === next.ptr) {
      this.freeList[i].size += next.size;
      this.freeList.splice(i + 1, 1);
    }
    const prev = this.freeList[i - 1];
    if (prev && prev.ptr + prev.size === buf.ptr) {
      prev.size += this.freeList[i].size;
      this.freeList.splice(i, 1);
    }
  }

  /** The most bytes of memory in use at once so far (the heap's high-water mark, weights included). */
  get peakBytes(): number {
    return this.highWater;
  }

  /** Bytes currently handed out (for leak checks). */
  get allocatedBytes(): number {
    let s = 0;
    for (const v of this.live.values()) s += v.size;
    const scratch = this.scratch ? this.live.get(this.scratch.ptr) : undefined;
    const decode = this.decodeBuf ? this.live.get(this.decodeBuf.ptr) : undefined;
    return s - (scratch?.size ?? 0) - (decode?.size ?? 0);
  }

  // ---- dispatch ----

  private run(name: KernelName, parts: number[][]): void {
    if (this.closed) throw new EngineError("engine is closed");
    const fn = this.k[name];
    if (parts.length === 1 || this.workers.length === 0) {
      for (const args of parts) fn(...args);
      return;
    }
    const slots = new Float64Array(this.memory.buffer, SLOT_PTR, 32 * this.threads);
    const idx = KERNELS.indexOf(name);
    for (let p = 1; p < this.threads; p++) {
      const args = parts[p];
      if (args) {
        slots[p * 32] = idx;
        slots[p * 32 + 1] = args.length;
        slots.set(args, p * 32 + 2);
      } else slots[p * 32] = -1;
    }
    const gen = (Atomics.add(this.ctrl, 0, 1) + 1) | 0;
    Atomics.notify(this.ctrl, 0);
    let mainError: unknown = null;
    try {
      fn(...parts[0]);
    } catch (err) {
      mainError = err;
    }
    for (let p = 1; p < this.threads; p++) {
      for (;;) {
        const seen = Atomics.load(this.ctrl, 8 + p);
        if (seen === gen) break;
        Atomics.wait(this.ctrl, 8 + p, seen, 50);
      }
    }
    const failed = Atomics.exchange(this.ctrl, 2, 0);
    if (mainError) throw mainError;
    if (failed > 0) {
      let why = "";
      try {
        fn(...parts[failed - 1]);
      } catch (err) {
        why = `: ${(err as Error).message}`;
      }
      throw new EngineError(`kernel ${name} failed in worker thread ${failed - 1}${why}`);
    }
  }

  /** Splits [0, n) into at most `threads` (and `maxParts`) ranges whose bounds are multiples of `align`. */
  private split(n: number, align: number, work: number, maxParts = this.threads): [number, number][] {
    let parts = work < PARALLEL_MIN_WORK ? 1 : Math.min(this.threads, maxParts, Math.ceil(n / align));
    if (parts < 1) parts = 1;
    const out: [number, number][] = [];
    const chunk = Math.ceil(n / parts / align) * align;
    for (let s = 0; s < n; s += chunk) out.push([s, Math.min(n, s + chunk)]);
    if (out.length === 0) out.push([0, 0]);
    return out;
  }

  private splitMN(M: number, N: number, K: number, nAlign: number): [number, number, number, number][] {
    const work = M * N * K;
    if (M >= 4 * this.threads || M >= N) {
      return this.split(M, 4, work).map(([a, b]) => [a, b, 0, N]);
    }
    return this.split(N, nAlign, work).map(([a, b]) => [0, M, a, b]);
  }

  // ---- kernels ----

  /** C[M,N] (+)= A[M,K] · B[N,K]ᵀ */
  matmulABt(a: Buf, b: Buf, c: Buf, M: number, N: number, K: number, o: MatmulOptions = {}): void {
    const lda = o.lda ?? K;
    const ldb = o.ldb ?? K;
    const ldc = o.ldc ?? N;
    checkSpan(a, M, K, lda, "A");
    checkSpan(b, N, K, ldb, "B");
    checkSpan(c, M, N, ldc, "C");
    const acc = o.accumulate ? 1 : 0;
    this.run(
      "mm_abt",
      this.splitMN(M, N, K, 2).map(([m0, m1, n0, n1]) => [
        a.ptr,
        lda,
        b.ptr,
        ldb,
        c.ptr,
        ldc,
        K,
        m0,
        m1,
        n0,
        n1,
        acc,
      ]),
    );
  }

  /** C[M,N] (+)= A[M,K] · B[K,N] */
  matmulAB(a: Buf, b: Buf, c: Buf, M: number, N: number, K: number, o: MatmulOptions = {}): void {
    const lda = o.lda ?? K;
    const ldb = o.ldb ?? N;
    const ldc = o.ldc ?? N;
    checkSpan(a, M, K, lda, "A");
    checkSpan(b, K, N, ldb, "B");
    checkSpan(c, M, N, ldc, "C");
    const acc = o.accumulate ? 1 : 0;
    this.run(
      "mm_nn",
      this.splitMN(M, N, K, 8).map(([m0, m1, n0, n1]) => [
        a.ptr,
        lda,
        1,
        b.ptr,
        ldb,
        c.ptr,
        ldc,
        K,
        m0,
        m1,
        n0,
        n1,
        acc,
      ]),
    );
  }

  /** C[M,N] (+)= A[K,M]ᵀ · B[K,N] */
  matmulAtB(a: Buf, b: Buf, c: Buf, M: number, N: number, K: number, o: MatmulOptions = {}): void {
    const lda = o.lda ?? M;
    const ldb = o.ldb ?? N;
    const ldc = o.ldc ?? N;
    checkSpan(a, K, M, lda, "A");
    checkSpan(b, K, N, ldb, "B");
    checkSpan(c, M, N, ldc, "C");
    const acc = o.accumulate ? 1 : 0;
    this.run(
      "mm_nn",
      this.splitMN(M, N, K, 8).map(([m0, m1, n0, n1]) => [
        a.ptr,
        1,
        lda,
        b.ptr,
        ldb,
        c.ptr,
        ldc,
        K,
        m0,
        m1,
        n0,
        n1,
        acc,
      ]),
    );
  }

  /**
   * out[M,N] (+)= x[M,K] · Wᵀ for a weight W[N,K] kept as f32 or packed in its storage format. Up to
   * decodeRows(W) rows dot straight from the packed blocks (block quantisations against activations
   * quantised to 8 bits per 32 values, as llama.cpp does); more rows go through the integer GEMM or
   * dequantised panels.
   */
  linear(x: Buf, W: Weight, out: Buf, M: number, N: number, K: number, o: MatmulOptions = {}): void {
    if (!(W instanceof QTensor)) {
      this.matmulABt(x, W, out, M, N, K, o);
      return;
    }
    if (W.rows !== N || W.cols !== K) {
      throw new EngineError(`packed weight is [${W.rows}, ${W.cols}], the call needs [${N}, ${K}]`);
    }
    const lda = o.lda ?? K;
    const ldc = o.ldc ?? N;
    checkSpan(x, M, K, lda, "x");
    checkSpan(out, M, N, ldc, "out");
    const acc = o.accumulate ? 1 : 0;
    const work = M * N * K;
    const w = W.buf.ptr;
    if (M <= this.directRows(W, o)) {
      if (W.type === GgmlType.BF16) {
        this.run(
          "mmd_bf16",
          this.split(N, 4, work).map(([n0, n1]) => [x.ptr, lda, w, K, out.ptr, ldc, K, 0, M, n0, n1, acc]),
        );
        return;
      }
      this.decodeMatmul(W, this.prepareDecode(x, lda, M, K, decodeActs(W.kernelType)), out, ldc, M, acc);
      return;
    }
    // The relaxed build runs the block types (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, the K-quants) as an integer
    // GEMM on 8-bit activations (1.15-2.4x the dequantised panels per CPU second); not the plain build
    // (widening byte dots)
    if (!o.exact && this.relaxedSimd && this.k.qg_panel_bytes(W.kernelType, K) > 0) {
      this.linearInt8(x, lda, W, out, ldc, M, N, K, acc);
      return;
    }
    // Block types round the activations to 8 bits as llama.cpp does (not in training: o.exact)
    const floatType = W.type === GgmlType.F16 || W.type === GgmlType.BF16;
    const xr = floatType || o.exact ? null : this.alloc(M * K, false);
    if (xr) {
      this.run(
        isKQuant(W.type) ? "round_q8k_rows" : "round_q8_rows",
        this.split(M, 1, M * K * 8).map(([m0, m1]) => [x.ptr, lda, K, xr.ptr, m0, m1]),
      );
    }
    const P = Math.max(2, Math.min(256, Math.floor(PANEL_ELEMENTS / K / 2) * 2));
    const scratch = this.panelScratch(P * K);
    this.run(
      "mmp_abt",
      this.split(N, 2, work).map(([n0, n1], part) => [
        W.kernelType,
        xr ? xr.ptr : x.ptr,
        xr ? K : lda,
        w,
        W.rowBytes,
        out.ptr,
        ldc,
        K,
        0,
        M,
        n0,
        n1,
        acc,
        scratch + part * P * K * 4,
        P,
      ]),
    );
    xr?.free();
  }

  /**
   * The integer GEMM of `linear`: the M activation rows quantised once (block_q8_0 for the 32-value
   * formats, block_q8_K for the K-quants, as llama.cpp's prefill), then mmq_abt on column ranges of whole
   * four-row groups.
   */
  private linearInt8(
    x: Buf,
    lda: number,
    W: QTensor,
    out: Buf,
    ldc: number,
    M: number,
    N: number,
    K: number,
    acc: number,
  ): void {
    const kq = isKQuant(W.type);
    const aq = this.allocBytes(M * (kq ? (K / 256) * this.q8kBlockBytes : (K / 32) * this.q8BlockBytes));
    try {
      this.run(
        // the K-quant tiles read the activations in their panels' orders (those of the decode layouts)
        !kq ? "quant_q8_rows" : W.type === GgmlType.Q6_K ? "quant_q8k_rows_q6p" : "quant_q8k_rows_kx4",
        this.split(M, 1, M * K * 8).map(([m0, m1]) => [x.ptr, lda, K, aq.ptr, m0, m1]),
      );
      const group = this.k.qg_panel_bytes(W.kernelType, K);
      const P = 4 * Math.max(1, Math.floor(QPANEL_BYTES / group));
      const perThread = Math.ceil(((P / 4) * group) / 64) * 16;
      const scratch = this.panelScratch(perThread);
      this.run(
        "mmq_abt",
        this.split(N, 4, M * N * K).map(([n0, n1], part) => [
          W.kernelType,
          aq.ptr,
          W.buf.ptr,
          W.rowBytes,
          out.ptr,
          ldc,
          K,
          0,
          M,
          n0,
          n1,
          acc,
          scratch + part * perThread * 4,
          P,
        ]),
      );
    } finally {
      aq.free();
    }
  }

  /**
   * The most rows `linear` runs on W's decode kernels (each row's result bit for bit what it gives alone);
   * more take the integer GEMM or the dequantised panels.
   */
  decodeRows(W: QTensor): number {
    const rows = DECODE_ROWS[W.kernelType];
    return rows ? rows[this.relaxedSimd ? 0 : 1] : DIRECT_ROWS;
  }

  /** decodeRows, except that `exact` calls (training) keep the DIRECT_ROWS they always had. */
  private directRows(W: QTensor, o: MatmulOptions): number {
    return o.exact ? DIRECT_ROWS : this.decodeRows(W);
  }

  /**
   * `linear` of one input x[M,K] against several weights (q/k/v, gate/up): outs[i] = x · Ws[i]ᵀ. Decode-
   * sized calls prepare (quantise) the activations once for the weights that read them alike.
   */
  linearEach(x: Buf, Ws: Weight[], outs: Buf[], M: number, K: number, o: MatmulOptions = {}): void {
    let prepared = -1;
    let acts = 0;
    for (let i = 0; i < Ws.length; i++) {
      const W = Ws[i];
      const N = W.length / K;
      if (!(W instanceof QTensor) || M > this.directRows(W, o) || W.type === GgmlType.BF16 || W.cols !== K) {
        this.linear(x, W, outs[i], M, N, K, o);
        continue;
      }
      checkSpan(x, M, K, K, "x");
      checkSpan(outs[i], M, N, N, "out");
      const kind = decodeActs(W.kernelType);
      if (kind !== prepared) {
        acts = this.prepareDecode(x, K, M, K, kind);
        prepared = kind;
      }
      this.decodeMatmul(W, acts, outs[i], N, M, o.accumulate ? 1 : 0);
    }
  }

  /** The activations of a decode-sized call as the kernels of `kind` read them, in the decode scratch. */
  private prepareDecode(x: Buf, lda: number, M: number, K: number, kind: number): number {
    if (kind === ACTS_F16) {
      // scaled by a power of two (f16_act_rows), so the kernel skips a multiply per weight
      const xs = this.decodeScratch(M * (K + 4) * 4);
      this.run("f16_act_rows", [[x.ptr, lda, K, xs, 0, M]]);
      return xs;
    }
    // the K-quants meet activations with one scale per 256 values (llama.cpp's block_q8_K)
    const kq = kind === ACTS_Q8K || kind === ACTS_Q8K_Q6P || kind === ACTS_Q8K_KX4;
    const aq = this.decodeScratch(M * (kq ? (K / 256) * this.q8kBlockBytes : (K / 32) * this.q8BlockBytes));
    const fn =
      kind === ACTS_Q8K_Q6P
        ? "quant_q8k_rows_q6p"
        : kind === ACTS_Q8K_KX4
          ? "quant_q8k_rows_kx4"
          : kq
            ? "quant_q8k_rows"
            : "quant_q8_rows";
    this.run(fn, [[x.ptr, lda, K, aq, 0, M]]);
    return aq;
  }

  /** out[M, W.rows] (+)= acts · Wᵀ straight from the packed blocks (acts from prepareDecode). */
  private decodeMatmul(W: QTensor, acts: number, out: Buf, ldc: number, M: number, acc: number): void {
    const N = W.rows;
    const K = W.cols;
    const parts = this.split(N, 4, M * N * K);
    if (W.type === GgmlType.F16) {
      // F16P carries each output's four sums (64 bytes) from panel to panel: one block's per thread
      const sumsBytes = W.kernelType === F16P ? F16P_ROWS * M * 64 : 0;
      const sums = sumsBytes ? this.panelScratch(sumsBytes / 4) : 0;
      this.run(
        "mmd_f16",
        parts.map(([n0, n1], part) => [
          W.kernelType,
          acts,
          W.buf.ptr,
          out.ptr,
          ldc,
          K,
          0,
          M,
          n0,
          n1,
          acc,
          sums + part * sumsBytes,
          sumsBytes,
        ]),
      );
      return;
    }
    const type = this.clean.has(W) ? W.kernelType + CLEAN : W.kernelType;
    this.run(
      "mmd_q",
      parts.map(([n0, n1]) => [type, acts, W.buf.ptr, W.rowBytes, out.ptr, ldc, K, 0, M, n0, n1, acc]),
    );
  }

  /** dx[M,K] (+)= dy[M,N] · W[N,K]: the input gradient of `linear`, for f32 or packed W. */
  linearInputGrad(dy: Buf, W: Weight, dx: Buf, M: number, N: number, K: number, accumulate = false): void {
    if (!(W instanceof QTensor)) {
      this.matmulAB(dy, W, dx, M, K, N, { accumulate });
      return;
    }
    if (W.rows !== N || W.cols !== K) {
      throw new EngineError(`packed weight is [${W.rows}, ${W.cols}], the call needs [${N}, ${K}]`);
    }
    checkSpan(dy, M, N, N, "dy");
    checkSpan(dx, M, K, K, "dx");
    const align = Math.max(8, IN_MEMORY_TYPES[W.type]!.block);
    const parts = this.split(K, align, M * N * K);
    const kw = Math.max(...parts.map(([k0, k1]) => k1 - k0));
    const P = Math.max(1, Math.min(256, Math.floor(PANEL_ELEMENTS / kw)));
    const scratch = this.panelScratch(P * kw);
    this.run(
      "mmp_nn",
      parts.map(([k0, k1], part) => [
        W.kernelType,
        dy.ptr,
        N,
        W.buf.ptr,
        W.rowBytes,
        dx.ptr,
        K,
        N,
        0,
        M,
        k0,
        k1,
        accumulate ? 1 : 0,
        scratch + part * P * kw * 4,
        P,
      ]),
    );
  }

  /** Rows r0..r1 of a packed weight as f32 into out (row stride = columns). */
  dequantRows(W: QTensor, r0: number, r1: number, out: Buf): void {
    if (r0 < 0 || r1 > W.rows || r0 > r1) throw new EngineError(`rows ${r0}..${r1} outside 0..${W.rows}`);
    checkSpan(out, r1 - r0, W.cols, W.cols, "out");
    this.run("dequant_rows", [[W.kernelType, W.buf.ptr, W.rowBytes, r0, r1, 0, W.cols, out.ptr, W.cols]]);
  }

  /**
   * Rearranges a Q4_0 or Q8_0 matrix (rows a multiple of 4) in place so that each block index holds four
   * rows' blocks side by side: the decode kernels then read four rows as one sequential stream (per CPU
   * second Q4_0 13 -> 20 GB/s, Q8_0 16 -> 20). In the relaxed build a Q6_K matrix has each super-block's
   * values permuted instead (Q6K_P: decode without scale broadcasts, 10 -> 24-25 GB/s with the later kernel
   * changes, the same results bit for bit), and Q4_K/Q5_K matrices have four rows' super-blocks side by side
   * (scale bytes regrouped so one vector unpack serves four rows, Q4_K nibbles in the kx4Mix order; decoded
   * four rows a pass: Q4_K 14 -> 23-25 GB/s, Q5_K 10 -> 16). F16 rows longer than F16P_MIN_COLS go into
   * column panels (F16P, both builds). Same size, same values; other types and shapes stay as stored.
   */
  repackForDecode(W: QTensor): void {
    if (
      W.type === GgmlType.F16 &&
      W.kernelType === W.type &&
      W.cols > F16P_MIN_COLS &&
      W.rows % F16P_ROWS === 0
    ) {
      const blocks = W.rows / F16P_ROWS;
      const blockBytes = F16P_ROWS * W.rowBytes;
      // a block of scratch per thread, on as many threads as f16RepackScratchBytes allows
      const maxParts = f16RepackScratchBytes(W.rows, W.cols) / blockBytes;
      const parts = this.split(blocks, 1, blocks * blockBytes * 64, maxParts);
      const scratch = this.allocBytes(blockBytes * parts.length);
      try {
        this.run(
          "repack_f16_panels",
          parts.map(([b0, b1], part) => [
            W.buf.ptr + b0 * blockBytes,
            (b1 - b0) * F16P_ROWS,
            W.cols,
            scratch.ptr + part * blockBytes,
          ]),
        );
      } finally {
        scratch.free();
      }
      W.kernelType = F16P;
      return;
    }
    if (W.type === GgmlType.Q6_K && W.kernelType === W.type && this.relaxedSimd) {
      // values permuted within each super-block (same bytes); the plain build's lanes differ: it keeps Q6_K
      // ranges of super-blocks per thread, each with 256 bytes of scratch (30-70 ms on one thread for a 1.5B head)
      const blocks = (W.rows * W.rowBytes) / 210;
      const tmp = this.allocBytes(256 * this.threads);
      try {
        this.run(
          "repack_q6k_p",
          this.split(blocks, 1, blocks * 4096).map(([b0, b1], part) => [
            W.buf.ptr + b0 * 210,
            b1 - b0,
            tmp.ptr + part * 256,
          ]),
        );
      } finally {
        tmp.free();
      }
      W.kernelType = Q6K_P;
      return;
    }
    if (
      (W.type === GgmlType.Q4_K || W.type === GgmlType.Q5_K) &&
      W.kernelType === W.type &&
      this.relaxedSimd &&
      W.rows % 4 === 0
    ) {
      // four rows' super-blocks side by side (in place, same size); the plain build keeps them as stored
      const groups = W.rows / 4;
      const scratch = this.allocBytes(4 * W.rowBytes * this.threads);
      try {
        this.run(
          "repack_q45k_x4",
          this.split(groups, 1, groups * W.rowBytes * 64).map(([g0, g1], part) => [
            W.buf.ptr + g0 * 4 * W.rowBytes,
            (g1 - g0) * 4,
            W.rowBytes,
            W.type === GgmlType.Q5_K ? 1 : 0,
            scratch.ptr + part * 4 * W.rowBytes,
          ]),
        );
      } finally {
        scratch.free();
      }
      W.kernelType = ROWS4 + W.type;
      return;
    }
    const blockBytes = ROWS4_TYPES[W.kernelType];
    if (W.kernelType !== W.type || blockBytes === undefined || W.rows % 4 !== 0) return;
    // the decode kernels' fast path needs block scales that are not f16 subnormals (and Q8_0 without -128)
    if (this.k.decode_scan(W.buf.ptr, (W.rows * W.rowBytes) / blockBytes, blockBytes)) this.clean.add(W);
    const scratch = this.allocBytes(4 * W.rowBytes);
    try {
      if (W.type === GgmlType.Q4_0) this.run("repack_q4_0x4", [[W.buf.ptr, W.rows, W.rowBytes, scratch.ptr]]);
      else this.run("repack_rows4", [[W.buf.ptr, W.rows, W.rowBytes, blockBytes, scratch.ptr]]);
    } finally {
      scratch.free();
    }
    W.kernelType = ROWS4 + W.type;
  }

  /** Pointer to `bytes` of scratch for a decode call's prepared activations (grown on demand, kept). */
  private decodeScratch(bytes: number): number {
    if (!this.decodeBuf || this.decodeBuf.length * 4 < bytes) {
      this.decodeBuf?.free();
      this.decodeBuf = null;
      this.decodeBuf = this.alloc(Math.ceil(Math.max(bytes, 65536) / 4), false);
    }
    return this.decodeBuf.ptr;
  }

  /** Pointer to `perThread` f32 elements of panel scratch for each thread. */
  private panelScratch(perThread: number): number {
    const need = perThread * this.threads;
    if (!this.scratch || this.scratch.length < need) {
      this.scratch?.free();
      this.scratch = null;
      this.scratch = this.alloc(Math.max(need, PANEL_ELEMENTS * this.threads), false);
    }
    return this.scratch.ptr;
  }

  /** out[T,D] = rmsnorm(x) * w; saves 1/rms per row into rstd when given. */
  rmsnorm(x: Buf, w: Buf, out: Buf, rstd: Buf | null, T: number, D: number, eps: number): void {
    checkSpan(x, T, D, D, "x");
    checkSpan(out, T, D, D, "out");
    this.run(
      "rmsnorm_fwd",
      this.split(T, 1, T * D * 4).map(([t0, t1]) => [
        x.ptr,
        w.ptr,
        out.ptr,
        rstd ? rstd.ptr : 0,
        D,
        eps,
        t0,
        t1,
      ]),
    );
  }

  /** dx += ∂/∂x; dw += ∂/∂w when dw is given (single thread: dw is shared by all rows). */
  rmsnormBackward(x: Buf, w: Buf, rstd: Buf, dy: Buf, dx: Buf, dw: Buf | null, T: number, D: number): void {
    checkSpan(dx, T, D, D, "dx");
    this.run("rmsnorm_bwd", [[x.ptr, w.ptr, rstd.ptr, dy.ptr, dx.ptr, dw ? dw.ptr : 0, D, 0, T]]);
  }

  /** Rotates every head of x[T, stride] in place by position pos[t] (inverse: backward pass). */
  rope(
    x: Buf,
    T: number,
    stride: number,
    nHeads: number,
    hd: number,
    pos: Buf,
    table: RopeTable,
    inverse = false,
  ): void {
    checkSpan(x, T, nHeads * hd, stride, "x");
    this.run(
      "rope",
      this.split(T, 1, T * nHeads * hd * 8).map(([t0, t1]) => [
        x.ptr,
        stride,
        nHeads,
        hd,
        pos.ptr,
        table.cos.ptr,
        table.sin.ptr,
        table.neox ? 1 : 0,
        inverse ? 1 : 0,
        t0,
        t1,
      ]),
    );
  }

  /** Causal GQA attention; see attn_fwd in assembly/kernels.ts for the layout. */
  attention(p: AttentionArgs): void {
    const { T, S0, nHq, nHkv, hd } = p;
    if (nHq % nHkv !== 0) throw new EngineError(`query heads ${nHq} not a multiple of kv heads ${nHkv}`);
    if (p.att.length < nHq * T * (S0 + T)) throw new EngineError("attention scratch too small");
    const work = nHq * T * (S0 + T) * hd * 2;
    this.run(
      "attn_fwd",
      this.split(nHq, 1, work).map(([h0, h1]) => [
        p.q.ptr,
        p.qStride,
        p.k.ptr,
        p.v.ptr,
        p.kvStride,
        p.out.ptr,
        p.outStride,
        p.att.ptr,
        T,
        S0,
        nHq,
        nHkv,
        hd,
        p.scale,
        h0,
        h1,
      ]),
    );
  }

  /** Backward of attention (S0 = 0); accumulates into dq, dk, dv. */
  attentionBackward(p: AttentionArgs & { dout: Buf; dq: Buf; dk: Buf; dv: Buf }): void {
    const { T, nHq, nHkv, hd } = p;
    const work = nHq * T * T * hd * 4;
    const dps = this.alloc(nHq * T * T, false);
    this.run(
      "attn_bwd",
      this.split(nHkv, 1, work).map(([g0, g1]) => [
        p.q.ptr,
        p.qStride,
        p.k.ptr,
        p.v.ptr,
        p.kvStride,
        p.dout.ptr,
        p.outStride,
        p.att.ptr,
        p.dq.ptr,
        p.dk.ptr,
        p.dv.ptr,
        dps.ptr,
        T,
        nHq,
        nHkv,
        hd,
        p.scale,
        g0,
        g1,
      ]),
    );
    dps.free();
  }

  /** h = silu(g) * u over n elements */
  swiglu(g: Buf, u: Buf, h: Buf, n: number): void {
    this.run(
      "swiglu_fwd",
      this.split(n, 16, n * 8).map(([i0, i1]) => [g.ptr, u.ptr, h.ptr, i0, i1]),
    );
  }

  swigluBackward(g: Buf, u: Buf, dh: Buf, dg: Buf, du: Buf, n: number): void {
    this.run(
      "swiglu_bwd",
      this.split(n, 16, n * 8).map(([i0, i1]) => [g.ptr, u.ptr, dh.ptr, dg.ptr, du.ptr, i0, i1]),
    );
  }

  softmax(x: Buf, out: Buf, rows: number, cols: number): void {
    this.run(
      "softmax_rows",
      this.split(rows, 1, rows * cols * 8).map(([r0, r1]) => [x.ptr, out.ptr, cols, r0, r1]),
    );
  }

  /**
   * Cross-entropy per row (targets < 0 are masked). With dlogits, also writes
   * (softmax − onehot) · weight[row] there (may alias logits).
   */
  crossEntropy(
    logits: Buf,
    targets: Buf,
    weight: Buf,
    losses: Buf,
    dlogits: Buf | null,
    rows: number,
    V: number,
  ): void {
    this.run(
      "xent",
      this.split(rows, 1, rows * V * 8).map(([r0, r1]) => [
        logits.ptr,
        targets.ptr,
        weight.ptr,
        losses.ptr,
        dlogits ? dlogits.ptr : 0,
        V,
        r0,
        r1,
      ]),
    );
  }

  /** y += alpha · x */
  axpy(y: Buf, x: Buf, alpha: number, n: number): void {
    this.run(
      "axpy_range",
      this.split(n, 16, n).map(([i0, i1]) => [y.ptr, x.ptr, alpha, i0, i1]),
    );
  }

  /** out = a + b */
  add(a: Buf, b: Buf, out: Buf, n: number): void {
    this.run(
      "add_range",
      this.split(n, 16, n).map(([i0, i1]) => [a.ptr, b.ptr, out.ptr, i0, i1]),
    );
  }

  /** One AdamW update of w from g with moments m, v (see assembly/kernels.ts adamw). */
  adamw(w: Buf, g: Buf, m: Buf, v: Buf, o: AdamWStep): void {
    const n = w.length;
    if (g.length !== n || m.length !== n || v.length !== n)
      throw new EngineError("adamw: buffer lengths differ");
    this.run(
      "adamw",
      this.split(n, 16, n * 4).map(([i0, i1]) => [
        w.ptr,
        g.ptr,
        m.ptr,
        v.ptr,
        i0,
        i1,
        o.lr,
        o.beta1,
        o.beta2,
        o.eps,
        o.decay,
        o.c1,
        o.c2,
        o.gradScale,
      ]),
    );
  }

  /** Σ x² over the buffer (float64 accumulation). */
  sumSquares(x: Buf): number {
    if (this.closed) throw new EngineError("engine is closed");
    return this.k.sumsq(x.ptr, x.length);
  }

  /** Precomputed cos/sin for positions 0..maxPos-1. */
  ropeTable(maxPos: number, hd: number, theta: number, neox: boolean): RopeTable {
    const half = hd / 2;
    const cos = this.alloc(maxPos * half);
    const sin = this.alloc(maxPos * half);
    const c = cos.f32;
    const s = sin.f32;
    for (let p = 0; p < maxPos; p++) {
      for (let i = 0; i < half; i++) {
        const ang = p * theta ** (-(2 * i) / hd);
        c[p * half + i] = Math.cos(ang);
        s[p * half + i] = Math.sin(ang);
      }
    }
    return { cos, sin, neox, maxPos };
  }
}

export interface AdamWStep {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** lr · weight decay, 0 for parameters without decay */
  decay: number;
  /** bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ */
  c1: number;
  c2: number;
  /** gradient multiplier (clipping) */
  gradScale: number;
}

export interface MatmulOptions {
  lda?: number;
  ldb?: number;
  ldc?: number;
  /** add into C instead of overwriting it */
  accumulate?: boolean;
  /**
   * linear on packed block types: keep activations in f32 for many rows (training, where the backward
   * pass must match the forward) instead of rounding them to 8 bits as llama.cpp does
   */
  exact?: boolean;
}

export interface RopeTable {
  cos: Buf;
  sin: Buf;
  neox: boolean;
  maxPos: number;
}

export interface AttentionArgs {
  q: Buf;
  qStride: number;
  k: Buf;
  v: Buf;
  kvStride: number;
  out: Buf;
  outStride: number;
  /** [nHq, T, S0+T] probabilities */
  att: Buf;
  T: number;
  S0: number;
  nHq: number;
  nHkv: number;
  hd: number;
  scale: number;
}

function checkSpan(b: Buf, rows: number, cols: number, ld: number, what: string): void {
  if (rows === 0 || cols === 0) return;
  if (ld < cols) throw new EngineError(`${what}: leading dimension ${ld} < ${cols} columns`);
  const need = (rows - 1) * ld + cols;
  if (need > b.length) throw new EngineError(`${what}: needs ${need} elements, buffer has ${b.length}`);
}
