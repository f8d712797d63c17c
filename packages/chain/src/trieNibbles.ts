// Path helpers shared by the trie builders that bypass @ethereumjs/mpt's per-key put
// (orderedTrie.ts for transactions/receipts roots, trieBatch.ts for a block's account writes).

/** A trie node as RLP structure: a leaf or extension [path, value|ref], or a branch of 17. */
export type RawNode = Uint8Array | RawNode[];

/** A key split into 4-bit nibbles, high nibble first. */
export function toNibbles(key: Uint8Array): Uint8Array {
  const out = new Uint8Array(key.length * 2);
  for (let i = 0; i < key.length; i++) {
    out[2 * i] = key[i] >> 4;
    out[2 * i + 1] = key[i] & 15;
  }
  return out;
}

export function compareNibbles(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** The compact (hex-prefix) encoding of a nibble path, flagged as a leaf's or an extension's. */
export function toHexPrefix(nibbles: Uint8Array, leaf: boolean): Uint8Array {
  const odd = nibbles.length % 2;
  const out = new Uint8Array(1 + (nibbles.length - odd) / 2);
  out[0] = (((leaf ? 2 : 0) + odd) << 4) | (odd ? nibbles[0] : 0);
  for (let i = odd, j = 1; i < nibbles.length; i += 2, j++) out[j] = (nibbles[i] << 4) | nibbles[i + 1];
  return out;
}

export function fromHexPrefix(encoded: Uint8Array): { path: Uint8Array; leaf: boolean } {
  const flag = encoded[0] >> 4;
  return { path: toNibbles(encoded).subarray(flag & 1 ? 1 : 2), leaf: flag >= 2 };
}
