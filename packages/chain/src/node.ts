import { EventEmitter } from "node:events";
import { join } from "node:path";
import { type Block, createBlock } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import type { EVMMockBlockchainInterface } from "@ethereumjs/evm";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { Caches, MerkleStateManager } from "@ethereumjs/statemanager";
import type { TypedTransaction } from "@ethereumjs/tx";
import {
  bytesToBigInt,
  bytesToHex,
  createAddressFromString,
  equalsBytes,
  hexToBytes,
  KECCAK256_RLP,
  ValueEncoding,
} from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { SerialQueue } from "@openledger/common";
import { keccak256 } from "viem";
import { Admission, faultRefusal } from "./admission.ts";
import { BlockProducer, type BuiltBlock } from "./blockProduction.ts";
import { BlockIndex } from "./blocks.ts";
import {
  createChainCommon,
  createSharedCommon,
  DEFAULT_BLOCK_GAS_LIMIT,
  DEFAULT_CHAIN_ID,
} from "./chainConfig.ts";
import { fastCrypto } from "./crypto.ts";
import { type DevAccount, deriveDevAccounts } from "./devAccounts.ts";
import { BlockClock, DevControls } from "./devControls.ts";
import { StateMissingError, TxRejectedError } from "./errors.ts";
import type { RpcLog } from "./format.ts";
import {
  createGenesisBlock,
  type GenesisTransaction,
  packIntoBlocks,
  signGenesisTransactions,
} from "./genesis.ts";
import { toHex } from "./hex.ts";
import { installJumpAnalysisCache } from "./jumpAnalysisCache.ts";
import { LiveState } from "./liveState.ts";
import { MemoTrie, type TrieReadMemo } from "./memoTrie.ts";
import { DEFAULT_POOL_LIMITS, type PoolLimits, TxPool } from "./mempool.ts";
import { PendingLog } from "./pendingLog.ts";
import { merkleMultiproofPrecompile, type PrecompileDefinition, PrecompileRegistry } from "./precompiles.ts";
import {
  type ConsensusLog,
  formatLog,
  formatReceipt,
  type ReceiptJson,
  type StoredReceipt,
} from "./receipts.ts";
import { SenderRecovery } from "./recovery.ts";
import { rebuildState } from "./stateRebuild.ts";
import { ChainStore, OverlayDB, type StoredLog } from "./store.ts";

export type { GenesisTransaction } from "./genesis.ts";

export interface NodeOptions {
  datadir: string;
  /** Default 1337 (see chainConfig.ts). */
  chainId?: bigint | number;
  /** Seconds between blocks when not automining; 0 disables the timer. Default 1. */
  blockTime?: number;
  /** Mine one block per transaction as soon as it arrives (before eth_sendRawTransaction answers). */
  automine?: boolean;
  /** How many test-mnemonic accounts to fund at genesis (default 10) and with how much (default 10,000 OPEN). */
  devAccounts?: number;
  devBalance?: bigint;
  /** Extra accounts funded at genesis. */
  genesisAccounts?: { address: `0x${string}`; balance: bigint }[];
  /** Run from dev account 0 right after genesis on a fresh chain; results in `genesisResults`. */
  genesisTransactions?: GenesisTransaction[];
  /** Precompiles besides the built-in Merkle multiproof verifier. */
  precompiles?: PrecompileDefinition[];
  /** The gas limit of every block, genesis included (default 30,000,000). */
  blockGasLimit?: bigint;
  pool?: Partial<PoolLimits>;
  /** When the head block's state is missing from the data dir, re-execute stored blocks to rebuild it. */
  rebuildState?: boolean;
  /** Worker threads for sender recovery (default: 1 with native libsecp256k1, else min(4, cores - 1); 0 recovers on the main thread). */
  recoveryThreads?: number;
}

export interface MinedBlockEvent {
  block: Block;
  logs: RpcLog[];
}

