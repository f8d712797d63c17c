// GGUF reader: parses the header, metadata and tensor directory, then reads tensor data by offset on demand.
import { type ByteSource, fileSource, memorySource } from "./byte-source.ts";
import { FormatError } from "./errors.ts";
import { decodeTensor, ggmlTypeName, tensorByteSize } from "./ggml-types.ts";
import {
  type GgufEntry,
  type GgufMetadata,
  type GgufValue,
  isGgufArray,
  GgufValueType as T,
} from "./gguf-values.ts";

export const GGUF_MAGIC = 0x46554747; // "GGUF" read as a little-endian uint32
export const GGUF_DEFAULT_ALIGNMENT = 32;
const MAX_DIMS = 4;

export interface GgufTensorInfo {
  name: string;
  /** ggml dimension order: ne[0] is the contiguous (innermost) axis. */
  ne: number[];
  /** Row-major shape (outermost first), the reverse of `ne`. */
  shape: number[];
  type: number;
  typeName: string;
  /** Offset relative to the start of the tensor data section. */
  offset: number;
  /** Absolute byte offset in the file. */
  fileOffset: number;
  /** Bytes of data; -1 for a type this engine does not decode (reading it raises UnsupportedTensorTypeError). */
  byteSize: number;
  elementCount: number;
}

const CHUNK = 1 << 20;

/**
 * What a read is for, rendered only when an error names it. Array items share one label whose index
 * moves: a vocabulary of 150k entries would otherwise build 150k strings (and as many DataViews) of
 * garbage, and the young generation that collects them stays resident (about 12 MB at 135M).
 */
class ItemLabel {
  i = 0;
  constructor(private readonly of: string) {}
  toString(): string {
    return `${this.of}[${this.i}]`;
  }
}
type Label = string | ItemLabel;

class Cursor {
  private window: Uint8Array = new Uint8Array(0);
  private view = new DataView(this.window.buffer);
  private windowStart = 0;
  pos = 0;
  constructor(private readonly source: ByteSource) {}

  /** Advances by n bytes and returns their offset in the current window (refilled as needed). */
  private take(n: number, what: Label, suffix = ""): number {
    if (this.pos + n > this.source.size) {
      throw new FormatError(
        `GGUF truncated or corrupt: ${what}${suffix} at offset ${this.pos} needs ${n} bytes, file has ${this.source.size}`,
      );
    }
    const rel = this.pos - this.windowStart;
    if (rel < 0 || rel + n > this.window.byteLength) {
      this.windowStart = this.pos;
      this.window = this.source.read(this.pos, Math.min(Math.max(n, CHUNK), this.source.size - this.pos));
      this.view = new DataView(this.window.buffer, this.window.byteOffset, this.window.byteLength);
    }
    const at = this.pos - this.windowStart;
    this.pos += n;
    return at;
  }

  // take() before reading this.view: it may replace the window
  u8(what: Label): number {
    const at = this.take(1, what);
    return this.view.getUint8(at);
  }
  u32(what: Label, suffix = ""): number {
    const at = this.take(4, what, suffix);
    return this.view.getUint32(at, true);
  }
  f32(what: Label): number {
    const at = this.take(4, what);
    return this.view.getFloat32(at, true);
  }
  f64(what: Label): number {
    const at = this.take(8, what);
    return this.view.getFloat64(at, true);
  }
  big64(what: Label, signed: boolean): bigint {
    const at = this.take(8, what);
    return signed ? this.view.getBigInt64(at, true) : this.view.getBigUint64(at, true);
  }
  u64(what: Label, suffix = ""): number {
    const start = this.pos;
    const at = this.take(8, what, suffix);
    const lo = this.view.getUint32(at, true);
    const hi = this.view.getUint32(at + 4, true);
    if (hi > 0x1fffff) {
      const v = (BigInt(hi) << 32n) | BigInt(lo);
      throw new FormatError(`GGUF corrupt: ${what}${suffix} at offset ${start} is ${v}, too large`);
    }
    return hi * 2 ** 32 + lo;
  }
  string(what: Label): string {
    const start = this.pos;
    const len = this.u64(what, " length");
    if (start + 8 + len > this.source.size) {
      throw new FormatError(
        `GGUF truncated or corrupt: ${what} at offset ${start} claims ${len} bytes, file has ${this.source.size}`,
      );
    }
    const at = this.take(len, what);
    return utf8.decode(this.window.subarray(at, at + len));
  }
  remaining(): number {
    return this.source.size - this.pos;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: false });

const scalarSizes: Record<number, number> = {
  [T.UINT8]: 1,
  [T.INT8]: 1,
  [T.UINT16]: 2,
  [T.INT16]: 2,
  [T.UINT32]: 4,
  [T.INT32]: 4,
  [T.FLOAT32]: 4,
  [T.BOOL]: 1,
  [T.UINT64]: 8,
  [T.INT64]: 8,
  [T.FLOAT64]: 8,
  [T.STRING]: 8,
  [T.ARRAY]: 12,
};

