import { MerkleError } from "./errors.ts";

export type Hex = `0x${string}`;
/** A 32-byte value: `0x` + 64 hex digits, or a 32-byte Uint8Array. */
export type Bytes32Like = Hex | Uint8Array;

const HEX_DIGITS = "0123456789abcdef";
const BYTE_TO_HEX: string[] = Array.from({ length: 256 }, (_, b) => HEX_DIGITS[b >> 4] + HEX_DIGITS[b & 15]);

function nibble(code: number): number {
  if (code >= 48 && code <= 57) return code - 48; // 0-9
  if (code >= 97 && code <= 102) return code - 87; // a-f
  if (code >= 65 && code <= 70) return code - 55; // A-F
  return -1;
}

/** Lower-case `0x` hex of `bytes[start, end)`. */
export function toHex(bytes: Uint8Array, start = 0, end = bytes.length): Hex {
  let out = "0x";
  for (let i = start; i < end; i++) out += BYTE_TO_HEX[bytes[i]];
  return out as Hex;
}

/** Decodes `0x`-prefixed hex of exactly `length` bytes into `target` at `offset`. */
export function writeHex(
  hex: string,
  length: number,
  target: Uint8Array,
  offset: number,
  what: string,
): void {
  if (
    typeof hex !== "string" ||
    hex.length !== 2 + 2 * length ||
    hex[0] !== "0" ||
    (hex[1] !== "x" && hex[1] !== "X")
  ) {
    throw new MerkleError(`${what} must be 0x followed by ${2 * length} hex digits, got ${describe(hex)}`);
  }
  for (let i = 0; i < length; i++) {
    const hi = nibble(hex.charCodeAt(2 + 2 * i));
    const lo = nibble(hex.charCodeAt(3 + 2 * i));
    if (hi < 0 || lo < 0) throw new MerkleError(`${what} contains a non-hex character: ${describe(hex)}`);
    target[offset + i] = (hi << 4) | lo;
  }
}

/** Copies a bytes32 (hex or Uint8Array) into `target` at `offset`. */
export function writeBytes32(value: Bytes32Like, target: Uint8Array, offset: number, what: string): void {
  if (value instanceof Uint8Array) {
    if (value.length !== 32) throw new MerkleError(`${what} must be 32 bytes, got ${value.length}`);
    target.set(value, offset);
    return;
  }
  writeHex(value, 32, target, offset, what);
}

export function bytes32(value: Bytes32Like, what = "value"): Uint8Array {
  const out = new Uint8Array(32);
  writeBytes32(value, out, 0, what);
  return out;
}

function describe(value: unknown): string {
  if (typeof value !== "string") return typeof value;
  return value.length > 80 ? `"${value.slice(0, 77)}..." (${value.length} chars)` : `"${value}"`;
}
