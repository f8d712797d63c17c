import type { Block } from "@ethereumjs/block";
import { Account, bytesToHex, createAddressFromString } from "@ethereumjs/util";
import type { SerialQueue } from "@openledger/common";
import type { BlockIndex } from "./blocks.ts";
import { quantity } from "./format.ts";
import type { LiveState } from "./liveState.ts";
import type { TxPool } from "./mempool.ts";
import type { ChainStore } from "./store.ts";

/**
 * Block timestamps: wall-clock seconds plus the offset evm_increaseTime added (kept in the store),
 * or the one evm_setNextBlockTimestamp asked for; never before the parent's.
 */
export class BlockClock {
  private offsetSeconds: bigint;
  private next: bigint | undefined;

  constructor(private readonly store: ChainStore) {
    this.offsetSeconds = BigInt(store.getMeta("timeOffset") ?? "0");
  }

  get offset(): bigint {
    return this.offsetSeconds;
  }

  set offset(seconds: bigint) {
    this.offsetSeconds = seconds;
    this.store.commitState({ timeOffset: seconds.toString() });
  }

  setNext(timestamp: bigint): void {
    this.next = timestamp;
  }

  /** The timestamp the next block would get now, without using up the one set for next. */
  peekTimestampFor(parent: Block): bigint {
    const ts = this.next ?? BigInt(Math.floor(Date.now() / 1000)) + this.offsetSeconds;
    return notBefore(parent, ts);
  }

  /**
   * The timestamp of the child of `parent` (an explicit one wins, then the one set for next). As in
   * anvil, a timestamp set for the next block moves the clock: later blocks continue from it.
   */
  timestampFor(parent: Block, explicit?: bigint): bigint {
    const wall = BigInt(Math.floor(Date.now() / 1000));
    const exact = explicit ?? this.next;
    this.next = undefined;
    const ts = notBefore(parent, exact ?? wall + this.offsetSeconds);
    if (exact !== undefined && ts - wall !== this.offsetSeconds) this.offset = ts - wall;
    return ts;
  }
}

/**
 * As anvil does: blocks mined within the same second share its timestamp, so a burst of automined
 * blocks does not run the chain's clock ahead of the wall clock (evm_increaseTime then moves it by
 * exactly what was asked); a timestamp behind the parent's becomes the parent's plus one.
 */
function notBefore(parent: Block, ts: bigint): bigint {
  return ts < parent.header.timestamp ? parent.header.timestamp + 1n : ts;
}

/** What the dev controls change: the live state, the chain and the pool, one task at a time. */
export interface DevContext {
  queue: SerialQueue;
  live: LiveState;
  store: ChainStore;
  blocks: BlockIndex;
  pool: TxPool;
  clock: BlockClock;
  stateNonce: (address: string) => Promise<bigint>;
}

/**
 * The anvil_* / evm_* test controls: balances set outside blocks, time travel, and snapshots that
 * evm_revert returns to (dropping the blocks above).
 */
export class DevControls {
  private readonly snapshots = new Map<string, { head: number; timeOffset: bigint }>();
  private snapshotSeq = 0;

  constructor(private readonly ctx: DevContext) {}

  /** anvil_setBalance: the head state changes without a block (its root is kept in the store). */
  setBalance(address: string, balance: bigint): Promise<void> {
    const { queue, live, store } = this.ctx;
    return queue.run(async () => {
      const sm = live.vm.stateManager;
      const addr = createAddressFromString(address);
      await sm.checkpoint();
      const acct = (await sm.getAccount(addr)) ?? new Account();
      acct.balance = balance;
      await sm.putAccount(addr, acct);
      await sm.commit();
      store.commitState({ stateRoot: bytesToHex(await sm.getStateRoot()) });
    });
  }

  increaseTime(seconds: bigint): bigint {
    this.ctx.clock.offset += seconds;
    return this.ctx.clock.offset;
  }

  setNextBlockTimestamp(ts: bigint): void {
    this.ctx.clock.setNext(ts);
  }

  snapshot(): string {
    const id = quantity(++this.snapshotSeq);
    this.snapshots.set(id, {
      head: Number(this.ctx.blocks.head.header.number),
      timeOffset: this.ctx.clock.offset,
    });
    return id;
  }

  revert(id: string): Promise<boolean> {
    const { queue, live, blocks, pool, clock } = this.ctx;
    return queue.run(async () => {
      const snap = this.snapshots.get(id);
      if (!snap) return false;
      for (const key of [...this.snapshots.keys()]) {
        if (BigInt(key) >= BigInt(id)) this.snapshots.delete(key);
      }
      if (!blocks.byNumber(BigInt(snap.head))) return false;
      const block = blocks.truncateAbove(snap.head, { stateRoot: null });
      clock.offset = snap.timeOffset;
      await live.vm.stateManager.setStateRoot(block.header.stateRoot);
      for (const sender of pool.senders()) pool.dropStale(sender, await this.ctx.stateNonce(sender));
      return true;
    });
  }
}
