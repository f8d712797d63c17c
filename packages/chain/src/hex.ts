/**
 * `0x`-prefixed lowercase hex from Node's native encoder: the same text as @ethereumjs's
 * `bytesToHex`, which concatenates one string per byte; the pool's map keys (hashes, senders) are
 * then flat strings, cheaper to hash on every lookup.
 */
export function toHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("hex")}`;
}
