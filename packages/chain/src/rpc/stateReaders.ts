import { bytesToHex } from "@ethereumjs/util";
import { CallReads, CallStateManager } from "../callState.ts";
import { TrieReadMemo } from "../memoTrie.ts";
import type { ChainNode } from "../node.ts";

/** State roots with a reader kept (the head's and a few recent ones wallets still ask about). */
const ROOTS_KEPT = 4;
/** Requests one reader serves before it is rebuilt (its storage tries are never dropped otherwise). */
const USES = 10_000;

/**
 * Read-only state at a root for eth_getBalance, eth_getTransactionCount, eth_getCode and
 * eth_getStorageAt. Wallets poll these; building a state manager and walking the trie per request
 * cost several times the lookup itself, so one reader per root is kept and its reads remembered.
 */
export class StateReaders {
  private readonly memo = new TrieReadMemo();
  private readonly reads = new CallReads();
  private readonly byRoot = new Map<string, { state: CallStateManager; uses: number }>();

  constructor(private readonly node: ChainNode) {}

  at(root: Uint8Array): CallStateManager {
    const key = bytesToHex(root);
    let entry = this.byRoot.get(key);
    if (!entry || entry.uses >= USES) {
      if (!entry && this.byRoot.size >= ROOTS_KEPT)
        this.byRoot.delete(this.byRoot.keys().next().value as string);
      const base = this.node.stateAt(root, this.memo);
      entry = { state: CallStateManager.over(base, this.reads, root, { caches: false }), uses: 0 };
      this.byRoot.set(key, entry);
    }
    entry.uses++;
    return entry.state;
  }
}
