import { bytesToUnprefixedHex } from "@ethereumjs/util";
import { listItems, type RlpItem } from "./trieRead.ts";

/**
 * Node keys are unprefixed hex keccak hashes; other keys in the node database (contract code, stored
 * under a prefixed hash because LiveState sets `prefixCodeHashes`) are longer.
 */
const NODE_KEY_LENGTH = 64;

/**
 * The entries of `fresh` (trie nodes and code written since the last commit) that the state at
 * `stateRoot` uses. @ethereumjs's trie writes a new node for every step of the path on every put,
 * so most nodes a block writes are replaced again later in the same block: for a block of 1,000
 * transfers about five times the nodes (fourteen times the bytes) its final state has. Walks the account trie from the
 * root, and each account's storage trie from its storage root, through fresh nodes only (a node
 * that is not fresh was stored by an earlier commit, and so was everything below it). Contract
 * code is always kept.
 */
export function reachableNodes(
  stateRoot: Uint8Array,
  fresh: Map<string, Uint8Array>,
): [string, Uint8Array][] {
  const keep = new Map<string, Uint8Array>();
  for (const [key, value] of fresh) if (key.length !== NODE_KEY_LENGTH) keep.set(key, value);
  const visit = (hash: Uint8Array, accounts: boolean) => {
    const key = bytesToUnprefixedHex(hash);
    const encoded = fresh.get(key);
    if (encoded === undefined || keep.has(key)) return;
    keep.set(key, encoded);
    walk(encoded, accounts);
  };
  /** A child reference inside `node`: an embedded node (a list) or a 32-byte hash. */
  const child = (node: Uint8Array, ref: RlpItem, accounts: boolean) => {
    if (ref.list) walk(node.subarray(ref.at, ref.end), accounts);
    else if (ref.end - ref.start === 32) visit(node.subarray(ref.start, ref.end), accounts);
  };
  const walk = (node: Uint8Array, accounts: boolean) => {
    const items = listItems(node);
    if (items.length === 17) {
      for (let i = 0; i < 16; i++) child(node, items[i], accounts);
      return;
    }
    if (items.length !== 2 || items[0].list || items[0].end === items[0].start) return;
    const leaf = node[items[0].start] >> 4 >= 2;
    const value = items[1];
    if (!leaf) child(node, value, accounts);
    else if (accounts && !value.list) {
      // An account: [nonce, balance, storageRoot, codeHash].
      const account = node.subarray(value.start, value.end);
      if (account.length === 0 || account[0] < 0xc0) return;
      const storageRoot = listItems(account)[2];
      if (storageRoot && !storageRoot.list && storageRoot.end - storageRoot.start === 32) {
        visit(account.subarray(storageRoot.start, storageRoot.end), false);
      }
    }
  };
  visit(stateRoot, true);
  return [...keep];
}
