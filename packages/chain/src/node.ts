import { EventEmitter } from "node:events";
import { join } from "node:path";
import { type Block, createBlock, createBlockFromRLP } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import type { EVMMockBlockchainInterface } from "@ethereumjs/evm";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { Caches, MerkleStateManager } from "@ethereumjs/statemanager";
import { createTx, createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import {
  Account,
  type Address,
  bytesToHex,
  createAddressFromString,
  equalsBytes,
  hexToBytes,
  KECCAK256_RLP,
  ValueEncoding,
} from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { keccak256 } from "viem";
import { BlockProducer, type BuiltBlock } from "./blockProduction.ts";
import {
  createChainCommon,
  createSharedCommon,
  DEFAULT_BLOCK_GAS_LIMIT,
  DEFAULT_CHAIN_ID,
  INITIAL_BASE_FEE,
} from "./chainConfig.ts";
import { fastCrypto } from "./crypto.ts";
import { type DevAccount, deriveDevAccounts } from "./devAccounts.ts";
import { StateMissingError, TxRejectedError } from "./errors.ts";
import { quantity, type RpcLog } from "./format.ts";
import { LiveState } from "./liveState.ts";
import { DEFAULT_POOL_LIMITS, type PoolLimits, type PoolTx, TxPool } from "./mempool.ts";
import { PendingLog } from "./pendingLog.ts";
import { merkleMultiproofPrecompile, type PrecompileDefinition, PrecompileRegistry } from "./precompiles.ts";
import { SenderRecovery } from "./recovery.ts";
import { rebuildState } from "./stateRebuild.ts";
import { ChainStore, OverlayDB, type StoredLog } from "./store.ts";

/** A transaction run from dev account 0 in block 1 of a fresh chain (protocol predeploys). */
export interface GenesisTransaction {
  to?: `0x${string}`;
  data?: `0x${string}`;
  value?: bigint;
  gas?: bigint;
  /** Names the contract this transaction creates in deployments/<chainId>.json. */
  label?: string;
}

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
  /** Run from dev account 0 in block 1 of a fresh chain; results in `genesisResults`. */
  genesisTransactions?: GenesisTransaction[];
  /** Precompiles besides the built-in Merkle multiproof verifier. */
  precompiles?: PrecompileDefinition[];
  blockGasLimit?: bigint;
  pool?: Partial<PoolLimits>;
  /** When the head block's state is missing from the data dir, re-execute stored blocks to rebuild it. */
  rebuildState?: boolean;
  /** Worker threads for sender recovery (default: min(4, cores - 1); 0 recovers on the main thread). */
  recoveryThreads?: number;
}

export interface MinedBlockEvent {
  block: Block;
  logs: RpcLog[];
}

/** A block the producer committed, with the pool transactions it dropped because they faulted the EVM. */
interface MinedBlock {
  block: Block;
  faulted: Map<string, string>;
}

interface ReceiptJson {
  transactionHash: string;
  from: string;
  logs: RpcLog[];
  [k: string]: unknown;
}

const ONE_OPEN = 10n ** 18n;
const ZERO32 = new Uint8Array(32);
const BLOCK_CACHE = 64;
/** The pending log is rewritten with just the pool once it grows past this (it is emptied whenever the pool is). */
const PENDING_LOG_COMPACT_BYTES = 64 * 1024 * 1024;
/** How many faulting transaction hashes admission remembers and refuses. */
const FAULT_MEMORY = 1024;

