// GGUF writer: metadata of every value type, tensors as F32/F16/BF16/Q8_0 (or pre-encoded bytes), aligned data.
import { closeSync, openSync, writeSync } from "node:fs";
import { FormatError } from "./errors.ts";
import { encodeTensor, GgmlType, type GgufWriteType, tensorByteSize } from "./ggml-types.ts";
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC } from "./gguf-read.ts";
import { type GgufMetadata, type GgufValue, isGgufArray, GgufValueType as T } from "./gguf-values.ts";

/** A tensor to write: float32 data in row-major `shape`, stored as `type` (default F32). */
export interface GgufTensorInput {
  name: string;
  shape: number[];
  data: Float32Array;
  type?: GgufWriteType;
}

/** A tensor whose stored bytes are produced when it is written (large files, one tensor in memory at a time). */
export interface GgufEncodedTensor {
  name: string;
  shape: number[];
  type: GgufWriteType;
  encode: () => Uint8Array;
}

export interface GgufWriteSpec {
  metadata: GgufMetadata;
  tensors: (GgufTensorInput | GgufEncodedTensor)[];
}

class ByteWriter {
  private buf = new Uint8Array(1 << 16);
  private view = new DataView(this.buf.buffer);
  length = 0;
  private ensure(n: number) {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }
  u8(v: number) {
    this.ensure(1);
    this.view.setUint8(this.length++, v);
  }
  u16(v: number) {
    this.ensure(2);
    this.view.setUint16(this.length, v, true);
    this.length += 2;
  }
  u32(v: number) {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
  }
  u64(v: bigint | number) {
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, BigInt(v)), true);
    this.length += 8;
  }
  f32(v: number) {
    this.ensure(4);
    this.view.setFloat32(this.length, v, true);
    this.length += 4;
  }
  f64(v: number) {
    this.ensure(8);
    this.view.setFloat64(this.length, v, true);
    this.length += 8;
  }
  bytes(b: Uint8Array) {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  string(s: string) {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.bytes(b);
  }
  pad(alignment: number) {
    while (this.length % alignment) this.u8(0);
  }
  result(): Uint8Array {
    return this.buf.subarray(0, this.length);
  }
}

const utf8 = new TextEncoder();

function checkInt(v: GgufValue, lo: number, hi: number, key: string): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new FormatError(`metadata '${key}': ${String(v)} is not an integer in ${lo}..${hi}`);
  }
  return v;
}

function writeValue(w: ByteWriter, type: number, v: GgufValue, key: string): void {
  switch (type) {
    case T.UINT8:
      w.u8(checkInt(v, 0, 0xff, key));
      return;
    case T.INT8:
      w.u8(checkInt(v, -0x80, 0x7f, key) & 0xff);
      return;
    case T.UINT16:
      w.u16(checkInt(v, 0, 0xffff, key));
      return;
    case T.INT16:
      w.u16(checkInt(v, -0x8000, 0x7fff, key) & 0xffff);
      return;
    case T.UINT32:
      w.u32(checkInt(v, 0, 0xffffffff, key));
      return;
    case T.INT32:
      w.u32(checkInt(v, -0x80000000, 0x7fffffff, key));
      return;
    case T.FLOAT32:
    case T.FLOAT64:
      if (typeof v !== "number") throw new FormatError(`metadata '${key}': ${String(v)} is not a number`);
      if (type === T.FLOAT32) w.f32(v);
      else w.f64(v);
      return;
    case T.BOOL:
      if (typeof v !== "boolean") throw new FormatError(`metadata '${key}': ${String(v)} is not a bool`);
      w.u8(v ? 1 : 0);
      return;
    case T.STRING:
      if (typeof v !== "string") throw new FormatError(`metadata '${key}': value is not a string`);
      w.string(v);
      return;
    case T.UINT64:
    case T.INT64: {
      if (typeof v !== "bigint")
        throw new FormatError(`metadata '${key}': 64-bit integers are given as bigint`);
      const fits = type === T.UINT64 ? BigInt.asUintN(64, v) === v : BigInt.asIntN(64, v) === v;
      if (!fits) throw new FormatError(`metadata '${key}': ${v} does not fit its 64-bit type`);
      w.u64(v);
      return;
    }
    case T.ARRAY: {
      if (!isGgufArray(v)) throw new FormatError(`metadata '${key}': array entries need { itemType, items }`);
      w.u32(v.itemType);
      w.u64(v.items.length);
      for (const item of v.items) writeValue(w, v.itemType, item, key);
      return;
    }
    default:
      throw new FormatError(`metadata '${key}': unknown GGUF value type ${type}`);
  }
}

