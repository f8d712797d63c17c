import type { Block } from "@ethereumjs/block";
import { bytesToHex, equalsBytes, KECCAK256_RLP } from "@ethereumjs/util";
import { runBlock } from "@ethereumjs/vm";
import type { LiveState } from "./liveState.ts";
import type { ChainStore } from "./store.ts";

export interface RebuildOutcome {
  /** The block whose state the live VM now holds (the new head). */
  head: number;
  /** Where re-execution started: the last block whose state was still present. */
  from: number;
  /** Blocks above `head` that did not re-execute to their recorded state root (dropped). */
  dropped: { from: number; to: number; reason: string } | undefined;
}

function hasState(store: ChainStore, root: Uint8Array): boolean {
  return equalsBytes(root, KECCAK256_RLP) || store.trie.has(bytesToHex(root).slice(2));
}

/**
 * Rebuilds the head state of a data dir whose state trie lost it: finds the last block whose
 * state is present, re-executes the stored blocks after it (each must reproduce its recorded
 * state root) and writes the trie nodes. A block that does not reproduce its root, and every block
 * after it, cannot be trusted: the caller truncates the chain to `head`.
 */
export async function rebuildState(
  live: LiveState,
  store: ChainStore,
  blockByNumber: (n: number) => Block | undefined,
  head: number,
): Promise<RebuildOutcome> {
  let from = head;
  while (from > 0 && !hasState(store, blockOrThrow(blockByNumber, from).header.stateRoot)) from--;
  const base = blockOrThrow(blockByNumber, from);
  if (!hasState(store, base.header.stateRoot))
    throw new Error("cannot rebuild: even the genesis state is missing; start a new --datadir");
  await live.reset(base.header.stateRoot);
  for (let n = from + 1; n <= head; n++) {
    const block = blockOrThrow(blockByNumber, n);
    try {
      await runBlock(live.vm, {
        block,
        skipBlockValidation: true,
        skipHeaderValidation: true,
        skipHardForkValidation: true,
        setHardfork: false,
      });
    } catch (err) {
      await live.reset(blockOrThrow(blockByNumber, n - 1).header.stateRoot);
      const reason = err instanceof Error ? err.message : String(err);
      return { head: n - 1, from, dropped: { from: n, to: head, reason } };
    }
    store.commitState({ stateRoot: null });
  }
  return { head, from, dropped: undefined };
}

function blockOrThrow(blockByNumber: (n: number) => Block | undefined, n: number): Block {
  const block = blockByNumber(n);
  if (!block) throw new Error(`cannot rebuild: block ${n} is missing from chain.sqlite`);
  return block;
}
