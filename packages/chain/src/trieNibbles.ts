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

/**
 * The RLP encoding of a trie node, as `RLP.encode` gives it, written into one buffer: the generic
 * encoder copies each item into its own prefixed array and then again into its parent's, which for a
 * block's receipts trie (leaves of 300-byte receipts) is most of the cost of the root.
 */
export function encodeNode(node: RawNode): Uint8Array {
  const out = new Uint8Array(encodedLength(node));
  write(node, out, 0);
  return out;
}

function payloadLength(node: RawNode): number {
  if (!Array.isArray(node)) return node.length === 1 && node[0] < 0x80 ? 0 : node.length;
  let n = 0;
  for (const item of node) n += encodedLength(item);
  return n;
}

function encodedLength(node: RawNode): number {
  if (!Array.isArray(node) && node.length === 1 && node[0] < 0x80) return 1;
  const payload = payloadLength(node);
  return payload + prefixLength(payload);
}

function prefixLength(payload: number): number {
  return payload <= 55 ? 1 : 1 + bytesOf(payload);
}

function bytesOf(n: number): number {
  let bytes = 0;
  for (let rest = n; rest > 0; rest = Math.floor(rest / 256)) bytes++;
  return bytes;
}

/** Writes `node` at `at`; returns where it ends. */
function write(node: RawNode, out: Uint8Array, at: number): number {
  const list = Array.isArray(node);
  if (!list && node.length === 1 && node[0] < 0x80) {
    out[at] = node[0];
    return at + 1;
  }
  const payload = payloadLength(node);
  const [short, long] = list ? [0xc0, 0xf7] : [0x80, 0xb7];
  let pos = at;
  if (payload <= 55) out[pos++] = short + payload;
  else {
    const bytes = bytesOf(payload);
    out[pos++] = long + bytes;
    for (let i = bytes - 1; i >= 0; i--) out[pos++] = Math.floor(payload / 256 ** i) % 256;
  }
  if (!list) {
    out.set(node, pos);
    return pos + node.length;
  }
  for (const item of node) pos = write(item, out, pos);
  return pos;
}
