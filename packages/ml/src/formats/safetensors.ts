// Hugging Face safetensors: 8-byte little-endian header length, JSON header, then raw little-endian tensor data.
// Float32 data is copied as bytes, which assumes a little-endian host (x86, ARM).
import { closeSync, openSync, writeSync } from "node:fs";
import { type ByteSource, fileSource, memorySource } from "./byte-source.ts";
import { FormatError, UnsupportedTensorTypeError } from "./errors.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "./half.ts";

const dtypeSizes: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};
const DECODED = ["F32", "F16", "BF16", "F64"];
const MAX_HEADER = 100 * 1024 * 1024;

export interface SafetensorsTensorInfo {
  name: string;
  dtype: string;
  shape: number[];
  /** Absolute byte range in the file. */
  begin: number;
  end: number;
}

export class SafetensorsFile {
  readonly tensors: SafetensorsTensorInfo[] = [];
  readonly metadata: Record<string, string> = {};
  private readonly byName = new Map<string, SafetensorsTensorInfo>();

  private constructor(
    private readonly source: ByteSource,
    readonly label: string,
  ) {
    if (source.size < 8)
      throw new FormatError(`${label} is truncated: ${source.size} bytes, no header length`);
    const headerLen = new DataView(source.read(0, 8).slice().buffer).getBigUint64(0, true);
    if (headerLen > BigInt(Math.min(MAX_HEADER, source.size - 8))) {
      throw new FormatError(`${label} is truncated or corrupt: header claims ${headerLen} bytes at offset 8`);
    }
    const dataStart = 8 + Number(headerLen);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(source.read(8, dataStart - 8)));
    } catch (err) {
      throw new FormatError(`${label}: header at offset 8 is not valid JSON (${(err as Error).message})`);
    }
    if (typeof header !== "object" || header === null || Array.isArray(header)) {
      throw new FormatError(`${label}: header at offset 8 is not a JSON object`);
    }
    for (const [name, raw] of Object.entries(header)) {
      if (name === "__metadata__") {
        for (const [k, v] of Object.entries((raw ?? {}) as Record<string, unknown>))
          this.metadata[k] = String(v);
        continue;
      }
      const t = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      const shape = t?.shape;
      const offsets = t?.data_offsets;
      if (
        typeof t?.dtype !== "string" ||
        !Array.isArray(shape) ||
        !shape.every((n) => Number.isSafeInteger(n) && n >= 0) ||
        !Array.isArray(offsets) ||
        offsets.length !== 2 ||
        !offsets.every((n) => Number.isSafeInteger(n) && n >= 0)
      ) {
        throw new FormatError(`${label}: tensor '${name}' has a malformed header entry`);
      }
      const size = dtypeSizes[t.dtype];
      if (size === undefined)
        throw new UnsupportedTensorTypeError(`${label}: tensor '${name}' has dtype ${t.dtype}`);
      const [b, e] = offsets as [number, number];
      const count = (shape as number[]).reduce((x, y) => x * y, 1);
      if (e < b || e - b !== count * size) {
        throw new FormatError(
          `${label}: tensor '${name}' byte range ${b}..${e} does not hold [${shape.join(", ")}] ${t.dtype}`,
        );
      }
      if (dataStart + e > source.size) {
        throw new FormatError(
          `${label} is truncated: tensor '${name}' needs bytes ${dataStart + b}..${dataStart + e} ` +
            `but the file ends at ${source.size}`,
        );
      }
      const info = {
        name,
        dtype: t.dtype,
        shape: shape as number[],
        begin: dataStart + b,
        end: dataStart + e,
      };
      this.tensors.push(info);
      this.byName.set(name, info);
    }
    const sorted = [...this.tensors].sort((x, y) => x.begin - y.begin);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i].begin < sorted[i - 1].end) {
        throw new FormatError(`${label}: tensors '${sorted[i - 1].name}' and '${sorted[i].name}' overlap`);
      }
    }
  }

  static open(path: string): SafetensorsFile {
    const source = fileSource(path);
    try {
      return new SafetensorsFile(source, path);
    } catch (err) {
      source.close();
      throw err;
    }
  }

  static fromBytes(bytes: Uint8Array, label = "safetensors buffer"): SafetensorsFile {
    return new SafetensorsFile(memorySource(bytes), label);
  }

  close(): void {
    this.source.close();
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  tensor(name: string): SafetensorsTensorInfo {
    const t = this.byName.get(name);
    if (!t) throw new FormatError(`${this.label} has no tensor '${name}'`);
    return t;
  }

  /** A tensor decoded to float32 (F32 values are bit-exact). */
  readTensor(name: string): { shape: number[]; data: Float32Array } {
    const t = this.tensor(name);
    if (!DECODED.includes(t.dtype)) {
      throw new UnsupportedTensorTypeError(
        `${this.label}: tensor '${name}' has dtype ${t.dtype}; floating tensors (${DECODED.join(", ")}) are supported`,
      );
    }
    const bytes = this.source.read(t.begin, t.end - t.begin);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const n = (t.end - t.begin) / dtypeSizes[t.dtype];
    const out = new Float32Array(n);
    if (t.dtype === "F32") new Uint8Array(out.buffer).set(bytes);
    else if (t.dtype === "F64") for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
    else {
      const dec = t.dtype === "F16" ? f16ToF32 : bf16ToF32;
      for (let i = 0; i < n; i++) out[i] = dec(view.getUint16(i * 2, true));
    }
    return { shape: t.shape, data: out };
  }

  readAll(): Map<string, { shape: number[]; data: Float32Array }> {
    return new Map(this.tensors.map((t) => [t.name, this.readTensor(t.name)]));
  }
}

export type SafetensorsDtype = "F32" | "F16" | "BF16";

/** Encode tensors (sorted by name) with optional string metadata; F32 output is bit-exact. */
export function encodeSafetensors(
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  options: { metadata?: Record<string, string>; dtype?: SafetensorsDtype } = {},
): Uint8Array {
  const dtype = options.dtype ?? "F32";
  const size = dtypeSizes[dtype];
  const names = [...tensors.keys()].sort();
  const header: Record<string, unknown> = {};
  if (options.metadata) header.__metadata__ = options.metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors.get(name)!;
    if (t.shape.reduce((a, b) => a * b, 1) !== t.data.length) {
      throw new FormatError(
        `tensor '${name}': shape [${t.shape.join(", ")}] does not match ${t.data.length} values`,
      );
    }
    header[name] = { dtype, shape: t.shape, data_offsets: [offset, offset + t.data.length * size] };
    offset += t.data.length * size;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8) json += " ";
  const head = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + head.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const name of names) {
    const { data } = tensors.get(name)!;
    if (dtype === "F32") {
      out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), at);
      at += data.byteLength;
      continue;
    }
    for (let i = 0; i < data.length; i++, at += size) {
      view.setUint16(at, dtype === "F16" ? f32ToF16(data[i]) : f32ToBf16(data[i]), true);
    }
  }
  return out;
}

export function writeSafetensors(
  path: string,
  tensors: Map<string, { shape: number[]; data: Float32Array }>,
  options: { metadata?: Record<string, string>; dtype?: SafetensorsDtype } = {},
): void {
  const bytes = encodeSafetensors(tensors, options);
  const fd = openSync(path, "w");
  try {
    let done = 0;
    while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
  } finally {
    closeSync(fd);
  }
}
