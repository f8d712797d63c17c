import { Block, type BlockOptions, createBlock, type HeaderData } from "@ethereumjs/block";
import { RLP } from "@ethereumjs/rlp";
import type { TypedTransaction } from "@ethereumjs/tx";
import {
  type Address,
  bytesToBigInt,
  bytesToHex,
  createAddressFromString,
  equalsBytes,
  KECCAK256_RLP,
} from "@ethereumjs/util";
import {
  type BlockBuilder,
  Bloom,
  buildBlock,
  encodeReceipt,
  type RunTxResult,
  runTx,
  type VM,
} from "@ethereumjs/vm";
import type { LiveState } from "./liveState.ts";
import type { PoolTx, TxPool } from "./mempool.ts";
import { orderedTrieRoot } from "./orderedTrie.ts";
import { plainTransfer, plainTransfersApply } from "./plainTransfer.ts";
import type { TrieNodeDB } from "./store.ts";
import { readTrie, TrieNodeCorruptError, TrieNodeMissingError } from "./trieRead.ts";

/** A transaction that went into the block, with its execution result. */
export interface IncludedTx {
  tx: TypedTransaction;
  from: string;
  result: RunTxResult;
  poolHash?: string;
  /** The consensus receipt the block's receipts root commits to (set once the block is sealed). */
  receiptRlp?: Uint8Array;
}

/** A pool transaction whose execution threw out of the EVM: left out of the block and dropped. */
export interface FaultedTx {
  ptx: PoolTx;
  reason: string;
}

export interface BuiltBlock {
  block: Block;
  included: IncludedTx[];
  /** Refused cleanly by the VM (e.g. the balance no longer covers it): dropped from the pool. */
  dropped: { ptx: PoolTx; reason: string }[];
  faulted: FaultedTx[];
}

export interface BlockSpec {
  parent: Block;
  /** The state the block starts from (the parent's root, or the root after dev edits on it). */
  startRoot: Uint8Array;
  headerData: HeaderData;
  gasLimit: bigint;
  /** Exactly these transactions, in order (genesis predeploys); any failure aborts the block. */
  only?: TypedTransaction[];
  /** Otherwise: executable pool transactions by tip, with each sender's state nonce. */
  pool?: { pool: TxPool; baseFee: bigint; nonces: Map<string, bigint> };
}

/** A block could not be produced; the head and its state are unchanged. */
export class BlockProductionError extends Error {
  override name = "BlockProductionError";
}

/**
 * Errors that mean the node, not the transaction, failed: a bug (TypeError, ReferenceError), memory
 * or stack exhaustion (RangeError), or anything thrown that is not an Error at all. Their outcome
 * differs between machines, so the transaction must never be included with it.
 */
