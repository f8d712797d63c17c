import { GgmlType, type GgufWriteType } from "../../src/formats/ggml-types.ts";
import type { Engine } from "../../src/kernels/engine.ts";
import { QTensor } from "../../src/kernels/qtensor.ts";

/** A [rows, cols] matrix of `type` in engine memory, holding `bytes` as stored (not repacked). */
export function packedMatrix(
  e: Engine,
  type: GgufWriteType,
  bytes: Uint8Array,
  rows: number,
  cols: number,
): QTensor {
  const W = new QTensor(e.allocBytes(bytes.byteLength), GgmlType[type], rows, cols);
  W.bytes.set(bytes);
  return W;
}
