import { bytesToUnprefixedHex } from "@ethereumjs/util";
import { wasmKeccak256 } from "./crypto.ts";
import { fromHexPrefix, toNibbles } from "./trieNibbles.ts";

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
 * remembered. Undefined when the trie has no such key. A synchronous walk that reads each node's
 * RLP in place (only the item on the path is located, nothing is copied), without
 * @ethereumjs/mpt's asynchronous walk controller and decoded node objects: block verification
 * reads every account a block touched this way.
 */
export function readTrie(
  get: (key: string) => Uint8Array | undefined,
  root: Uint8Array,
  key: Uint8Array,
): Uint8Array | undefined {
  const nibbles = toNibbles(wasmKeccak256(key));
  const load = (hash: Uint8Array): Uint8Array => {
    const id = bytesToUnprefixedHex(hash);
    const encoded = get(id);
    if (encoded === undefined) throw new TrieNodeMissingError(id);
    return encoded;
  };
  let node = load(root);
  let depth = 0;
  for (;;) {
    const items = listItems(node);
    let next: RlpItem;
    if (items.length === 17) {
      // Hashed keys all have 64 nibbles, so no value ends at a branch.
      if (depth >= nibbles.length) return undefined;
      next = items[nibbles[depth]];
      depth++;
    } else if (items.length === 2 && !items[0].list) {
      const { path, leaf } = fromHexPrefix(node.subarray(items[0].start, items[0].end));
      if (depth + path.length > nibbles.length) return undefined;
      for (let i = 0; i < path.length; i++) if (nibbles[depth + i] !== path[i]) return undefined;
      depth += path.length;
      const value = items[1];
      if (leaf)
        return depth === nibbles.length && !value.list ? node.subarray(value.start, value.end) : undefined;
      next = value;
    } else {
      throw new TrieNodeCorruptError(`a trie node of ${items.length} items`);
    }
    // A child is an embedded node (an RLP list), a 32-byte hash, or empty.
    if (next.list) node = node.subarray(next.at, next.end);
    else if (next.end === next.start) return undefined;
    else node = load(node.subarray(next.start, next.end));
  }
}

/** A stored trie node that is not well-formed RLP of a trie node. */
export class TrieNodeCorruptError extends Error {
  override name = "TrieNodeCorruptError";
  constructor(what: string) {
    super(`trie node database holds a malformed node (${what})`);
  }
}

/** One RLP item inside a buffer: its prefix at `at`, its payload at [start, end). */
export interface RlpItem {
  at: number;
  start: number;
  end: number;
  list: boolean;
}

function item(b: Uint8Array, at: number): RlpItem {
  const p = b[at];
  let start: number;
  let length: number;
  let list = false;
  if (p < 0x80) return { at, start: at, end: at + 1, list };
  if (p < 0xb8) [start, length] = [at + 1, p - 0x80];
  else if (p < 0xc0) [start, length] = [at + 1 + p - 0xb7, readLength(b, at + 1, p - 0xb7)];
  else if (p < 0xf8) [start, length, list] = [at + 1, p - 0xc0, true];
  else [start, length, list] = [at + 1 + p - 0xf7, readLength(b, at + 1, p - 0xf7), true];
  if (start + length > b.length) throw new TrieNodeCorruptError("an item runs past the node's end");
  return { at, start, end: start + length, list };
}

function readLength(b: Uint8Array, at: number, bytes: number): number {
  let n = 0;
  for (let i = 0; i < bytes; i++) n = n * 256 + b[at + i];
  return n;
}

/** The items of the RLP list that `node` encodes, located in place (nothing is copied). */
export function listItems(node: Uint8Array): RlpItem[] {
  const outer = item(node, 0);
  if (!outer.list) throw new TrieNodeCorruptError("not a list");
  const items: RlpItem[] = [];
  for (let at = outer.start; at < outer.end; ) {
    const each = item(node, at);
    items.push(each);
    at = each.end;
  }
  return items;
}