const ONE_OPEN = 10n ** 18n;
const ZERO32 = new Uint8Array(32);
/** The pending log is rewritten with just the pool once it grows past this (it is emptied whenever the pool is). */
const PENDING_LOG_COMPACT_BYTES = 64 * 1024 * 1024;
/** Recent drops remembered for automine's answers (older ones are forgotten first; faults are admission's). */
const DROP_MEMORY = 1024;

/**
 * The OpenLedger L2 execution node: @ethereumjs VM over a SQLite-backed state trie, a mempool and
 * block production. This class opens the chain and ties the parts together; each verb lives in its
 * own module: genesis (genesis.ts), block production (blockProduction.ts), transaction admission
 * (admission.ts), dev controls (devControls.ts). Emits "block" (MinedBlockEvent) after each block
 * is durably stored, "pendingTransaction" (hash) for each accepted transaction and "dropped".
 */
export class ChainNode extends EventEmitter {
  readonly chainId: bigint;
  readonly common: Common;
  readonly devAccounts: DevAccount[];
  readonly precompiles: PrecompileRegistry;
  readonly pool: TxPool;
  readonly blockGasLimit: bigint;
  readonly automine: boolean;
  readonly blockTime: number;
  readonly blockchain: EVMMockBlockchainInterface;
  /** What the genesis transactions did (in order), on the run that created the chain. */
  readonly genesisResults: { label?: string; address?: string; hash: string; blockNumber: number }[] = [];
  private readonly store: ChainStore;
  private readonly blocks: BlockIndex;
  private readonly clock: BlockClock;
  private readonly live: LiveState;
  private readonly producer: BlockProducer;
  private readonly admission: Admission;
  private readonly dev: DevControls;
  /** Serialises everything that writes the live state (blocks, dev edits). */
  private readonly queue = new SerialQueue();
  private readonly recovery: SenderRecovery;
  private pendingLog!: PendingLog;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  /** Why recent blocks dropped pool transactions the VM refused, by hash (automine answers with it). */
  private readonly drops = new Map<string, string>();

  private constructor(opts: NodeOptions, store: ChainStore, common: Common, registry: PrecompileRegistry) {
    super();
    this.setMaxListeners(0);
    this.chainId = BigInt(opts.chainId ?? DEFAULT_CHAIN_ID);
    this.common = common;
    this.store = store;
    this.precompiles = registry;
    this.devAccounts = deriveDevAccounts(opts.devAccounts ?? 10);
    this.pool = new TxPool({ ...DEFAULT_POOL_LIMITS, ...opts.pool });
    this.blockGasLimit = opts.blockGasLimit ?? DEFAULT_BLOCK_GAS_LIMIT;
    this.automine = opts.automine ?? false;
    this.blockTime = opts.blockTime ?? 1;
    this.recovery = new SenderRecovery(opts.recoveryThreads);
    this.blocks = new BlockIndex(store, common);
    this.clock = new BlockClock(store);
    this.blockchain = {
      getBlock: async (n: number) => this.blocks.byNumber(BigInt(n)) ?? { hash: () => ZERO32 },
      putBlock: async () => {},
      shallowCopy() {
        return this;
      },
    };
    this.live = new LiveState(common, store.trie, registry, this.blockchain);
    this.producer = new BlockProducer(this.live, store.trie);
    this.admission = new Admission({
      common,
      chainId: this.chainId,
      blockGasLimit: this.blockGasLimit,
      pool: this.pool,
      pendingLog: () => this.pendingLog,
      recovery: this.recovery,
      baseFee: () => this.baseFee,
      account: (address) => this.vm.stateManager.getAccount(address),
      announce: (hash) => this.emit("pendingTransaction", hash),
    });
    this.dev = new DevControls({
      queue: this.queue,
      live: this.live,
      store,
      blocks: this.blocks,
      pool: this.pool,
      clock: this.clock,
      stateNonce: (address) => this.stateNonce(address),
    });
  }

