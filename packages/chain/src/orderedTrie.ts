import { RLP } from "@ethereumjs/rlp";
import { KECCAK256_RLP } from "@ethereumjs/util";
import { wasmKeccak256 } from "./crypto.ts";
import { compareNibbles, encodeNode, type RawNode as Raw, toHexPrefix, toNibbles } from "./trieNibbles.ts";

interface Entry {
  nibbles: Uint8Array;
  value: Uint8Array;
}

/**
 * The root of the Merkle Patricia trie that maps RLP(i) to values[i]: the transactions and receipts
 * tries of a block header. Built in one pass over the sorted keys, with no node database: the same
 * root @ethereumjs's MerklePatriciaTrie gives after one put per index (checked in the unit tests),
 * at a fraction of the cost, since that trie re-hashes the path to the root on every put.
 */
export function orderedTrieRoot(values: Uint8Array[]): Uint8Array {
  if (values.length === 0) return KECCAK256_RLP;
  const entries: Entry[] = values.map((value, i) => ({ nibbles: toNibbles(RLP.encode(i)), value }));
  entries.sort((a, b) => compareNibbles(a.nibbles, b.nibbles));
  return wasmKeccak256(encodeNode(node(entries, 0)));
}

function node(entries: Entry[], depth: number): Raw {
  if (entries.length === 1) {
    const { nibbles, value } = entries[0];
    return [toHexPrefix(nibbles.subarray(depth), true), value];
  }
  const shared = sharedPrefix(entries, depth);
  if (shared > 0) {
    const path = entries[0].nibbles.subarray(depth, depth + shared);
    return [toHexPrefix(path, false), ref(node(entries, depth + shared))];
  }
  const branch: Raw[] = new Array(17).fill(Uint8Array.of());
  let start = 0;
  // A key that ends here is the branch's value (RLP(i) keys never end inside another key; kept general).
  if (entries[0].nibbles.length === depth) {
    branch[16] = entries[0].value;
    start = 1;
  }
  while (start < entries.length) {
    const nibble = entries[start].nibbles[depth];
    let end = start + 1;
    while (end < entries.length && entries[end].nibbles[depth] === nibble) end++;
    branch[nibble] = ref(node(entries.slice(start, end), depth + 1));
    start = end;
  }
  return branch;
}

/** A child node goes into its parent inline when its encoding is shorter than 32 bytes, else by hash. */
function ref(child: Raw): Raw {
  const encoded = encodeNode(child);
  return encoded.length < 32 ? child : wasmKeccak256(encoded);
}

/** How many nibbles after `depth` every key shares (keys sorted, so the first and last decide). */
function sharedPrefix(entries: Entry[], depth: number): number {
  const a = entries[0].nibbles;
  const b = entries[entries.length - 1].nibbles;
  let n = 0;
  while (depth + n < a.length && depth + n < b.length && a[depth + n] === b[depth + n]) n++;
  return n;
}