export function isNodeFault(err: unknown): boolean {
  return (
    !(err instanceof Error) ||
    err instanceof RangeError ||
    err instanceof TypeError ||
    err instanceof ReferenceError
  );
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

const BLOB_TX_TYPE = 3;

/** Gives RPC requests a turn between transactions of a big block. */
const YIELD_EVERY = 16;

/**
 * Builds one block on the live state. Every transaction runs inside the builder's checkpoint; one
 * that throws out of the EVM (leaving checkpoints open, so the state can no longer be trusted) is
 * dropped, the live VM is reopened at the block's start state and the transactions already taken
 * are re-run on it. The sealed block is verified against a fresh trie view before it is returned.
 * On any failure the live state is back at `startRoot` when this throws.
 */
export class BlockProducer {
  constructor(
    private readonly live: LiveState,
    private readonly trieDb: TrieNodeDB,
  ) {}

  async build(spec: BlockSpec): Promise<BuiltBlock> {
    try {
      return await this.buildOnce(spec);
    } catch (err) {
      await this.live.reset(spec.startRoot);
      if (err instanceof BlockProductionError) throw err;
      throw new BlockProductionError(
        `block ${spec.parent.header.number + 1n} was not produced (${message(err)}); the head and its state are unchanged`,
      );
    }
  }

  /**
   * The block `spec` would give, without sealing it: the transactions that would go in with their
   * results; the live state is rolled back to `startRoot` afterwards (eth_getBlockByNumber "pending").
   */
  async preview(spec: BlockSpec): Promise<{ included: IncludedTx[]; gasUsed: bigint }> {
    try {
      return await this.buildOnce(spec, true);
    } catch (err) {
      await this.live.reset(spec.startRoot);
      throw err;
    }
  }

  private async buildOnce(spec: BlockSpec): Promise<BuiltBlock>;
  private async buildOnce(
    spec: BlockSpec,
    dryRun: true,
  ): Promise<{ included: IncludedTx[]; gasUsed: bigint }>;
  private async buildOnce(
    spec: BlockSpec,
    dryRun = false,
  ): Promise<BuiltBlock | { included: IncludedTx[]; gasUsed: bigint }> {
    const included: IncludedTx[] = [];
    const dropped: BuiltBlock["dropped"] = [];
    const faulted: FaultedTx[] = [];
    let session = await this.session(spec);
    const recover = async () => {
      await this.live.reset(spec.startRoot);
      session = await this.session(spec);
      for (const inc of included) {
        const again = await this.tryAdd(session, inc.tx);
        if (!again.ok) throw new BlockProductionError(`re-running ${bytesToHex(inc.tx.hash())} failed`);
        inc.result = again.result;
      }
    };
    if (spec.only) {
      for (const tx of spec.only) {
        const r = await this.tryAdd(session, tx);
        if (!r.ok) throw new BlockProductionError(`transaction ${bytesToHex(tx.hash())}: ${r.reason}`);
        included.push({ tx, from: tx.getSenderAddress().toString(), result: r.result });
      }
    } else if (spec.pool) {
      const { pool, baseFee, nonces } = spec.pool;
      const order = pool.ordered(baseFee, (s) => nonces.get(s) ?? 0n);
      let step = order.next();
      while (!step.done) {
        const ptx = step.value;
        if (session.gasUsed() + ptx.tx.gasLimit > spec.gasLimit) {
          step = order.next(false);
          continue;
        }
        const r = await this.tryAdd(session, ptx.tx);
        if (r.ok) {
          included.push({ tx: ptx.tx, from: ptx.sender, result: r.result, poolHash: ptx.hashHex });
          if (included.length % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
          step = order.next(true);
          continue;
        }
        if (r.fault) {
          faulted.push({ ptx, reason: r.reason });
          await recover();
        } else {
          dropped.push({ ptx, reason: r.reason });
        }
        step = order.next(false);
      }
    }
    if (dryRun) {
      const gasUsed = session.gasUsed();
      await session.discard();
      return { included, gasUsed };
    }
    const block = await session.seal();
    const receipts = session.receiptEncodings();
    included.forEach((inc, i) => {
      inc.receiptRlp = receipts[i];
    });
    await this.verify(block, included);
    return { block, included, dropped, faulted };
  }

  private async tryAdd(
    session: Session,
    tx: TypedTransaction,
  ): Promise<{ ok: true; result: RunTxResult } | { ok: false; fault: boolean; reason: string }> {
    const depth = this.live.checkpointDepth();
    try {
      return { ok: true, result: await session.add(tx) };
    } catch (err) {
      const fault = depth === undefined || this.live.checkpointDepth() !== depth || isNodeFault(err);
      return { ok: false, fault, reason: message(err) };
    }
  }

  private async session(spec: BlockSpec): Promise<Session> {
    const builder = await buildBlock(this.live.vm, {
      parentBlock: spec.parent,
      headerData: { ...spec.headerData, gasLimit: spec.gasLimit },
      blockOpts: { putBlockIntoBlockchain: false },
    });
    return new Session(this.live.vm, builder);
  }

  /**
   * The sealed block's state root must resolve in the node store, and every account the block
   * touched must read there (a walk from the root through stored nodes only, see trieRead.ts) as
   * the live state has it, with each sender's nonce past its last included transaction. A block
   * that fails is never committed.
   */
  private async verify(block: Block, included: IncludedTx[]): Promise<void> {
    const root = block.header.stateRoot;
    const fail = (why: string) => {
      throw new BlockProductionError(
        `block ${block.header.number} failed verification before commit: ${why}; the head and its state are unchanged`,
      );
    };
    const empty = equalsBytes(root, KECCAK256_RLP);
    if (!empty && !this.trieDb.has(bytesToHex(root).slice(2))) {
      fail(`state root ${bytesToHex(root)} is not in the trie`);
    }
    const minNonce = new Map<string, bigint>();
    const touched = new Map<string, Address>();
    const touch = (a: Address | undefined) => {
      if (a) touched.set(a.toString(), a);
    };
    for (const inc of included) {
      const sender = createAddressFromString(inc.from);
      touch(sender);
      touch(inc.tx.to);
      touch(inc.result.createdAddress);
      const key = sender.toString();
      const next = inc.tx.nonce + 1n;
      if ((minNonce.get(key) ?? 0n) < next) minNonce.set(key, next);
    }
    const get = (key: string) => this.trieDb.getSync(key);
    for (const [key, address] of touched) {
      let fresh: Uint8Array | undefined;
      try {
        fresh = empty ? undefined : readTrie(get, root, address.bytes);
      } catch (err) {
        if (err instanceof TrieNodeMissingError || err instanceof TrieNodeCorruptError) {
          fail(`reading account ${key}: ${err.message}`);
        }
        throw err;
      }
      const live = await this.live.accountRLP(address);
      if (fresh === undefined ? live !== undefined : live === undefined || !equalsBytes(fresh, live)) {
        const show = (rlp: Uint8Array | undefined) => (rlp ? bytesToHex(rlp) : "none");
        fail(`account ${key} reads ${show(fresh)} from the trie but ${show(live)} from the live state`);
      }
      const want = minNonce.get(key);
      if (want === undefined) continue;
      const nonce = fresh === undefined ? 0n : bytesToBigInt((RLP.decode(fresh) as Uint8Array[])[0]);
      if (nonce < want) fail(`sender ${key} has nonce ${nonce}, expected at least ${want}`);
    }
  }
}

/** The parts of @ethereumjs's BlockBuilder that Session drives directly. */
interface BuilderInternals {
  headerData: HeaderData & { gasLimit: bigint };
  blockOpts: BlockOptions;
  transactions: TypedTransaction[];
  transactionResults: RunTxResult[];
  checkpointed: boolean;
  _minerValue: bigint;
}

/**
 * One block on @ethereumjs's BlockBuilder, which keeps the start-of-block system calls (EIP-4788,
 * EIP-2935), the requests, the roots and sealing. Transactions are run here rather than by its
 * addTransaction, which constructs a new header per transaction (a tenth of a block of transfers):
 * every transaction runs in one block object whose header equals the sealed one up to gasUsed and
 * the roots, which runTx does not read (the receipt's cumulative gas comes from `blockGasUsed`).
 * Blob transactions, and the EIPs that make the builder track more per transaction (7928, 8037),
 * go through the builder's own addTransaction.
 */
class Session {
  private readonly inner: BuilderInternals;
  private readonly runIn: Block;
  private readonly plain: boolean;
  /** Plain value transfers skip the EVM (plainTransfer.ts). */
  private readonly fastTransfers: boolean;
  private receipts: Uint8Array[] = [];

  constructor(
    private readonly vm: VM,
    private readonly builder: BlockBuilder,
  ) {
    const inner = builder as unknown as BuilderInternals;
    this.inner = inner;
    this.runIn = createBlock({ header: { ...inner.headerData, gasUsed: 0n } }, inner.blockOpts);
    this.plain = !vm.common.isActivatedEIP(7928) && !vm.common.isActivatedEIP(8037);
    this.fastTransfers = this.plain && plainTransfersApply(vm.common);
    // The header's transactions and receipts roots, without an MPT put per transaction.
    builder.transactionsTrie = async () => orderedTrieRoot(inner.transactions.map((tx) => tx.serialize()));
    // The block's bloom ORs the transactions' blooms, 256 bytes each; one with no logs has an empty one.
    builder.logsBloom = () => {
      const bloom = new Bloom(undefined, vm.common);
      for (const r of inner.transactionResults) if (r.execResult.logs?.length) bloom.or(r.bloom);
      return bloom.bitvector;
    };
    builder.receiptTrie = async () => {
      this.receipts = inner.transactionResults.map((r, i) => encodeReceipt(r.receipt, this.types[i]));
      return orderedTrieRoot(this.receipts);
    };
  }

  /** The transaction types, in order (seal empties the builder's list for a moment, see there). */
  private types: TypedTransaction["type"][] = [];

  /** Each transaction's consensus receipt, as the sealed block's receipts root has it. */
  receiptEncodings(): Uint8Array[] {
    return this.receipts;
  }

  gasUsed(): bigint {
    return this.builder.gasUsed;
  }

  /** As BlockBuilder.addTransaction: the same checks, state changes and gas accounting. */
  async add(tx: TypedTransaction): Promise<RunTxResult> {
    if (!this.plain || tx.type === BLOB_TX_TYPE) return this.builder.addTransaction(tx);
    const { inner, builder, vm } = this;
    if (tx.gasLimit > inner.headerData.gasLimit - builder.gasUsed) {
      throw new Error("tx has a higher gas limit than the remaining gas in the block");
    }
    if (!inner.checkpointed) {
      await vm.evm.journal.checkpoint();
      inner.checkpointed = true;
    }
    const result =
      (this.fastTransfers ? await plainTransfer(vm, tx, this.runIn, builder.gasUsed) : undefined) ??
      (await runTx(vm, { tx, block: this.runIn, blockGasUsed: builder.gasUsed }));
    inner.transactions.push(tx);
    inner.transactionResults.push(result);
    builder.gasUsed += result.blockGasSpent;
    inner._minerValue += result.minerValue;
    return result;
  }

  /** Rolls the live state back to where the block started. */
  async discard(): Promise<void> {
    await this.builder.revert();
  }

  /**
   * The builder's build (roots, requests, the state commit); the block it makes re-creates every
   * transaction from its fields (createBlock), which drops what admission remembered on each (its
   * sender and encoding) and so re-encodes them all when the block is stored. The sealed block here
   * holds the transactions that ran, under the header build made.
   */
  async seal(): Promise<Block> {
    const { inner, builder } = this;
    const txs = inner.transactions;
    this.types = txs.map((tx) => tx.type);
    if (!this.plain) return (await builder.build()).block;
    const txRoot = orderedTrieRoot(txs.map((tx) => tx.serialize()));
    builder.transactionsTrie = async () => txRoot;
    inner.transactions = [];
    let built: Block;
    try {
      built = (await builder.build()).block;
    } finally {
      inner.transactions = txs;
    }
    return new Block(built.header, txs, [], built.withdrawals, inner.blockOpts);
  }
}