  static async create(opts: NodeOptions): Promise<ChainNode> {
    await installJumpAnalysisCache();
    const chainId = BigInt(opts.chainId ?? DEFAULT_CHAIN_ID);
    const common = createSharedCommon(createChainCommon(chainId, fastCrypto()));
    const store = new ChainStore(opts.datadir);
    const storedChain = store.getMeta("chainId");
    if (storedChain !== undefined && BigInt(storedChain) !== chainId) {
      store.close();
      throw new Error(
        `datadir ${opts.datadir} holds chain ${storedChain}, not ${chainId}; use another --datadir`,
      );
    }
    // A chain keeps the gas limit it was created with (EIP-1559 lets it move only 1/1024 a block): an
    // existing data dir gives it, and another one is refused.
    const chainGas = genesisGasLimit(store);
    if (
      chainGas !== undefined &&
      opts.blockGasLimit !== undefined &&
      BigInt(opts.blockGasLimit) !== chainGas
    ) {
      store.close();
      throw new Error(
        `datadir ${opts.datadir} holds a chain whose blocks have a gas limit of ${chainGas}, not ${opts.blockGasLimit}; a chain keeps the limit it was created with (give --gas-limit to a fresh --datadir)`,
      );
    }
    const registry = new PrecompileRegistry([merkleMultiproofPrecompile, ...(opts.precompiles ?? [])]);
    const node = new ChainNode(
      { ...opts, blockGasLimit: opts.blockGasLimit ?? chainGas },
      store,
      common,
      registry,
    );
    await node.live.open();
    const { log, entries } = await PendingLog.open(join(opts.datadir, "pending.log"));
    node.pendingLog = log;
    const head = store.getMeta("head");
    let orphans: Uint8Array[] = [];
    try {
      if (head === undefined) await node.initGenesis(opts);
      else orphans = await node.resume(Number(head), opts.datadir, opts.rebuildState ?? false);
    } catch (err) {
      node.closed = true;
      await log.close();
      await node.recovery.close();
      store.close();
      throw err;
    }
    await node.readmit(head === undefined ? [] : [...orphans, ...entries]);
    node.startTimer();
    return node;
  }

  /** The VM over the head state (replaced after an execution fault: never keep a reference). */
  private get vm(): VM {
    return this.live.vm;
  }

  get head(): Block {
    return this.blocks.head;
  }

  /** The timestamp the next block would get if it were mined now. */
  nextTimestamp(): bigint {
    return this.clock.peekTimestampFor(this.blocks.head);
  }

  get baseFee(): bigint {
    return this.blocks.head.header.calcNextBaseFee();
  }

  /** Stops the block timer and closes the store (pending work finishes first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.queue.run(async () => {
      await this.pendingLog.close();
      await this.recovery.close();
      this.store.close();
    });
  }

  // ---- genesis and restart -------------------------------------------------------------------

  private async initGenesis(opts: NodeOptions): Promise<void> {
    const alloc = [
      ...this.devAccounts.map((a) => ({
        address: a.address,
        balance: opts.devBalance ?? 10_000n * ONE_OPEN,
      })),
      ...(opts.genesisAccounts ?? []),
    ];
    const genesis = await createGenesisBlock(this.live, this.common, alloc, this.blockGasLimit);
    this.blocks.append(genesis, [], [], { chainId: this.chainId.toString() });
    const txs = opts.genesisTransactions ?? [];
    if (txs.length === 0) return;
    const signed = await signGenesisTransactions({
      txs,
      key: this.devAccounts[0].privateKey,
      chainId: this.chainId,
      common: this.common,
      genesis,
      live: this.live,
      txGasCap: this.txGasCap,
    });
    let done = 0;
    for (const chunk of packIntoBlocks(signed, this.blockGasLimit)) {
      const block = await this.queue.run(() => this.mineLocked(undefined, chunk));
      for (const r of this.store.receiptsOfBlock(Number(block.header.number))) {
        const label = txs[done].label;
        if (r.status !== 1) throw new Error(`genesis transaction ${done} (${label ?? "unlabelled"}) failed`);
        this.genesisResults.push({
          label,
          address: r.contractAddress ? bytesToHex(r.contractAddress) : undefined,
          hash: bytesToHex(r.txHash),
          blockNumber: r.blockNumber,
        });
        done++;
      }
    }
  }

  /** The most gas one transaction may use: the block gas limit, capped by EIP-7825. */
  get txGasCap(): bigint {
    const cap = this.common.isActivatedEIP(7825) ? this.common.param("maxTransactionGasLimit") : undefined;
    return cap !== undefined && cap < this.blockGasLimit ? cap : this.blockGasLimit;
  }