/** Serialises async work (mining, state edits) so only one task touches the live state at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(task: () => Promise<T>): Promise<T> {
    const next = this.tail.then(task, task);
    this.tail = next.catch(() => {});
    return next;
  }
}

/**
 * The OpenLedger L2 execution node: @ethereumjs VM over a SQLite-backed state trie, a mempool and
 * block production. Emits "block" (MinedBlockEvent) after each block is durably stored and
 * "pendingTransaction" (hash) for each accepted transaction.
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
  private readonly store: ChainStore;
  private readonly live: LiveState;
  private readonly producer: BlockProducer;
  /** Transactions whose execution faulted the EVM (refused if sent again), oldest first. */
  private readonly faults = new Map<string, string>();
  private readonly mutex = new Mutex();
  private readonly recovery: SenderRecovery;
  private readonly blockCache = new Map<number, Block>();
  private headBlock!: Block;
  private timeOffset = 0n;
  private nextTimestamp: bigint | undefined;
  private snapshots = new Map<string, { head: number; timeOffset: bigint }>();
  private snapshotSeq = 0;
  private timer: NodeJS.Timeout | undefined;
  private pendingLog!: PendingLog;
  private closed = false;
  /** What the genesis transactions did (in order), on the run that created the chain. */
  readonly genesisResults: { label?: string; address?: string; hash: string; blockNumber: number }[] = [];

  private constructor(
    opts: NodeOptions,
    live: LiveState,
    store: ChainStore,
    common: Common,
    registry: PrecompileRegistry,
  ) {
    super();
    this.setMaxListeners(0);
    this.chainId = BigInt(opts.chainId ?? DEFAULT_CHAIN_ID);
    this.common = common;
    this.live = live;
    this.store = store;
    this.producer = new BlockProducer(live, store.trie, (root) => this.stateAt(root));
    this.precompiles = registry;
    this.devAccounts = deriveDevAccounts(opts.devAccounts ?? 10);
    this.pool = new TxPool({ ...DEFAULT_POOL_LIMITS, ...opts.pool });
    this.blockGasLimit = opts.blockGasLimit ?? DEFAULT_BLOCK_GAS_LIMIT;
    this.automine = opts.automine ?? false;
    this.blockTime = opts.blockTime ?? 1;
    this.recovery = new SenderRecovery(opts.recoveryThreads);
  }

  static async create(opts: NodeOptions): Promise<ChainNode> {
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
    const registry = new PrecompileRegistry([merkleMultiproofPrecompile, ...(opts.precompiles ?? [])]);
    let node: ChainNode | undefined;
    const blockchain: EVMMockBlockchainInterface = {
      getBlock: async (n: number) => node?.blockByNumber(BigInt(n)) ?? { hash: () => ZERO32 },
      putBlock: async () => {},
      shallowCopy() {
        return this;
      },
    };
    const live = new LiveState(common, store.trie, registry, blockchain);
    await live.open();
    node = new ChainNode(opts, live, store, common, registry);
    node.blockchain = blockchain;
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

  blockchain!: EVMMockBlockchainInterface;

  /** The VM over the head state (replaced after an execution fault: never keep a reference). */
  private get vm(): VM {
    return this.live.vm;
  }

  get head(): Block {
    return this.headBlock;
  }

  get baseFee(): bigint {
    return this.headBlock.header.calcNextBaseFee();
  }

  /** Stops the block timer and closes the store (pending work finishes first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    await this.mutex.run(async () => {
      await this.pendingLog.close();
      await this.recovery.close();
      this.store.close();
    });
  }

  // ---- genesis and restart -------------------------------------------------------------------

  private async initGenesis(opts: NodeOptions): Promise<void> {
    const sm = this.vm.stateManager;
    await sm.checkpoint();
    const fund = async (address: string, balance: bigint) => {
      const addr = createAddressFromString(address);
      const acct = (await sm.getAccount(addr)) ?? new Account();
      acct.balance += balance;
      await sm.putAccount(addr, acct);
    };
    for (const a of this.devAccounts) await fund(a.address, opts.devBalance ?? 10_000n * ONE_OPEN);
    for (const a of opts.genesisAccounts ?? []) await fund(a.address, a.balance);
    await sm.commit();
    const stateRoot = await sm.getStateRoot();
    const genesis = createBlock(
      {
        header: {
          number: 0n,
          gasLimit: this.blockGasLimit,
          timestamp: BigInt(Math.floor(Date.now() / 1000)),
          baseFeePerGas: INITIAL_BASE_FEE,
          stateRoot,
          difficulty: 0n,
          mixHash: ZERO32,
          parentBeaconBlockRoot: ZERO32,
          withdrawalsRoot: KECCAK256_RLP,
          excessBlobGas: 0n,
          blobGasUsed: 0n,
        },
      },
      { common: this.common },
    );
    this.persistBlock(genesis, [], [], { chainId: this.chainId.toString() });
    if (opts.genesisTransactions && opts.genesisTransactions.length > 0) {
      await this.runGenesisTransactions(opts.genesisTransactions);
    }
  }

  private async runGenesisTransactions(txs: GenesisTransaction[]): Promise<void> {
    const dev = this.devAccounts[0];
    const key = hexToBytes(dev.privateKey);
    const baseFee = this.baseFee;
    const signed = txs.map((t, i) =>
      createTx(
        {
          type: 2,
          chainId: this.chainId,
          nonce: BigInt(i),
          to: t.to,
          data: t.data ?? "0x",
          value: t.value ?? 0n,
          gasLimit: t.gas ?? 16_000_000n,
          maxFeePerGas: baseFee * 2n,
          maxPriorityFeePerGas: 0n,
        },
        { common: this.common },
      ).sign(key),
    );
    let used = 0n;
    for (const tx of signed) used += tx.gasLimit;
    const { block } = await this.mutex.run(() =>
      this.mineLocked(undefined, signed, used > this.blockGasLimit ? used : undefined),
    );
    const receipts = this.store.receiptsOfBlock(Number(block.header.number)).map((r) => JSON.parse(r));
    receipts.forEach((r, i) => {
      if (r.status !== "0x1")
        throw new Error(`genesis transaction ${i} (${txs[i].label ?? "unlabelled"}) failed`);
      this.genesisResults.push({
        label: txs[i].label,
        address: r.contractAddress ?? undefined,
        hash: r.transactionHash,
        blockNumber: 1,
      });
    });
  }

  /**
   * Reopens the chain at its stored head. Returns transactions of blocks a state rebuild had to drop
   * (they go back to the pool).
   */
  private async resume(head: number, datadir: string, rebuild: boolean): Promise<Uint8Array[]> {
    const block = this.blockByNumber(BigInt(head));
    if (!block) throw new Error(`datadir is damaged: head block ${head} is missing`);
    this.headBlock = block;
    this.timeOffset = BigInt(this.store.getMeta("timeOffset") ?? "0");
    const edited = this.store.getMeta("stateRoot");
    const root = edited ? hexToBytes(edited as `0x${string}`) : block.header.stateRoot;
    if (equalsBytes(root, KECCAK256_RLP) || this.store.trie.has(bytesToHex(root).slice(2))) {
      await this.vm.stateManager.setStateRoot(root);
      return [];
    }
    if (!rebuild) throw new StateMissingError(datadir, head, bytesToHex(root));
    const outcome = await rebuildState(this.live, this.store, (n) => this.blockByNumber(BigInt(n)), head);
    const orphans: Uint8Array[] = [];
    if (outcome.dropped) {
      for (let n = outcome.dropped.from; n <= outcome.dropped.to; n++) {
        for (const tx of this.blockByNumber(BigInt(n))?.transactions ?? []) orphans.push(tx.serialize());
      }
      this.store.truncateAbove(outcome.head, { head: String(outcome.head), stateRoot: null });
      for (const n of [...this.blockCache.keys()]) if (n > outcome.head) this.blockCache.delete(n);
      this.headBlock = this.blockByNumber(BigInt(outcome.head)) as Block;
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
        await this.admit(raw, false);
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
    return (await this.mutex.run(() => this.mineLocked(timestamp))).block;
  }

  private async mineLocked(
    timestamp?: bigint,
    only?: TypedTransaction[],
    gasLimit?: bigint,
  ): Promise<MinedBlock> {
    if (this.closed) throw new Error("node is closed");
    const parent = this.headBlock;
    const now = BigInt(Math.floor(Date.now() / 1000)) + this.timeOffset;
    let ts = timestamp ?? this.nextTimestamp ?? now;
    this.nextTimestamp = undefined;
    if (ts <= parent.header.timestamp) ts = parent.header.timestamp + 1n;
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
      gasLimit: gasLimit ?? this.blockGasLimit,
      headerData: {
        timestamp: ts,
        coinbase: "0x0000000000000000000000000000000000000000",
        mixHash: hexToBytes(keccak256(parent.hash())),
        parentBeaconBlockRoot: ZERO32,
      },
      only,
      pool,
    });
    const { block } = built;
    const { receipts, logs, rpcLogs } = this.receiptsFor(built, baseFee);
    try {
      this.persistBlock(block, receipts, logs, { stateRoot: null });
    } catch (err) {
      await this.live.reset(startRoot);
      throw err;
    }
    for (const i of built.included) if (i.poolHash) this.pool.remove(i.poolHash);
    for (const d of built.dropped) {
      this.pool.remove(d.ptx.hashHex);
      this.emit("dropped", { hash: d.ptx.hashHex, reason: d.reason });
    }
    for (const f of built.faulted) {
      this.pool.remove(f.ptx.hashHex);
      this.rememberFault(f.ptx.hashHex, f.reason);
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
    return { block, faulted: new Map(built.faulted.map((f) => [f.ptx.hashHex, f.reason])) };
  }

  /** Receipts (as stored) and logs of a built block. */
  private receiptsFor(built: BuiltBlock, baseFee: bigint) {
    const { block } = built;
    const blockHash = bytesToHex(block.hash());
    const logs: StoredLog[] = [];
    const rpcLogs: RpcLog[] = [];
    const receipts: { hash: Uint8Array; receipt: string }[] = [];
    let prevCumulative = 0n;
    built.included.forEach(({ tx, from, result }, index) => {
      const txHash = tx.hash();
      const txHashHex = bytesToHex(txHash);
      const txLogs: RpcLog[] = [];
      for (const [address, topics, data] of result.execResult.logs ?? []) {
        const stored: StoredLog = {
          blockNumber: Number(block.header.number),
          logIndex: logs.length,
          txIndex: index,
          txHash,
          address,
          topics,
          data,
        };
        logs.push(stored);
        const rpc = toRpcLog(stored, blockHash, block.header.timestamp);
        txLogs.push(rpc);
        rpcLogs.push(rpc);
      }
      const cumulative = result.receipt.cumulativeBlockGasUsed;
      const gasUsed = cumulative - prevCumulative;
      prevCumulative = cumulative;
      const receipt = {
        type: quantity(tx.type),
        status: "status" in result.receipt && result.receipt.status === 1 ? "0x1" : "0x0",
        cumulativeGasUsed: quantity(cumulative),
        logs: txLogs,
        logsBloom: bytesToHex(result.bloom.bitvector),
        transactionHash: txHashHex,
        transactionIndex: quantity(index),
        blockHash,
        blockNumber: quantity(block.header.number),
        gasUsed: quantity(gasUsed),
        effectiveGasPrice: quantity(effectiveGasPrice(tx, baseFee)),
        from: from.toLowerCase(),
        to: tx.to ? tx.to.toString() : null,
        contractAddress: result.createdAddress ? result.createdAddress.toString() : null,
      };
      receipts.push({ hash: txHash, receipt: JSON.stringify(receipt) });
    });
    return { receipts, logs, rpcLogs };
  }

  /** Remembers a faulting transaction so admission refuses it if it comes back (bounded). */
  private rememberFault(hashHex: string, reason: string): void {
    if (this.faults.size >= FAULT_MEMORY) {
      const oldest = this.faults.keys().next().value;
      if (oldest !== undefined) this.faults.delete(oldest);
    }
    this.faults.set(hashHex, reason);
  }

  private persistBlock(
    block: Block,
    receipts: { hash: Uint8Array; receipt: string }[],
    logs: StoredLog[],
    meta: Record<string, string | null>,
  ): void {
    const number = Number(block.header.number);
    this.store.commitBlock(
      { number, hash: block.hash(), rlp: block.serialize(), txs: receipts, logs },
      { ...meta, head: String(number) },
    );
    this.headBlock = block;
    this.cacheBlock(block);
  }

  // ---- transactions --------------------------------------------------------------------------

  /**
   * Validates a raw signed transaction against the pool rules and current state, stores it durably
   * and (with automine) mines it. Resolves with the transaction hash once it is safe to acknowledge.
   */
  async sendRawTransaction(raw: Uint8Array): Promise<string> {
    const entry = await this.admit(raw, true);
    if (this.automine) {
      const { faulted } = await this.mutex.run(() => this.mineLocked());
      const reason = faulted.get(entry.hashHex);
      if (reason !== undefined) throw faultRefusal(reason);
    }
    return entry.hashHex;
  }

  private async admit(raw: Uint8Array, persist: boolean): Promise<PoolTx> {
    if (raw.length > 131072)
      throw new TxRejectedError(`oversized data: transaction size ${raw.length}, limit 131072`);
    const tx = this.decodeTransaction(raw);
    await this.recovery.prepare(tx);
    let sender: Address;
    try {
      sender = tx.getSenderAddress();
    } catch {
      throw new TxRejectedError("invalid sender");
    }
    const senderHex = sender.toString().toLowerCase();
    const intrinsic = minimumGas(tx);
    if (tx.gasLimit < intrinsic) {
      throw new TxRejectedError(`intrinsic gas too low: gas ${tx.gasLimit}, minimum needed ${intrinsic}`);
    }
    const cap = tx.common.isActivatedEIP(7825) ? tx.common.param("maxTransactionGasLimit") : undefined;
    if (cap !== undefined && tx.gasLimit > cap) {
      throw new TxRejectedError(`transaction gas limit too high (cap: ${cap}, tx: ${tx.gasLimit})`);
    }
    if (tx.gasLimit > this.blockGasLimit) throw new TxRejectedError("exceeds block gas limit");
    const { maxFee, tip } = feeCaps(tx);
    if (tip > maxFee) {
      throw new TxRejectedError(
        `max priority fee per gas higher than max fee per gas: address ${sender}, maxPriorityFeePerGas: ${tip}, maxFeePerGas: ${maxFee}`,
      );
    }
    const baseFee = this.baseFee;
    if (maxFee < baseFee) {
      throw new TxRejectedError(
        `max fee per gas less than block base fee: address ${sender}, maxFeePerGas: ${maxFee}, baseFee: ${baseFee}`,
      );
    }
    const account = (await this.vm.stateManager.getAccount(sender)) ?? new Account();
    if (tx.nonce < account.nonce) {
      throw new TxRejectedError(`nonce too low: next nonce ${account.nonce}, tx nonce ${tx.nonce}`);
    }
    const cost = tx.gasLimit * maxFee + tx.value;
    if (account.balance < cost) {
      throw new TxRejectedError(
        `insufficient funds for gas * price + value: balance ${account.balance}, tx cost ${cost}, overshot ${cost - account.balance}`,
      );
    }
    const hash = tx.hash();
    const hashHex = bytesToHex(hash);
    const fault = this.faults.get(hashHex);
    if (fault !== undefined) throw faultRefusal(fault);
    const entry = { tx, raw, hash, hashHex, sender: senderHex, nonce: tx.nonce, maxFee, tip };
    this.pool.add(entry, account.nonce);
    if (persist) await this.pendingLog.append(raw);
    this.emit("pendingTransaction", hashHex);
    return { ...entry, seq: 0 };
  }

  private decodeTransaction(raw: Uint8Array): TypedTransaction {
    if (raw.length === 0) throw new TxRejectedError("rlp: empty input");
    if (raw[0] === 3) throw new TxRejectedError("transaction type not supported");
    if (raw[0] > 4 && raw[0] < 0x80) throw new TxRejectedError("transaction type not supported");
    try {
      return createTxFromRLP(raw, { common: this.common });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const have = peekChainId(raw);
      if (have !== undefined && have !== this.chainId) {
        throw new TxRejectedError(
          `invalid sender: invalid chain id for signer: have ${have} want ${this.chainId}`,
        );
      }
      if (/maxFeePerGas cannot be less than maxPriorityFeePerGas/.test(message)) {
        throw new TxRejectedError("max priority fee per gas higher than max fee per gas");
      }
      if (/signature|s-value|v-value|invalid v|ecrecover|recovery/i.test(message)) {
        throw new TxRejectedError("invalid sender");
      }
      throw new TxRejectedError(`rlp: ${message.split(" (")[0]}`);
    }
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
    if (n < 0n || n > this.headBlock?.header.number) return undefined;
    const key = Number(n);
    const cached = this.blockCache.get(key);
    if (cached) return cached;
    const rlp = this.store.blockRlp(key);
    if (!rlp) return undefined;
    const block = createBlockFromRLP(rlp, { common: this.common });
    this.cacheBlock(block);
    return block;
  }

  blockByHash(hash: Uint8Array): Block | undefined {
    const n = this.store.blockNumberByHash(hash);
    return n === undefined ? undefined : this.blockByNumber(BigInt(n));
  }

  private cacheBlock(block: Block): void {
    if (this.blockCache.size >= BLOCK_CACHE) {
      const first = this.blockCache.keys().next().value;
      if (first !== undefined) this.blockCache.delete(first);
    }
    this.blockCache.set(Number(block.header.number), block);
  }

  receipt(hash: Uint8Array): ReceiptJson | undefined {
    // A pooled transaction is not mined (mining removes what it includes in the same turn): skip the
    // store for the receipts clients poll for while they wait.
    if (this.pool.size > 0 && this.pool.get(bytesToHex(hash))) return undefined;
    const rec = this.store.txRecord(hash);
    return rec ? (JSON.parse(rec.receipt) as ReceiptJson) : undefined;
  }

  receiptsOfBlock(number: bigint): ReceiptJson[] {
    return this.store.receiptsOfBlock(Number(number)).map((r) => JSON.parse(r) as ReceiptJson);
  }

  /** Mined transaction with its sender and position, or undefined. */
  minedTransaction(
    hash: Uint8Array,
  ): { tx: TypedTransaction; from: string; block: Block; index: number } | undefined {
    const rec = this.store.txRecord(hash);
    if (!rec) return undefined;
    const block = this.blockByNumber(BigInt(rec.blockNumber));
    if (!block) return undefined;
    const receipt = JSON.parse(rec.receipt) as ReceiptJson;
    const index = Number(receipt.transactionIndex);
    return { tx: block.transactions[index], from: receipt.from, block, index };
  }

  logs(q: Parameters<ChainStore["queryLogs"]>[0]): RpcLog[] {
    const rows = this.store.queryLogs(q);
    return rows.map((row) => {
      const block = this.blockByNumber(BigInt(row.blockNumber));
      return toRpcLog(row, block ? bytesToHex(block.hash()) : "0x", block?.header.timestamp ?? 0n);
    });
  }

  /** A throwaway state manager at `stateRoot`: reads the store, writes go nowhere. */
  stateAt(stateRoot: Uint8Array): MerkleStateManager {
    return new MerkleStateManager({
      common: this.common,
      trie: new MerklePatriciaTrie({
        db: new OverlayDB(this.store.trie),
        root: stateRoot,
        useKeyHashing: true,
        valueEncoding: ValueEncoding.Bytes,
        common: this.common,
      }),
      caches: new Caches(),
    });
  }

  /** The state after `block` (for the head, including test edits such as anvil_setBalance). */
  async stateRootOf(block: Block): Promise<Uint8Array> {
    if (block.header.number === this.headBlock.header.number) {
      const root = this.store.getMeta("stateRoot");
      if (root) return hexToBytes(root as `0x${string}`);
    }
    return block.header.stateRoot;
  }

  // ---- test helpers (evm_*, anvil_*) ---------------------------------------------------------

  setBalance(address: string, balance: bigint): Promise<void> {
    return this.mutex.run(async () => {
      const sm = this.vm.stateManager;
      const addr = createAddressFromString(address);
      await sm.checkpoint();
      const acct = (await sm.getAccount(addr)) ?? new Account();
      acct.balance = balance;
      await sm.putAccount(addr, acct);
      await sm.commit();
      const root = bytesToHex(await sm.getStateRoot());
      this.store.commitState({ stateRoot: root });
    });
  }

  increaseTime(seconds: bigint): bigint {
    this.timeOffset += seconds;
    this.store.commitState({ timeOffset: this.timeOffset.toString() });
    return this.timeOffset;
  }

  setNextBlockTimestamp(ts: bigint): void {
    this.nextTimestamp = ts;
  }

  snapshot(): string {
    const id = quantity(++this.snapshotSeq);
    this.snapshots.set(id, { head: Number(this.headBlock.header.number), timeOffset: this.timeOffset });
    return id;
  }

  revert(id: string): Promise<boolean> {
    return this.mutex.run(async () => {
      const snap = this.snapshots.get(id);
      if (!snap) return false;
      for (const key of [...this.snapshots.keys()]) {
        if (BigInt(key) >= BigInt(id)) this.snapshots.delete(key);
      }
      const block = this.blockByNumber(BigInt(snap.head));
      if (!block) return false;
      for (const n of [...this.blockCache.keys()]) if (n > snap.head) this.blockCache.delete(n);
      this.timeOffset = snap.timeOffset;
      this.store.truncateAbove(snap.head, {
        head: String(snap.head),
        stateRoot: null,
        timeOffset: this.timeOffset.toString(),
      });
      this.headBlock = block;
      await this.vm.stateManager.setStateRoot(block.header.stateRoot);
      for (const sender of this.pool.senders()) this.pool.dropStale(sender, await this.stateNonce(sender));
      return true;
    });
  }
}

