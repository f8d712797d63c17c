// ggml tensor element types: sizes, decoding to float32 and encoding from float32.
import { UnsupportedTensorTypeError } from "./errors.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";
import { decodeQ6K, decodeQ45K, encodeQ6K, encodeQ45K } from "./k-quants.ts";
import { decodeLegacy, encodeLegacy, type LegacyQuant } from "./legacy-quants.ts";

export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q8_1: 9,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ2_XXS: 16,
  IQ2_XS: 17,
  IQ3_XXS: 18,
  IQ1_S: 19,
  IQ4_NL: 20,
  IQ3_S: 21,
  IQ2_S: 22,
  IQ4_XS: 23,
  I8: 24,
  I16: 25,
  I32: 26,
  I64: 27,
  F64: 28,
  IQ1_M: 29,
  BF16: 30,
  TQ1_0: 34,
  TQ2_0: 35,
  MXFP4: 39,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;

const names = new Map<number, GgmlTypeName>(
  Object.entries(GgmlType).map(([name, id]) => [id, name as GgmlTypeName]),
);

export function ggmlTypeName(type: number): string {
  return names.get(type) ?? `unknown type ${type}`;
}

/** Elements per block and bytes per block of the types this engine decodes. */
const layouts: Partial<Record<number, { block: number; bytes: number }>> = {
  [GgmlType.F32]: { block: 1, bytes: 4 },
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
  [GgmlType.F64]: { block: 1, bytes: 8 },
  [GgmlType.I8]: { block: 1, bytes: 1 },
  [GgmlType.I16]: { block: 1, bytes: 2 },
  [GgmlType.I32]: { block: 1, bytes: 4 },
};

export const SUPPORTED_TENSOR_TYPES = Object.keys(layouts).map((t) => ggmlTypeName(Number(t)));

function layoutOf(type: number, tensor: string) {
  const layout = layouts[type];
  if (!layout) {
    throw new UnsupportedTensorTypeError(
      `tensor '${tensor}' has type ${ggmlTypeName(type)}, which this engine does not decode ` +
        `(supported: ${SUPPORTED_TENSOR_TYPES.join(", ")}); re-export the model as F16, BF16, F32 or Q8_0`,
    );
  }
  return layout;
}

/** Bytes used by `count` elements of `type`; the row length `ne0` must be a whole number of blocks. */
export function tensorByteSize(type: number, ne: readonly number[], tensor: string): number {
  const { block, bytes } = layoutOf(type, tensor);
  if (ne[0] % block !== 0) {
    throw new UnsupportedTensorTypeError(
      `tensor '${tensor}' of type ${ggmlTypeName(type)} has a row of ${ne[0]} elements, not a multiple of ${block}`,
    );
  }
  const count = ne.reduce((a, b) => a * b, 1);
  return (count / block) * bytes;
}

/** Decode `count` elements of `type` from `bytes` into float32. */
export function decodeTensor(type: number, bytes: Uint8Array, count: number, tensor: string): Float32Array {
  layoutOf(type, tensor);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  switch (type) {
    case GgmlType.F32:
      for (let i = 0; i < count; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case GgmlType.F16:
      for (let i = 0; i < count; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
      break;
    case GgmlType.BF16:
      for (let i = 0; i < count; i++) out[i] = bf16ToF32(view.getUint16(i * 2, true));
      break;
    case GgmlType.F64:
      for (let i = 0; i < count; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case GgmlType.I8:
      for (let i = 0; i < count; i++) out[i] = view.getInt8(i);
      break;
    case GgmlType.I16:
      for (let i = 0; i < count; i++) out[i] = view.getInt16(i * 2, true);
      break;
    case GgmlType.I32:
      for (let i = 0; i < count; i++) out[i] = view.getInt32(i * 4, true);
      break;
    case GgmlType.Q8_0:
      for (let b = 0; b < count / 32; b++) {
        const at = b * 34;
        const d = f16ToF32(view.getUint16(at, true));
        for (let j = 0; j < 32; j++) out[b * 32 + j] = d * view.getInt8(at + 2 + j);
      }
      break;
    case GgmlType.Q4_0:
    case GgmlType.Q4_1:
    case GgmlType.Q5_0:
    case GgmlType.Q5_1:
      decodeLegacy(ggmlTypeName(type) as LegacyQuant, bytes, count, out);
      break;
    case GgmlType.Q4_K:
    case GgmlType.Q5_K:
      decodeQ45K(bytes, count, type === GgmlType.Q5_K, out);
      break;
    case GgmlType.Q6_K:
      decodeQ6K(bytes, count, out);
      break;
  }
  return out;
}

function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}

/** The tensor types the writer produces. */
export type GgufWriteType = "F32" | "F16" | "BF16" | "Q8_0" | LegacyQuant | "Q4_K" | "Q5_K" | "Q6_K";

/** Values per block of a write type: rows must be a whole number of blocks. */
export function blockSize(type: GgufWriteType): number {
  return layouts[GgmlType[type]]!.block;
}

/**
 * Encode float32 values as `type`; Q8_0 rounds like ggml's reference quantiser (scale = amax / 127), the
 * k-quants use plain round-to-nearest scales.
 */
export function encodeTensor(type: GgufWriteType, data: Float32Array, tensor: string): Uint8Array {
  const count = data.length;
  switch (type) {
    case "F32":
      return new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    case "F16":
    case "BF16": {
      const out = new Uint8Array(count * 2);
      const view = new DataView(out.buffer);
      const enc = type === "F16" ? f32ToF16 : f32ToBf16;
      for (let i = 0; i < count; i++) view.setUint16(i * 2, enc(data[i]), true);
      return out;
    }
    case "Q8_0": {
      if (count % 32 !== 0) {
        throw new UnsupportedTensorTypeError(
          `tensor '${tensor}' has ${count} elements; Q8_0 needs rows that are a multiple of 32`,
        );
      }
      const out = new Uint8Array((count / 32) * 34);
      const view = new DataView(out.buffer);
      for (let b = 0; b < count / 32; b++) {
        let amax = 0;
        for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(data[b * 32 + j]));
        const d = Math.fround(amax / 127);
        const id = d ? Math.fround(1 / d) : 0;
        view.setUint16(b * 34, f32ToF16(d), true);
        for (let j = 0; j < 32; j++)
          view.setInt8(b * 34 + 2 + j, roundHalfAway(Math.fround(data[b * 32 + j] * id)));
      }
      return out;
    }
    case "Q4_0":
    case "Q4_1":
    case "Q5_0":
    case "Q5_1":
      if (count % 32 !== 0) {
        throw new UnsupportedTensorTypeError(
          `tensor '${tensor}' has ${count} elements; ${type} needs rows that are a multiple of 32`,
        );
      }
      return encodeLegacy(type, data);
    case "Q4_K":
    case "Q5_K":
    case "Q6_K":
      if (count % 256 !== 0) {
        throw new UnsupportedTensorTypeError(
          `tensor '${tensor}' has ${count} elements; ${type} needs rows that are a multiple of 256`,
        );
      }
      return type === "Q6_K" ? encodeQ6K(data) : encodeQ45K(data, type === "Q5_K");
  }
}