  /**
   * Reopens the chain at its stored head. Returns transactions of blocks a state rebuild had to drop
   * (they go back to the pool).
   */
  private async resume(head: number, datadir: string, rebuild: boolean): Promise<Uint8Array[]> {
    const block = this.blocks.resumeAt(head);
    if (!block) throw new Error(`datadir is damaged: head block ${head} is missing`);
    const edited = this.store.getMeta("stateRoot");
    const root = edited ? hexToBytes(edited as `0x${string}`) : block.header.stateRoot;
    if (equalsBytes(root, KECCAK256_RLP) || this.store.trie.has(bytesToHex(root).slice(2))) {
      await this.vm.stateManager.setStateRoot(root);
      return [];
    }
    if (!rebuild) throw new StateMissingError(datadir, head, bytesToHex(root));
    const outcome = await rebuildState(this.live, this.store, (n) => this.blocks.byNumber(BigInt(n)), head);
    const orphans: Uint8Array[] = [];
    if (outcome.dropped) {
      for (let n = outcome.dropped.from; n <= outcome.dropped.to; n++) {
        for (const tx of this.blocks.byNumber(BigInt(n))?.transactions ?? []) orphans.push(tx.serialize());
      }
      this.blocks.truncateAbove(outcome.head, { stateRoot: null });
      this.reportError(
        new Error(
          `state rebuilt from block ${outcome.from}; blocks ${outcome.dropped.from}-${outcome.dropped.to} did not re-execute to their recorded state (${outcome.dropped.reason}) and were dropped, their ${orphans.length} transactions returned to the pool`,
        ),
      );
    }
    return orphans;
  }

  /** Re-admits the transactions the pending log kept (mined or stale ones are refused and dropped). */
  private async readmit(entries: Uint8Array[]): Promise<void> {
    for (const raw of entries) {
      try {
        await this.admission.admit(raw, false);
      } catch {
        // mined before the restart, replaced, or no longer valid
      }
    }
    if (this.pool.size === 0) await this.pendingLog.clear();
    else if (this.automine) await this.mine();
  }

  // ---- block production ----------------------------------------------------------------------

  /** Background failures go to "error" listeners, or to stderr when there are none (never a crash). */
  private reportError(err: unknown): void {
    if (this.closed) return;
    if (this.listenerCount("error") > 0) this.emit("error", err);
    else console.error(`openledger node: ${err instanceof Error ? err.message : String(err)}`);
  }

  private startTimer(): void {
    if (this.automine || this.blockTime <= 0) return;
    this.timer = setInterval(() => {
      this.mine().catch((err) => this.reportError(err));
    }, this.blockTime * 1000);
    this.timer.unref();
  }

  /** Mines one block now from the pool (evm_mine). */
  async mine(timestamp?: bigint): Promise<Block> {
    return this.queue.run(() => this.mineLocked(timestamp));
  }

  /**
   * The block the pool would make next (the "pending" tag, as geth has it): number latest+1, the
   * executable pool transactions that fit, their gas; nothing is committed.
   */
  pendingBlock(): Promise<{ block: Block; senders: string[] }> {
    return this.queue.run(async () => {
      const parent = this.blocks.head;
      const baseFee = parent.header.calcNextBaseFee();
      const nonces = new Map<string, bigint>();
      for (const sender of this.pool.senders()) nonces.set(sender, await this.stateNonce(sender));
      const timestamp = this.clock.peekTimestampFor(parent);
      const { included, gasUsed } = await this.producer.preview({
        parent,
        startRoot: await this.vm.stateManager.getStateRoot(),
        gasLimit: this.blockGasLimit,
        headerData: { timestamp, parentBeaconBlockRoot: ZERO32 },
        pool: { pool: this.pool, baseFee, nonces },
      });
      const block = createBlock(
        {
          header: {
            number: parent.header.number + 1n,
            parentHash: parent.hash(),
            timestamp,
            gasLimit: this.blockGasLimit,
            gasUsed,
            baseFeePerGas: baseFee,
            stateRoot: parent.header.stateRoot,
            mixHash: hexToBytes(keccak256(parent.hash())),
            parentBeaconBlockRoot: ZERO32,
            withdrawalsRoot: KECCAK256_RLP,
            excessBlobGas: 0n,
            blobGasUsed: 0n,
          },
          transactions: included.map((i) => i.tx),
        },
        { common: this.common },
      );
      return { block, senders: included.map((i) => i.from) };
    });
  }

