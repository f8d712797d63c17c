// A weight matrix kept in its GGUF storage format inside the engine's memory: rows of packed blocks,
// exactly the bytes of the file. The engine's linear kernels compute on it directly.
import { GgmlType, ggmlTypeName } from "../formats/ggml-types.ts";
import type { Buf } from "./engine.ts";

/** Storage types the kernels compute on without widening: elements and bytes per block. */
export const IN_MEMORY_TYPES: Partial<Record<number, { block: number; bytes: number }>> = {
  [GgmlType.F16]: { block: 1, bytes: 2 },
  [GgmlType.BF16]: { block: 1, bytes: 2 },
  [GgmlType.Q8_0]: { block: 32, bytes: 34 },
  [GgmlType.Q4_0]: { block: 32, bytes: 18 },
  [GgmlType.Q4_1]: { block: 32, bytes: 20 },
  [GgmlType.Q5_0]: { block: 32, bytes: 22 },
  [GgmlType.Q5_1]: { block: 32, bytes: 24 },
  [GgmlType.Q4_K]: { block: 256, bytes: 144 },
  [GgmlType.Q5_K]: { block: 256, bytes: 176 },
  [GgmlType.Q6_K]: { block: 256, bytes: 210 },
};

/** Whether a [rows, cols] matrix of this ggml type can stay packed in memory. */
export function keepsPacked(type: number, cols: number): boolean {
  const l = IN_MEMORY_TYPES[type];
  return l !== undefined && cols % l.block === 0;
}

/** Bytes of one row of `cols` elements of a packed type. */
export function packedRowBytes(type: number, cols: number): number {
  const l = IN_MEMORY_TYPES[type];
  if (!l || cols % l.block !== 0) {
    throw new RangeError(`${ggmlTypeName(type)} rows of ${cols} elements cannot stay packed`);
  }
  return (cols / l.block) * l.bytes;
}

/** A [rows, cols] matrix of packed blocks (row-major, `rowBytes` per row) in engine memory. */
export class QTensor {
  readonly rowBytes: number;
  /**
   * How the kernels read the rows: the ggml type, or a repacked layout of it (Engine.repackForDecode:
   * Q4_0 or Q8_0 with four rows' blocks side by side; in the relaxed build Q4_K and Q5_K with four rows'
   * super-blocks side by side, Q6_K with each super-block's values permuted; F16 with rows longer than 4096
   * in column panels). The bytes are the file's until repacked.
   */
  kernelType: number;
  constructor(
    readonly buf: Buf,
    readonly type: number,
    readonly rows: number,
    readonly cols: number,
  ) {
    this.rowBytes = packedRowBytes(type, cols);
    this.kernelType = type;
  }
  get typeName(): string {
    return ggmlTypeName(this.type);
  }
  /** number of elements (rows · cols), as Buf.length for f32 weights */
  get length(): number {
    return this.rows * this.cols;
  }
  get byteLength(): number {
    return this.rows * this.rowBytes;
  }
  /** The packed bytes in engine memory (re-created after memory growth, cheap); the file's layout unless repacked. */
  get bytes(): Uint8Array {
    return new Uint8Array(this.buf.engine.memory.buffer, this.buf.ptr, this.byteLength);
  }
  free(): void {
    this.buf.free();
  }
}

/** A weight matrix: float32 in a Buf, or packed in a QTensor. */
export type Weight = Buf | QTensor;
