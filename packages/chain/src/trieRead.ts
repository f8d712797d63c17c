import { RLP } from "@ethereumjs/rlp";
import { bytesToUnprefixedHex } from "@ethereumjs/util";
import { wasmKeccak256 } from "./crypto.ts";
import { fromHexPrefix, type RawNode, toNibbles } from "./trieNibbles.ts";

/** A trie node the walk needed is not in the node database. */
export class TrieNodeMissingError extends Error {
  override name = "TrieNodeMissingError";
  constructor(readonly key: string) {
    super(`trie node ${key} is missing from the node database`);
  }
}

/**
 * The value under `key` (hashed, as a trie with `useKeyHashing` stores it) in the trie at `root`,
 * read node by node through `get` (unprefixed hex hash → encoded node) alone: no cache, nothing
 * remembered. Undefined when the trie has no such key. A synchronous walk over decoded RLP, without
 * @ethereumjs/mpt's asynchronous walk controller and node objects (block verification reads every
 * account a block touched this way).
 */
export function readTrie(
  get: (key: string) => Uint8Array | undefined,
  root: Uint8Array,
  key: Uint8Array,
): Uint8Array | undefined {
  const nibbles = toNibbles(wasmKeccak256(key));
  const load = (hash: Uint8Array): RawNode => {
    const id = bytesToUnprefixedHex(hash);
    const encoded = get(id);
    if (encoded === undefined) throw new TrieNodeMissingError(id);
    return RLP.decode(encoded) as RawNode;
  };
  let node = load(root);
  let depth = 0;
  for (;;) {
    if (!Array.isArray(node)) return undefined;
    let next: RawNode;
    if (node.length === 17) {
      // Hashed keys all have 64 nibbles, so no value ends at a branch.
      if (depth >= nibbles.length) return undefined;
      next = node[nibbles[depth]];
      depth++;
    } else if (node.length === 2 && node[0] instanceof Uint8Array) {
      const { path, leaf } = fromHexPrefix(node[0]);
      if (depth + path.length > nibbles.length) return undefined;
      for (let i = 0; i < path.length; i++) if (nibbles[depth + i] !== path[i]) return undefined;
      depth += path.length;
      if (leaf) {
        const value = node[1];
        return depth === nibbles.length && value instanceof Uint8Array ? value : undefined;
      }
      next = node[1];
    } else {
      return undefined;
    }
    if (Array.isArray(next)) node = next;
    else if (next.length === 0) return undefined;
    else node = load(next);
  }
}