  /** Builds, verifies and commits one block: from the pool, or exactly `only` (genesis). */
  private async mineLocked(timestamp?: bigint, only?: TypedTransaction[]): Promise<Block> {
    if (this.closed) throw new Error("node is closed");
    const parent = this.blocks.head;
    const baseFee = parent.header.calcNextBaseFee();
    const startRoot = await this.vm.stateManager.getStateRoot();
    let pool: { pool: TxPool; baseFee: bigint; nonces: Map<string, bigint> } | undefined;
    if (!only) {
      const nonces = new Map<string, bigint>();
      for (const sender of this.pool.senders()) nonces.set(sender, await this.stateNonce(sender));
      pool = { pool: this.pool, baseFee, nonces };
    }
    const built = await this.producer.build({
      parent,
      startRoot,
      gasLimit: this.blockGasLimit,
      headerData: {
        timestamp: this.clock.timestampFor(parent, timestamp),
        coinbase: "0x0000000000000000000000000000000000000000",
        mixHash: hexToBytes(keccak256(parent.hash())),
        parentBeaconBlockRoot: ZERO32,
      },
      only,
      pool,
    });
    const { block } = built;
    const { receipts, logs, rpcLogs } = receiptsOf(built);
    try {
      this.blocks.append(block, receipts, logs, { stateRoot: null });
    } catch (err) {
      await this.live.reset(startRoot);
      throw err;
    }
    for (const i of built.included) if (i.poolHash) this.pool.remove(i.poolHash);
    for (const d of built.dropped) {
      this.pool.remove(d.ptx.hashHex);
      this.rememberDrop(d.ptx.hashHex, d.reason);
      this.emit("dropped", { hash: d.ptx.hashHex, reason: d.reason });
    }
    for (const f of built.faulted) {
      this.pool.remove(f.ptx.hashHex);
      this.admission.rememberFault(f.ptx.hashHex, f.reason);
      this.reportError(
        new Error(`transaction ${f.ptx.hashHex} dropped: executing it faulted the EVM (${f.reason})`),
      );
      this.emit("dropped", { hash: f.ptx.hashHex, reason: `execution fault: ${f.reason}` });
    }
    for (const sender of new Set(built.included.map((i) => i.from.toLowerCase()))) {
      this.pool.dropStale(sender, await this.stateNonce(sender));
    }
    if (this.pool.size === 0) this.pendingLog.clear().catch((err) => this.reportError(err));
    else if (this.pendingLog.bytes > PENDING_LOG_COMPACT_BYTES) {
      this.pendingLog.compact(this.pool.all().map((t) => t.raw)).catch((err) => this.reportError(err));
    }
    this.emit("block", { block, logs: rpcLogs } satisfies MinedBlockEvent);
    return block;
  }

  private rememberDrop(hashHex: string, reason: string): void {
    if (this.drops.size >= DROP_MEMORY) this.drops.delete(this.drops.keys().next().value as string);
    this.drops.set(hashHex, reason);
  }

  // ---- transactions --------------------------------------------------------------------------

