// Hex text from Node's native encoder: the same text as @ethereumjs's `bytesToHex` /
// `bytesToUnprefixedHex`, which concatenate one string per byte. Map keys (pool hashes and senders, the
// call state's accounts and slots) are then flat strings, cheaper to build and to hash on every lookup.

/** Lowercase hex without `0x`. */
export function hexKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex");
}

/** `0x`-prefixed lowercase hex. */
export function toHex(bytes: Uint8Array): `0x${string}` {
  return `0x${hexKey(bytes)}`;
}
