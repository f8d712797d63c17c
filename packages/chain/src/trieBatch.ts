import type { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { wasmKeccak256 } from "./crypto.ts";
import {
  compareNibbles,
  encodeNode,
  fromHexPrefix,
  type RawNode as Raw,
  toHexPrefix,
  toNibbles,
} from "./trieNibbles.ts";

interface Entry {
  nibbles: Uint8Array;
  value: Uint8Array;
}

const EMPTY = Uint8Array.of();

/**
 * Writes `puts` (key → non-empty value; keys are hashed as the trie's `useKeyHashing` does) into
 * `trie` in one pass over the sorted hashed keys, and moves its root there. @ethereumjs's put walks,
 * re-encodes and re-hashes the whole path for every key, so a block's 1,000 changed accounts
 * re-hash the top of the trie 1,000 times; here each changed node is encoded and hashed once and
 * only the nodes of the final trie are written. The root is the one the same puts one by one give
 * (checked in the unit tests). Deletions are not handled: callers take the library's path for them.
 */
export async function putSorted(trie: MerklePatriciaTrie, puts: [Uint8Array, Uint8Array][]): Promise<void> {
  if (puts.length === 0) return;
  const entries: Entry[] = puts.map(([key, value]) => ({ nibbles: toNibbles(wasmKeccak256(key)), value }));
  entries.sort((a, b) => compareNibbles(a.nibbles, b.nibbles));
  const db = trie.database();
  const writes: [Uint8Array, Uint8Array][] = [];
  const load = async (ref: Raw): Promise<Raw | undefined> => {
    if (Array.isArray(ref)) return ref;
    if (ref.length === 0) return undefined;
    const encoded = await db.get(ref);
    if (encoded === undefined)
      throw new Error(`trie batch: missing node ${Buffer.from(ref).toString("hex")}`);
    return RLP.decode(encoded) as Raw;
  };
  const ref = (node: Raw): Raw => {
    const encoded = encodeNode(node);
    if (encoded.length < 32) return node;
    const hash = wasmKeccak256(encoded);
    writes.push([hash, encoded]);
    return hash;
  };

  /** The node at `depth` after writing `items` (sorted, unique, all below this node) into `node`. */
  const update = async (node: Raw | undefined, items: Entry[], depth: number): Promise<Raw> => {
    if (node === undefined || !Array.isArray(node)) return build(items, depth);
    if (node.length === 17) {
      const branch = node.slice();
      let start = 0;
      while (start < items.length) {
        const nibble = items[start].nibbles[depth];
        let end = start + 1;
        while (end < items.length && items[end].nibbles[depth] === nibble) end++;
        const child = await load(branch[nibble]);
        branch[nibble] = ref(await update(child, items.slice(start, end), depth + 1));
        start = end;
      }
      return branch;
    }
    const [encodedPath, value] = node as [Uint8Array, Raw];
    const { path, leaf } = fromHexPrefix(encodedPath);
    const prefix = items[0].nibbles.subarray(0, depth);
    if (leaf) {
      // The existing key joins the new ones unless one of them replaces it.
      const existing = { nibbles: concat(prefix, path), value: value as Uint8Array };
      if (items.some((e) => compareNibbles(e.nibbles, existing.nibbles) === 0)) return build(items, depth);
      const merged = [...items, existing].sort((a, b) => compareNibbles(a.nibbles, b.nibbles));
      return build(merged, depth);
    }
    let shared = path.length;
    for (const e of items) shared = Math.min(shared, matching(e.nibbles, depth, path));
    if (shared === path.length) {
      const child = await update(await load(value), items, depth + path.length);
      return [toHexPrefix(path, false), ref(child)];
    }
    // Split the extension: a branch at depth + shared holds its remainder, then takes the items.
    const branch: Raw[] = new Array(17).fill(EMPTY);
    const rest = path.subarray(shared + 1);
    // The remainder stays unhashed until the items are in: some of them may go below it.
    const slot = path[shared];
    branch[slot] = rest.length === 0 ? value : [toHexPrefix(rest, false), value];
    const split = (await update(branch, items, depth + shared)) as Raw[];
    if (Array.isArray(split[slot])) split[slot] = ref(split[slot]);
    return shared === 0 ? split : [toHexPrefix(path.subarray(0, shared), false), ref(split)];
  };

  /** A new subtrie of `items` at `depth`. */
  const build = (items: Entry[], depth: number): Raw => {
    if (items.length === 1) return [toHexPrefix(items[0].nibbles.subarray(depth), true), items[0].value];
    const a = items[0].nibbles;
    const b = items[items.length - 1].nibbles;
    let shared = 0;
    while (depth + shared < a.length && a[depth + shared] === b[depth + shared]) shared++;
    if (shared > 0)
      return [toHexPrefix(a.subarray(depth, depth + shared), false), ref(build(items, depth + shared))];
    const branch: Raw[] = new Array(17).fill(EMPTY);
    let start = 0;
    while (start < items.length) {
      const nibble = items[start].nibbles[depth];
      let end = start + 1;
      while (end < items.length && items[end].nibbles[depth] === nibble) end++;
      branch[nibble] = ref(build(items.slice(start, end), depth + 1));
      start = end;
    }
    return branch;
  };

  // Unique keys: the last value given for a key wins, as with puts one by one.
  const unique: Entry[] = [];
  for (const e of entries) {
    const last = unique[unique.length - 1];
    if (last && compareNibbles(last.nibbles, e.nibbles) === 0) unique[unique.length - 1] = e;
    else unique.push(e);
  }
  const root = trie.root();
  const current = equal(root, trie.EMPTY_TRIE_ROOT) ? undefined : await load(root);
  const encoded = encodeNode(await update(current, unique, 0));
  const newRoot = wasmKeccak256(encoded);
  writes.push([newRoot, encoded]);
  await db.batch(writes.map(([key, value]) => ({ type: "put" as const, key, value })));
  trie.root(newRoot);
}

function matching(key: Uint8Array, depth: number, path: Uint8Array): number {
  let n = 0;
  while (n < path.length && key[depth + n] === path[n]) n++;
  return n;
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareNibbles(a, b) === 0;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