  /**
   * Validates a raw signed transaction against the pool rules and current state, stores it durably
   * and (with automine) mines it. Resolves with the transaction hash once it is safe to acknowledge.
   */
  async sendRawTransaction(raw: Uint8Array): Promise<string> {
    if (!this.automine) return (await this.admission.admit(raw, true)).hashHex;
    // With automine the transaction is normally in a committed block (durable) before this answers:
    // it goes to the pending log only when it is left in the pool (a nonce gap, a full block, a
    // failed block), which saves two disk syncs a transaction (the log's append and its truncation).
    const entry = await this.admission.admit(raw, false);
    this.drops.delete(entry.hashHex); // a drop before this admission is history
    try {
      await this.queue.run(() => this.mineLocked());
    } catch (err) {
      // Not acknowledged (the mining error is the answer); logged all the same while it is pooled.
      if (this.pool.get(entry.hashHex)) await this.pendingLog.append(raw).catch(() => {});
      throw err;
    }
    if (this.pool.get(entry.hashHex)) await this.pendingLog.append(raw);
    // Out of the pool: mined, or dropped by this block or a concurrent request's; only mined is acknowledged.
    const fault = this.admission.faultOf(entry.hashHex);
    if (fault !== undefined) throw faultRefusal(fault);
    const drop = this.drops.get(entry.hashHex);
    if (drop !== undefined) throw new TxRejectedError(`transaction dropped before inclusion: ${drop}`);
    return entry.hashHex;
  }

  async stateNonce(address: string): Promise<bigint> {
    const acct = await this.vm.stateManager.getAccount(createAddressFromString(address));
    return acct?.nonce ?? 0n;
  }

  /** The nonce a new transaction from `address` should use, counting the pool ("pending"). */
  async pendingNonce(address: string): Promise<bigint> {
    return this.pool.nextNonce(address.toLowerCase(), await this.stateNonce(address));
  }

  // ---- reads ---------------------------------------------------------------------------------

  blockByNumber(n: bigint): Block | undefined {
    return this.blocks.byNumber(n);
  }

  blockByHash(hash: Uint8Array): Block | undefined {
    return this.blocks.byHash(hash);
  }

  receipt(hash: Uint8Array): ReceiptJson | undefined {
    // A pooled transaction is not mined (mining removes what it includes in the same turn): skip the
    // store for the receipts clients poll for while they wait.
    if (this.pool.size > 0 && this.pool.get(toHex(hash))) return undefined;
    const stored = this.store.receipt(hash);
    const block = stored && this.blocks.byNumber(BigInt(stored.blockNumber));
    return stored && block ? formatReceipt(stored, block) : undefined;
  }

  receiptsOfBlock(number: bigint): ReceiptJson[] {
    const block = this.blocks.byNumber(number);
    if (!block) return [];
    return this.store.receiptsOfBlock(Number(number)).map((r) => formatReceipt(r, block));
  }

  /** The senders of a block's transactions, in order (from the stored receipts). */
  sendersOfBlock(number: bigint): string[] {
    return this.store.receiptsOfBlock(Number(number)).map((r) => bytesToHex(r.sender));
  }

  /** Mined transaction with its sender and position, or undefined. */
  minedTransaction(
    hash: Uint8Array,
  ): { tx: TypedTransaction; from: string; block: Block; index: number; receipt: StoredReceipt } | undefined {
    const receipt = this.store.receipt(hash);
    if (!receipt) return undefined;
    const block = this.blocks.byNumber(BigInt(receipt.blockNumber));
    if (!block) return undefined;
    const index = receipt.txIndex;
    return { tx: block.transactions[index], from: bytesToHex(receipt.sender), block, index, receipt };
  }

  logs(q: Parameters<ChainStore["queryLogs"]>[0]): RpcLog[] {
    return this.store.queryLogs(q).map((row) => {
      const block = this.blocks.byNumber(BigInt(row.blockNumber));
      return formatLog([row.address, row.topics, row.data], {
        blockHash: block ? bytesToHex(block.hash()) : "0x",
        blockNumber: BigInt(row.blockNumber),
        timestamp: block?.header.timestamp ?? 0n,
        txHash: bytesToHex(row.txHash),
        txIndex: row.txIndex,
        logIndex: row.logIndex,
      });
    });
  }