function toRpcLog(log: StoredLog, blockHash: string, timestamp: bigint): RpcLog {
  return {
    address: bytesToHex(log.address),
    topics: log.topics.map((t) => bytesToHex(t)),
    data: bytesToHex(log.data),
    blockNumber: quantity(log.blockNumber),
    blockHash,
    blockTimestamp: quantity(timestamp),
    transactionHash: bytesToHex(log.txHash),
    transactionIndex: quantity(log.txIndex),
    logIndex: quantity(log.logIndex),
    removed: false,
  };
}

/** The answer to a transaction whose execution threw out of the EVM: refused, nothing of it kept. */
function faultRefusal(reason: string): TxRejectedError {
  return new TxRejectedError(
    `transaction refused: executing it faulted the node's EVM (${reason}); it was not included and the state is unchanged`,
  );
}

/** maxFeePerGas and tip of any transaction type (legacy: both are gasPrice). */
export function feeCaps(tx: TypedTransaction): { maxFee: bigint; tip: bigint } {
  if ("maxFeePerGas" in tx) return { maxFee: tx.maxFeePerGas, tip: tx.maxPriorityFeePerGas };
  const price = (tx as { gasPrice: bigint }).gasPrice;
  return { maxFee: price, tip: price };
}

export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  const { maxFee, tip } = feeCaps(tx);
  const room = maxFee - baseFee;
  // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.min takes numbers
  return baseFee + (tip < room ? tip : room);
}

/** Intrinsic gas, or the EIP-7623 calldata floor when higher. */
export function minimumGas(tx: TypedTransaction): bigint {
  const intrinsic = tx.getIntrinsicGas();
  if (!tx.common.isActivatedEIP(7623)) return intrinsic;
  let tokens = 0n;
  for (const b of tx.data) tokens += b === 0 ? 1n : 4n;
  const floor = 21000n + 10n * tokens;
  return floor > intrinsic ? floor : intrinsic;
}

/** The chain id a raw transaction claims, if it can be read. */
function peekChainId(raw: Uint8Array): bigint | undefined {
  try {
    if (raw[0] < 0x80) {
      const fields = RLP.decode(raw.subarray(1)) as Uint8Array[];
      return bytesToBig(fields[0]);
    }
    const fields = RLP.decode(raw) as Uint8Array[];
    const v = bytesToBig(fields[6]);
    return v >= 35n ? (v - 35n) / 2n : undefined;
  } catch {
    return undefined;
  }
}

function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(bytesToHex(b));
}
