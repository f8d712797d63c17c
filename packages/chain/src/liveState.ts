import type { Common } from "@ethereumjs/common";
import type { EVMMockBlockchainInterface } from "@ethereumjs/evm";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { type Address, ValueEncoding } from "@ethereumjs/util";
import { createVM, type VM } from "@ethereumjs/vm";
import { DecodedAccountsStateManager } from "./accountCache.ts";
import type { PrecompileRegistry } from "./precompiles.ts";
import type { TrieNodeDB } from "./store.ts";

/**
 * The VM over the head state: the only writer of the state trie. Block production, admission and
 * the dev controls all go through `vm`. After a fault (an exception thrown out of the EVM, which can
 * leave @ethereumjs checkpoints open) the whole VM is replaced by `reset`, so no half-applied
 * transaction can leak into a later block.
 */
export class LiveState {
  vm!: VM;

  constructor(
    private readonly common: Common,
    private readonly trieDb: TrieNodeDB,
    private readonly registry: PrecompileRegistry,
    private readonly blockchain: EVMMockBlockchainInterface,
  ) {}

  /** A fresh VM at `root` (undefined: the empty state of a new chain). */
  async open(root?: Uint8Array): Promise<void> {
    const stateManager = new DecodedAccountsStateManager({
      common: this.common,
      // code is stored under "c" + its hash, a key longer than a trie node's: reachableNodes keeps
      // code by that length when it prunes a block's writes (this is @ethereumjs's default, made explicit)
      prefixCodeHashes: true,
      trie: new MerklePatriciaTrie({
        db: this.trieDb,
        useKeyHashing: true,
        valueEncoding: ValueEncoding.Bytes,
        common: this.common,
      }),
    });
    if (root) await stateManager.setStateRoot(root);
    this.vm = await createVM({
      common: this.common,
      stateManager,
      blockchain: this.blockchain,
      evmOpts: { customPrecompiles: this.registry.toEvm() },
    });
    // The hardfork never changes; EVMs created on the shared Common must not pile up listeners.
    this.common.events.removeAllListeners("hardforkChanged");
  }

  /** The account's RLP as the live state has it (as the trie will hold it), or undefined when absent. */
  async accountRLP(address: Address): Promise<Uint8Array | undefined> {
    const sm = this.vm.stateManager;
    if (sm instanceof DecodedAccountsStateManager) return sm.accountRLP(address);
    return (await sm.getAccount(address))?.serialize();
  }

  /** Drops the VM and every trie node written since the last commit, and reopens at `root`. */
  async reset(root: Uint8Array): Promise<void> {
    this.trieDb.discardUnwritten();
    await this.open(root);
  }

  /**
   * How many state checkpoints are open. A transaction that @ethereumjs refuses cleanly leaves this
   * unchanged; one that throws out of the EVM mid-call does not.
   */
  checkpointDepth(): number | undefined {
    const depth = (this.vm.stateManager as unknown as { _checkpointCount?: unknown })._checkpointCount;
    return typeof depth === "number" ? depth : undefined;
  }
}