  /**
   * A throwaway state manager at `stateRoot`: reads the store, writes go nowhere. With `memo`, trie
   * lookups are remembered there (eth_call's VMs).
   */
  stateAt(stateRoot: Uint8Array, memo?: TrieReadMemo): MerkleStateManager {
    const opts = {
      db: new OverlayDB(this.store.trie),
      root: stateRoot,
      useKeyHashing: true,
      valueEncoding: ValueEncoding.Bytes,
      common: this.common,
    };
    return new MerkleStateManager({
      common: this.common,
      // code is read under "c" + its hash, the key LiveState writes it under (@ethereumjs's default, made explicit)
      prefixCodeHashes: true,
      trie: memo ? new MemoTrie(opts, memo) : new MerklePatriciaTrie(opts),
      caches: new Caches(),
    });
  }

  /** The state after `block` (for the head, including test edits such as anvil_setBalance). */
  async stateRootOf(block: Block): Promise<Uint8Array> {
    if (block.header.number === this.blocks.head.header.number) {
      const root = this.store.getMeta("stateRoot");
      if (root) return hexToBytes(root as `0x${string}`);
    }
    return block.header.stateRoot;
  }

  // ---- dev controls (anvil_*, evm_*; see devControls.ts) -------------------------------------

  setBalance(address: string, balance: bigint): Promise<void> {
    return this.dev.setBalance(address, balance);
  }

  increaseTime(seconds: bigint): bigint {
    return this.dev.increaseTime(seconds);
  }

  setNextBlockTimestamp(ts: bigint): void {
    this.dev.setNextBlockTimestamp(ts);
  }

  snapshot(): string {
    return this.dev.snapshot();
  }

  revert(id: string): Promise<boolean> {
    return this.dev.revert(id);
  }
}

/** Receipts (as stored) and logs (as stored and as RPC events) of a built block. */
function receiptsOf(built: BuiltBlock) {
  const { block } = built;
  const blockHash = bytesToHex(block.hash());
  const number = Number(block.header.number);
  const logs: StoredLog[] = [];
  const rpcLogs: RpcLog[] = [];
  const receipts: StoredReceipt[] = [];
  let prevCumulative = 0n;
  built.included.forEach(({ tx, from, result, receiptRlp }, index) => {
    const txHash = tx.hash();
    const firstLogIndex = logs.length;
    const txLogs: ConsensusLog[] = result.execResult.logs ?? [];
    for (const log of txLogs) {
      const [address, topics, data] = log;
      const logIndex = logs.length;
      logs.push({ blockNumber: number, logIndex, txIndex: index, txHash, address, topics, data });
      rpcLogs.push(
        formatLog(log, {
          blockHash,
          blockNumber: block.header.number,
          timestamp: block.header.timestamp,
          txHash: bytesToHex(txHash),
          txIndex: index,
          logIndex,
        }),
      );
    }
    const cumulative = result.receipt.cumulativeBlockGasUsed;
    receipts.push({
      txHash,
      blockNumber: number,
      txIndex: index,
      firstLogIndex,
      sender: hexToBytes(from as `0x${string}`),
      gasUsed: cumulative - prevCumulative,
      contractAddress: result.createdAddress?.bytes,
      type: tx.type,
      status: "status" in result.receipt && result.receipt.status === 1 ? 1 : 0,
      cumulativeGasUsed: cumulative,
      logsBloom: result.bloom.bitvector,
      logs: txLogs,
      encoded: receiptRlp,
    });
    prevCumulative = cumulative;
  });
  return { receipts, logs, rpcLogs };
}

/** The gas limit of the stored genesis block (every block's: it never moves), or undefined on a fresh data dir. */
function genesisGasLimit(store: ChainStore): bigint | undefined {
  const rlp = store.blockRlp(0);
  if (rlp === undefined) return undefined;
  // a block is [header, transactions, ...]; the header's tenth field is its gas limit
  const [header] = RLP.decode(rlp) as Uint8Array[][];
  return bytesToBigInt(header[9]);
}
