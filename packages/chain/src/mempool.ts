import type { TypedTransaction } from "@ethereumjs/tx";
import { TxRejectedError } from "./errors.ts";

/** A transaction in the pool with what ordering and replacement need, computed once. */
export interface PoolTx {
  tx: TypedTransaction;
  raw: Uint8Array;
  hash: Uint8Array;
  hashHex: string;
  sender: string;
  nonce: bigint;
  maxFee: bigint;
  tip: bigint;
  seq: number;
}

export interface PoolLimits {
  /** Transactions one sender may hold in the pool. */
  perSender: number;
  /** Transactions in the pool altogether. */
  total: number;
  /** How far past the sender's next nonce a queued transaction may be. */
  maxNonceGap: number;
}

export const DEFAULT_POOL_LIMITS: PoolLimits = { perSender: 1024, total: 16384, maxNonceGap: 64 };

/** The price bump a replacement needs, in percent (geth's default). */
const PRICE_BUMP = 10n;

/**
 * Pending and queued transactions, per sender by nonce. The node checks state (nonce, balance);
 * the pool checks its own rules: duplicates, replacement bump, nonce gaps and limits.
 */
export class TxPool {
  private readonly bySender = new Map<string, Map<bigint, PoolTx>>();
  private readonly byHash = new Map<string, PoolTx>();
  /** Per sender, nonces [from, to) known to be all in the pool; forgotten when one of its transactions leaves. */
  private readonly runs = new Map<string, { from: bigint; to: bigint }>();
  private seq = 0;

  constructor(readonly limits: PoolLimits = DEFAULT_POOL_LIMITS) {}

  get size(): number {
    return this.byHash.size;
  }

  get(hashHex: string): PoolTx | undefined {
    return this.byHash.get(hashHex);
  }

  /** The next nonce for `sender` counting its contiguous pool transactions after `stateNonce`. */
  nextNonce(sender: string, stateNonce: bigint): bigint {
    const txs = this.bySender.get(sender);
    const run = this.runs.get(sender);
    let from = stateNonce;
    let n = stateNonce;
    // Resume after the run found last time instead of walking every pooled nonce again (each
    // admission asks, so the walk made a sender's burst quadratic).
    if (run && run.from <= stateNonce && stateNonce <= run.to) {
      from = run.from;
      n = run.to;
    }
    while (txs?.has(n)) n++;
    if (txs) this.runs.set(sender, { from, to: n });
    return n;
  }

  /** Adds a transaction the node has checked against state; returns the one it replaced, if any. */
  add(entry: Omit<PoolTx, "seq">, stateNonce: bigint): PoolTx | undefined {
    if (this.byHash.has(entry.hashHex)) throw new TxRejectedError("already known");
    const txs = this.bySender.get(entry.sender) ?? new Map<bigint, PoolTx>();
    const existing = txs.get(entry.nonce);
    if (existing) {
      const minFee = existing.maxFee + (existing.maxFee * PRICE_BUMP) / 100n;
      const minTip = existing.tip + (existing.tip * PRICE_BUMP) / 100n;
      if (entry.maxFee < minFee || entry.tip < minTip)
        throw new TxRejectedError("replacement transaction underpriced");
    } else {
      const next = this.nextNonce(entry.sender, stateNonce);
      if (entry.nonce > next + BigInt(this.limits.maxNonceGap)) {
        throw new TxRejectedError(`nonce too high: next nonce ${next}, tx nonce ${entry.nonce}`);
      }
      if (txs.size >= this.limits.perSender) throw new TxRejectedError("account limit exceeded");
      if (this.byHash.size >= this.limits.total) throw new TxRejectedError("txpool is full");
    }
    const added: PoolTx = { ...entry, seq: this.seq++ };
    if (existing) this.byHash.delete(existing.hashHex);
    txs.set(entry.nonce, added);
    this.bySender.set(entry.sender, txs);
    this.byHash.set(added.hashHex, added);
    return existing;
  }

  remove(hashHex: string): PoolTx | undefined {
    const entry = this.byHash.get(hashHex);
    if (!entry) return undefined;
    this.byHash.delete(hashHex);
    this.runs.delete(entry.sender);
    const txs = this.bySender.get(entry.sender);
    txs?.delete(entry.nonce);
    if (txs?.size === 0) this.bySender.delete(entry.sender);
    return entry;
  }

  /** Removes a sender's transactions whose nonce is below its new state nonce; returns them. */
  dropStale(sender: string, stateNonce: bigint): PoolTx[] {
    const txs = this.bySender.get(sender);
    if (!txs) return [];
    const stale = [...txs.values()].filter((t) => t.nonce < stateNonce);
    for (const t of stale) this.remove(t.hashHex);
    return stale;
  }

  senders(): string[] {
    return [...this.bySender.keys()];
  }

  /**
   * Executable transactions in block order: per sender by nonce from its state nonce, across
   * senders by effective tip at `baseFee` (highest first), then arrival.
   */
  *ordered(
    baseFee: bigint,
    stateNonce: (sender: string) => bigint,
  ): Generator<PoolTx, void, boolean | undefined> {
    const tipOf = (t: PoolTx) => {
      const room = t.maxFee - baseFee;
      // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.min takes numbers
      return room < t.tip ? room : t.tip;
    };
    // Each sender's next transaction, with its effective tip worked out once (undefined: below the
    // base fee). Looked up again on every step: the pool can change while a block is being built.
    interface Head {
      next: bigint;
      txs: Map<bigint, PoolTx>;
      cand: PoolTx | undefined;
      tip: bigint | undefined;
    }
    const heads: Head[] = [];
    for (const [sender, txs] of this.bySender) {
      heads.push({ next: stateNonce(sender), txs, cand: undefined, tip: undefined });
    }
    for (;;) {
      let best: Head | undefined;
      let bestAt = -1;
      for (let i = 0; i < heads.length; i++) {
        const h = heads[i];
        const cand = h.txs.get(h.next);
        if (cand !== h.cand) {
          h.cand = cand;
          h.tip = cand && cand.maxFee >= baseFee ? tipOf(cand) : undefined;
        }
        if (h.tip === undefined || !h.cand) continue;
        if (
          best?.tip === undefined ||
          !best.cand ||
          h.tip > best.tip ||
          (h.tip === best.tip && h.cand.seq < best.cand.seq)
        ) {
          best = h;
          bestAt = i;
        }
      }
      if (!best?.cand) return;
      // The consumer answers false when the transaction did not go in: skip the rest of that sender.
      const included = yield best.cand;
      if (included === false) heads.splice(bestAt, 1);
      else best.next++;
    }
  }

  /** txpool_content shape: pending (contiguous from state nonce) and queued, by sender and nonce. */
  content(stateNonce: (sender: string) => bigint): {
    pending: Map<string, PoolTx[]>;
    queued: Map<string, PoolTx[]>;
  } {
    const pending = new Map<string, PoolTx[]>();
    const queued = new Map<string, PoolTx[]>();
    for (const [sender, txs] of this.bySender) {
      let next = stateNonce(sender);
      for (const t of [...txs.values()].sort((a, b) => (a.nonce < b.nonce ? -1 : 1))) {
        const target = t.nonce === next ? pending : queued;
        if (t.nonce === next) next++;
        target.set(sender, [...(target.get(sender) ?? []), t]);
      }
    }
    return { pending, queued };
  }

  all(): PoolTx[] {
    return [...this.byHash.values()];
  }
}
