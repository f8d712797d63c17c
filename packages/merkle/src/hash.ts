import { keccak_256, keccakP } from "@noble/hashes/sha3.js";

// keccak256 of exactly 64 bytes without per-call allocation: absorb one block into a reused state.
// The byte view of the Uint32 state matches Keccak's lane order only on little-endian hosts.
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const state32 = new Uint32Array(50);
const state8 = new Uint8Array(state32.buffer);
const scratch = new Uint8Array(64);

function keccak64Into(input: Uint8Array, out: Uint8Array, outOffset: number): void {
  if (!LITTLE_ENDIAN) {
    out.set(keccak_256(input), outOffset);
    return;
  }
  state32.fill(0);
  state8.set(input, 0);
  state8[64] ^= 0x01; // keccak padding: first bit after the message ...
  state8[135] ^= 0x80; // ... and last bit of the 136-byte rate block
  keccakP(state32, 24);
  out.set(state8.subarray(0, 32), outOffset);
}

/** Lexicographic comparison of two 32-byte words stored in (possibly the same) buffers. */
export function compare32(a: Uint8Array, aOffset: number, b: Uint8Array, bOffset: number): number {
  for (let i = 0; i < 32; i++) {
    const d = a[aOffset + i] - b[bOffset + i];
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * OpenZeppelin's `Hashes.commutativeKeccak256`: keccak256 of the two words, smaller first.
 * Reads the words at `aOffset`/`bOffset` and writes the 32-byte result into `out` at `outOffset`.
 */
export function hashPairInto(
  a: Uint8Array,
  aOffset: number,
  b: Uint8Array,
  bOffset: number,
  out: Uint8Array,
  outOffset: number,
): void {
  if (compare32(a, aOffset, b, bOffset) <= 0) {
    scratch.set(a.subarray(aOffset, aOffset + 32), 0);
    scratch.set(b.subarray(bOffset, bOffset + 32), 32);
  } else {
    scratch.set(b.subarray(bOffset, bOffset + 32), 0);
    scratch.set(a.subarray(aOffset, aOffset + 32), 32);
  }
  keccak64Into(scratch, out, outOffset);
}

export function keccak256(data: Uint8Array): Uint8Array {
  return keccak_256(data);
}
