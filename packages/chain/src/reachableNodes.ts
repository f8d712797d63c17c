import { RLP } from "@ethereumjs/rlp";
import { bytesToUnprefixedHex } from "@ethereumjs/util";

/** A decoded trie node: a branch of 17 items or a leaf / extension of 2; inline children are arrays. */
type Decoded = Uint8Array | Decoded[];

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
    walk(RLP.decode(encoded) as Decoded, accounts);
  };
  const child = (ref: Decoded, accounts: boolean) => {
    if (Array.isArray(ref)) walk(ref, accounts);
    else if (ref.length === 32) visit(ref, accounts);
  };
  const walk = (node: Decoded, accounts: boolean) => {
    if (!Array.isArray(node)) return;
    if (node.length === 17) {
      for (let i = 0; i < 16; i++) child(node[i], accounts);
      return;
    }
    const [path, value] = node;
    if (!(path instanceof Uint8Array) || path.length === 0) return;
    const leaf = path[0] >> 4 >= 2;
    if (!leaf) child(value, accounts);
    else if (accounts && value instanceof Uint8Array) {
      // An account: [nonce, balance, storageRoot, codeHash].
      const storageRoot = (RLP.decode(value) as Uint8Array[])[2];
      if (storageRoot instanceof Uint8Array && storageRoot.length === 32) visit(storageRoot, false);
    }
  };
  visit(stateRoot, true);
  return [...keep];
}
