import { type Block, createBlockFromRLP } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import type { StoredReceipt } from "./receipts.ts";
import type { ChainStore, StoredLog } from "./store.ts";

const BLOCK_CACHE = 64;

/** The canonical chain: the head block, blocks by number and hash (recent ones cached), and writes. */
export class BlockIndex {
  private headBlock!: Block;
  private readonly cache = new Map<number, Block>();

  constructor(
    private readonly store: ChainStore,
    private readonly common: Common,
  ) {}

  get head(): Block {
    return this.headBlock;
  }

  /** Makes a stored block the head (on start). */
  resumeAt(number: number): Block | undefined {
    const rlp = this.store.blockRlp(number);
    if (!rlp) return undefined;
    this.headBlock = createBlockFromRLP(rlp, { common: this.common });
    this.remember(this.headBlock);
    return this.headBlock;
  }

  byNumber(n: bigint): Block | undefined {
    if (n < 0n || n > this.headBlock?.header.number) return undefined;
    const key = Number(n);
    const cached = this.cache.get(key);
    if (cached) return cached;
    const rlp = this.store.blockRlp(key);
    if (!rlp) return undefined;
    const block = createBlockFromRLP(rlp, { common: this.common });
    this.remember(block);
    return block;
  }

  byHash(hash: Uint8Array): Block | undefined {
    const n = this.store.blockNumberByHash(hash);
    return n === undefined ? undefined : this.byNumber(BigInt(n));
  }

  /** Stores a sealed block with its receipts, logs and trie nodes, and makes it the head. */
  append(
    block: Block,
    receipts: StoredReceipt[],
    logs: StoredLog[],
    meta: Record<string, string | null>,
  ): void {
    const number = Number(block.header.number);
    this.store.commitBlock(
      {
        number,
        hash: block.hash(),
        stateRoot: block.header.stateRoot,
        rlp: block.serialize(),
        receipts,
        logs,
      },
      { ...meta, head: String(number) },
    );
    this.headBlock = block;
    this.remember(block);
  }

  /** Drops every block above `number` and makes it the head (evm_revert, state rebuild). */
  truncateAbove(number: number, meta: Record<string, string | null>): Block {
    const block = this.byNumber(BigInt(number));
    if (!block) throw new Error(`block ${number} is missing`);
    this.store.truncateAbove(number, { ...meta, head: String(number) });
    for (const n of [...this.cache.keys()]) if (n > number) this.cache.delete(n);
    this.headBlock = block;
    return block;
  }

  private remember(block: Block): void {
    if (this.cache.size >= BLOCK_CACHE) {
      const first = this.cache.keys().next().value;
      if (first !== undefined) this.cache.delete(first);
    }
    this.cache.set(Number(block.header.number), block);
  }
}