/** The shortest decimal that rounds to the same float32, so 1e-5 written as f32 reads back as 1e-5. */
function shortestFloat32(x: number): number {
  if (!Number.isFinite(x)) return x;
  for (let p = 1; p < 9; p++) {
    const d = Number(x.toPrecision(p));
    if (Math.fround(d) === x) return d;
  }
  return x;
}

function readValue(c: Cursor, type: number, what: Label, depth: number): GgufValue {
  switch (type) {
    case T.UINT8:
      return c.u8(what);
    case T.INT8:
      return (c.u8(what) << 24) >> 24;
    case T.UINT16:
    case T.INT16: {
      const v = c.u8(what) | (c.u8(what) << 8);
      return type === T.INT16 ? (v << 16) >> 16 : v;
    }
    case T.UINT32:
      return c.u32(what);
    case T.INT32:
      return c.u32(what) | 0;
    case T.FLOAT32:
      return shortestFloat32(c.f32(what));
    case T.BOOL:
      return c.u8(what) !== 0;
    case T.STRING:
      return c.string(what);
    case T.UINT64:
    case T.INT64:
    case T.FLOAT64:
      return type === T.FLOAT64 ? c.f64(what) : c.big64(what, type === T.INT64);
    case T.ARRAY: {
      if (depth > 8) throw new FormatError(`GGUF corrupt: ${what} nests arrays more than 8 deep`);
      const start = c.pos;
      const itemType = c.u32(`${what} item type`);
      const count = c.u64(`${what} length`);
      const size = scalarSizes[itemType];
      if (size === undefined) {
        throw new FormatError(`GGUF corrupt: ${what} at offset ${start} has unknown item type ${itemType}`);
      }
      if (count * size > c.remaining()) {
        throw new FormatError(
          `GGUF truncated or corrupt: ${what} at offset ${start} claims ${count} items, more than the file holds`,
        );
      }
      const items: GgufValue[] = new Array(count);
      const item = new ItemLabel(String(what));
      for (let i = 0; i < count; i++) {
        item.i = i;
        items[i] = readValue(c, itemType, item, depth + 1);
      }
      return { itemType, items };
    }
    default:
      throw new FormatError(`GGUF corrupt: ${what} has unknown value type ${type}`);
  }
}

export class GgufFile {
  readonly version: number;
  readonly metadata: GgufMetadata = new Map();
  readonly tensors: GgufTensorInfo[] = [];
  readonly alignment: number;
  /** Absolute offset of the tensor data section. */
  readonly dataOffset: number;
  private readonly byName = new Map<string, GgufTensorInfo>();

  private constructor(
    private readonly source: ByteSource,
    readonly label: string,
  ) {
    const c = new Cursor(source);
    const magic = c.u32("magic");
    if (magic !== GGUF_MAGIC) {
      throw new FormatError(`${label} is not a GGUF file (magic 0x${magic.toString(16)} at offset 0)`);
    }
    this.version = c.u32("version");
    if (this.version !== 2 && this.version !== 3) {
      const hint = this.version > 0xffff ? " (big-endian GGUF files are not supported)" : "";
      throw new FormatError(`${label}: GGUF version ${this.version} is not supported (2 or 3)${hint}`);
    }
    const tensorCount = c.u64("tensor count");
    const kvCount = c.u64("metadata count");
    // Every tensor info and key-value pair takes at least 8 bytes: reject absurd counts before allocating.
    if (tensorCount * 24 > source.size || kvCount * 12 > source.size) {
      throw new FormatError(
        `${label}: GGUF header claims ${tensorCount} tensors and ${kvCount} metadata entries, more than the file holds`,
      );
    }
    for (let i = 0; i < kvCount; i++) {
      const start = c.pos;
      const key = c.string(`metadata key #${i}`);
      const type = c.u32(`type of metadata '${key}'`);
      const value = readValue(c, type, `metadata '${key}'`, 0);
      if (this.metadata.has(key))
        throw new FormatError(`${label}: duplicate metadata key '${key}' at offset ${start}`);
      this.metadata.set(key, { type, value });
    }
    const align = this.metadata.get("general.alignment");
    this.alignment = align ? Number(align.value) : GGUF_DEFAULT_ALIGNMENT;
    if (
      !Number.isInteger(this.alignment) ||
      this.alignment <= 0 ||
      (this.alignment & (this.alignment - 1)) !== 0
    ) {
      throw new FormatError(`${label}: general.alignment ${String(align?.value)} is not a power of two`);
    }
    for (let i = 0; i < tensorCount; i++) {
      const start = c.pos;
      const name = c.string(`tensor info #${i} name`);
      const nDims = c.u32(`tensor '${name}' dimension count`);
      if (nDims === 0 || nDims > MAX_DIMS) {
        throw new FormatError(
          `${label}: tensor '${name}' at offset ${start} has ${nDims} dimensions (1..${MAX_DIMS})`,
        );
      }
      const ne: number[] = [];
      for (let d = 0; d < nDims; d++) ne.push(c.u64(`tensor '${name}' dimension ${d}`));
      const type = c.u32(`tensor '${name}' type`);
      const offset = c.u64(`tensor '${name}' data offset`);
      const elementCount = ne.reduce((a, b) => a * b, 1);
      if (!Number.isSafeInteger(elementCount) || ne.some((n) => n === 0)) {
        throw new FormatError(
          `${label}: tensor '${name}' at offset ${start} has bad dimensions [${ne.join(", ")}]`,
        );
      }
      if (offset % this.alignment !== 0) {
        throw new FormatError(
          `${label}: tensor '${name}' data offset ${offset} is not a multiple of the alignment ${this.alignment}`,
        );
      }
      if (this.byName.has(name))
        throw new FormatError(`${label}: duplicate tensor '${name}' at offset ${start}`);
      const info: GgufTensorInfo = {
        name,
        ne,
        shape: [...ne].reverse(),
        type,
        typeName: ggmlTypeName(type),
        offset,
        fileOffset: 0,
        byteSize: -1,
        elementCount,
      };
      this.tensors.push(info);
      this.byName.set(name, info);
    }
    this.dataOffset = Math.ceil(c.pos / this.alignment) * this.alignment;
    for (const t of this.tensors) {
      t.fileOffset = this.dataOffset + t.offset;
      try {
        t.byteSize = tensorByteSize(t.type, t.ne, t.name);
      } catch {
        continue; // unsupported types are reported when the tensor is read
      }
      if (t.fileOffset + t.byteSize > source.size) {
        throw new FormatError(
          `${label} is truncated: tensor '${t.name}' needs bytes ${t.fileOffset}..${t.fileOffset + t.byteSize} ` +
            `but the file ends at ${source.size}`,
        );
      }
    }
  }