interface PlacedTensor {
  input: GgufTensorInput | GgufEncodedTensor;
  ne: number[];
  type: number;
  offset: number;
  size: number;
}

function layout(spec: GgufWriteSpec): { header: Uint8Array; placed: PlacedTensor[]; alignment: number } {
  const alignEntry = spec.metadata.get("general.alignment");
  const alignment = alignEntry ? Number(alignEntry.value) : GGUF_DEFAULT_ALIGNMENT;
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new FormatError(`general.alignment must be a power of two, got ${String(alignEntry?.value)}`);
  }
  const names = new Set<string>();
  let offset = 0;
  const placed = spec.tensors.map((input) => {
    if (names.has(input.name)) throw new FormatError(`duplicate tensor '${input.name}'`);
    names.add(input.name);
    const count = input.shape.reduce((a, b) => a * b, 1);
    const values = "data" in input ? input.data.length : count;
    if (input.shape.length === 0 || input.shape.length > 4 || count !== values) {
      throw new FormatError(
        `tensor '${input.name}': shape [${input.shape.join(", ")}] does not match its ${values} values`,
      );
    }
    const ne = [...input.shape].reverse();
    const type = GgmlType[input.type ?? "F32"];
    const size = tensorByteSize(type, ne, input.name);
    const at = offset;
    offset += Math.ceil(size / alignment) * alignment;
    return { input, ne, type, offset: at, size };
  });
  const w = new ByteWriter();
  w.u32(GGUF_MAGIC);
  w.u32(3);
  w.u64(placed.length);
  w.u64(spec.metadata.size);
  for (const [key, entry] of spec.metadata) {
    w.string(key);
    w.u32(entry.type);
    writeValue(w, entry.type, entry.value, key);
  }
  for (const t of placed) {
    w.string(t.input.name);
    w.u32(t.ne.length);
    for (const n of t.ne) w.u64(n);
    w.u32(t.type);
    w.u64(t.offset);
  }
  w.pad(alignment);
  return { header: w.result(), placed, alignment };
}

function* chunks(spec: GgufWriteSpec): Generator<Uint8Array> {
  const { header, placed, alignment } = layout(spec);
  yield header;
  for (const t of placed) {
    const { input } = t;
    const bytes =
      "data" in input ? encodeTensor(input.type ?? "F32", input.data, input.name) : input.encode();
    if (bytes.length !== t.size) {
      throw new FormatError(
        `tensor '${input.name}': ${bytes.length} bytes encoded, its type needs ${t.size}`,
      );
    }
    yield bytes;
    const pad = (alignment - (bytes.length % alignment)) % alignment;
    if (pad) yield new Uint8Array(pad);
  }
}

/** Encode a whole GGUF file in memory. */
export function encodeGguf(spec: GgufWriteSpec): Uint8Array {
  const parts = [...chunks(spec)];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Write a GGUF file, encoding one tensor at a time. */
export function writeGguf(path: string, spec: GgufWriteSpec): void {
  const fd = openSync(path, "w");
  try {
    for (const part of chunks(spec)) {
      let done = 0;
      while (done < part.length) done += writeSync(fd, part, done, part.length - done);
    }
  } finally {
    closeSync(fd);
  }
}