  /** Open a GGUF file; only the header is read now, tensor data is read when asked for. */
  static open(path: string): GgufFile {
    const source = fileSource(path);
    try {
      return new GgufFile(source, path);
    } catch (err) {
      source.close();
      throw err;
    }
  }

  static fromBytes(bytes: Uint8Array, label = "GGUF buffer"): GgufFile {
    return new GgufFile(memorySource(bytes), label);
  }

  close(): void {
    this.source.close();
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  tensor(name: string): GgufTensorInfo {
    const info = this.byName.get(name);
    if (!info) throw new FormatError(`${this.label} has no tensor '${name}'`);
    return info;
  }

  /** The raw bytes of a tensor as stored (quantised blocks stay packed). */
  readTensorBytes(name: string): Uint8Array {
    const t = this.tensor(name);
    const size = tensorByteSize(t.type, t.ne, t.name);
    if (t.fileOffset + size > this.source.size) {
      throw new FormatError(
        `${this.label}: tensor '${name}' at offset ${t.fileOffset} runs past the end of the file`,
      );
    }
    return this.source.read(t.fileOffset, size);
  }

  /**
   * Copies a tensor's stored bytes straight from the file into `dest` (for instance engine memory).
   * With `sourceRow`, row r of dest is the file's row sourceRow(r) (rows are shape[0] slices).
   */
  readTensorInto(name: string, dest: Uint8Array, sourceRow?: (r: number) => number): void {
    const t = this.tensor(name);
    const size = tensorByteSize(t.type, t.ne, t.name);
    if (dest.byteLength !== size) {
      throw new FormatError(
        `${this.label}: tensor '${name}' has ${size} bytes, destination ${dest.byteLength}`,
      );
    }
    if (!sourceRow) {
      this.source.readInto(t.fileOffset, dest);
      return;
    }
    const rows = t.shape[0];
    const rowBytes = size / rows;
    for (let r = 0; r < rows; r++) {
      const from = sourceRow(r);
      this.source.readInto(t.fileOffset + from * rowBytes, dest.subarray(r * rowBytes, (r + 1) * rowBytes));
    }
  }

  /** A tensor decoded to float32, in row-major order with `shape`. */
  readTensor(name: string): { shape: number[]; data: Float32Array } {
    const t = this.tensor(name);
    return { shape: t.shape, data: decodeTensor(t.type, this.readTensorBytes(name), t.elementCount, name) };
  }

  get(key: string): GgufEntry | undefined {
    return this.metadata.get(key);
  }

  getString(key: string): string | undefined {
    const v = this.metadata.get(key)?.value;
    if (v === undefined) return undefined;
    if (typeof v !== "string") throw new FormatError(`${this.label}: metadata '${key}' is not a string`);
    return v;
  }

  getNumber(key: string): number | undefined {
    const v = this.metadata.get(key)?.value;
    if (v === undefined) return undefined;
    if (typeof v === "number") return v;
    if (typeof v === "bigint") return Number(v);
    throw new FormatError(`${this.label}: metadata '${key}' is not a number`);
  }

  getBool(key: string): boolean | undefined {
    const v = this.metadata.get(key)?.value;
    if (v === undefined) return undefined;
    if (typeof v !== "boolean") throw new FormatError(`${this.label}: metadata '${key}' is not a bool`);
    return v;
  }

  getArray(key: string): GgufValue[] | undefined {
    const v = this.metadata.get(key)?.value;
    if (v === undefined) return undefined;
    if (!isGgufArray(v)) throw new FormatError(`${this.label}: metadata '${key}' is not an array`);
    return v.items;
  }
}
