import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BatchDBOp, DB } from "@ethereumjs/util";
import Database from "better-sqlite3";
import { reachableNodes } from "./reachableNodes.ts";
import {
  decodeConsensusReceipt,
  encodeConsensusReceipt,
  receiptFromLegacyJson,
  type StoredReceipt,
} from "./receipts.ts";

/** One log row as the log index keeps it. */
export interface StoredLog {
  blockNumber: number;
  logIndex: number;
  txIndex: number;
  txHash: Uint8Array;
  address: Uint8Array;
  topics: Uint8Array[];
  data: Uint8Array;
}

/** Everything one sealed block adds to the store, written in one transaction. */
export interface BlockWrite {
  number: number;
  hash: Uint8Array;
  /** The block's state root: of the trie nodes written since the last commit, only those it reaches are stored. */
  stateRoot: Uint8Array;
  rlp: Uint8Array;
  receipts: StoredReceipt[];
  logs: StoredLog[];
}

export interface LogQuery {
  fromBlock: number;
  toBlock: number;
  addresses?: Uint8Array[];
  /** Per topic position: null = any, else any of the listed values. */
  topics: (Uint8Array[] | null)[];
  limit: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trie (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS blocks (number INTEGER PRIMARY KEY, hash BLOB NOT NULL UNIQUE, rlp BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS receipts (
  hash BLOB PRIMARY KEY, block_number INTEGER NOT NULL, tx_index INTEGER NOT NULL, first_log_index INTEGER NOT NULL,
  sender BLOB NOT NULL, gas_used INTEGER NOT NULL, contract_address BLOB, receipt BLOB NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS receipts_block ON receipts(block_number, tx_index);
CREATE TABLE IF NOT EXISTS logs (
  block_number INTEGER NOT NULL, log_index INTEGER NOT NULL, tx_index INTEGER NOT NULL, tx_hash BLOB NOT NULL,
  address BLOB NOT NULL, topic0 BLOB, topic1 BLOB, topic2 BLOB, topic3 BLOB, data BLOB NOT NULL,
  PRIMARY KEY (block_number, log_index)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS logs_address ON logs(address, block_number);
CREATE INDEX IF NOT EXISTS logs_topic0 ON logs(topic0, block_number);
`;

/**
 * The node's data directory: one SQLite file in WAL mode with synchronous=FULL, so a committed
 * transaction survives `kill -9` and power loss. Trie nodes, blocks, receipts and the tx and log
 * indexes live side by side and a block is written in a single transaction.
 */
export class ChainStore {
  readonly db: Database.Database;
  readonly trie: TrieNodeDB;
  private readonly stmts;

  constructor(datadir: string) {
    mkdirSync(datadir, { recursive: true });
    this.db = new Database(join(datadir, "chain.sqlite"));
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = FULL");
    this.db.exec(SCHEMA);
    migrateJsonReceipts(this.db);
    const db = this.db;
    this.stmts = {
      getMeta: db.prepare<[string], { v: string }>("SELECT v FROM meta WHERE k = ?"),
      putMeta: db.prepare("INSERT OR REPLACE INTO meta (k, v) VALUES (?, ?)"),
      delMeta: db.prepare("DELETE FROM meta WHERE k = ?"),
      getNode: db.prepare<[Buffer], { v: Buffer }>("SELECT v FROM trie WHERE k = ?"),
      putNode: db.prepare("INSERT OR IGNORE INTO trie (k, v) VALUES (?, ?)"),
      putBlock: db.prepare("INSERT INTO blocks (number, hash, rlp) VALUES (?, ?, ?)"),
      blockByNumber: db.prepare<[number], { rlp: Buffer }>("SELECT rlp FROM blocks WHERE number = ?"),
      numberByHash: db.prepare<[Buffer], { number: number }>("SELECT number FROM blocks WHERE hash = ?"),
      putReceipt: db.prepare(
        "INSERT OR REPLACE INTO receipts (hash, block_number, tx_index, first_log_index, sender, gas_used, contract_address, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      getReceipt: db.prepare<[Buffer], ReceiptRow>("SELECT * FROM receipts WHERE hash = ?"),
      receiptsOfBlock: db.prepare<[number], ReceiptRow>(
        "SELECT * FROM receipts WHERE block_number = ? ORDER BY tx_index",
      ),
      putLog: db.prepare(
        "INSERT INTO logs (block_number, log_index, tx_index, tx_hash, address, topic0, topic1, topic2, topic3, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
      ),
      delBlocksAbove: db.prepare("DELETE FROM blocks WHERE number > ?"),
      delTxsAbove: db.prepare("DELETE FROM receipts WHERE block_number > ?"),
      delLogsAbove: db.prepare("DELETE FROM logs WHERE block_number > ?"),
    };
    this.trie = new TrieNodeDB((k) => this.stmts.getNode.get(Buffer.from(k, "hex"))?.v);
  }

  /** Meta values read or written so far (the store is the only writer of its file). */
  private readonly metaCache = new Map<string, string | undefined>();

  getMeta(key: string): string | undefined {
    if (this.metaCache.has(key)) return this.metaCache.get(key);
    const v = this.stmts.getMeta.get(key)?.v;
    this.metaCache.set(key, v);
    return v;
  }

  /** Writes trie nodes left over from a state change outside a block (anvil_setBalance) with a meta value. */
  commitState(meta: Record<string, string | null>): void {
    this.db.transaction(() => {
      this.flushTrie();
      this.writeMeta(meta);
    })();
    this.rememberMeta(meta);
  }

  /** Persists a sealed block with its receipts, logs, trie nodes and the new head, atomically. */
  commitBlock(block: BlockWrite, meta: Record<string, string | null>): void {
    this.db.transaction(() => {
      this.flushTrie(block.stateRoot);
      this.stmts.putBlock.run(block.number, Buffer.from(block.hash), Buffer.from(block.rlp));
      for (const r of block.receipts) putReceipt(this.stmts.putReceipt, r);
      for (const log of block.logs) {
        const t = log.topics;
        this.stmts.putLog.run(
          log.blockNumber,
          log.logIndex,
          log.txIndex,
          Buffer.from(log.txHash),
          Buffer.from(log.address),
          t[0] ? Buffer.from(t[0]) : null,
          t[1] ? Buffer.from(t[1]) : null,
          t[2] ? Buffer.from(t[2]) : null,
          t[3] ? Buffer.from(t[3]) : null,
          Buffer.from(log.data),
        );
      }
      this.writeMeta(meta);
    })();
    this.rememberMeta(meta);
  }

  /** Drops every block above `number` (evm_revert) and moves the head there. */
  truncateAbove(number: number, meta: Record<string, string | null>): void {
    this.db.transaction(() => {
      this.flushTrie();
      this.stmts.delBlocksAbove.run(number);
      this.stmts.delTxsAbove.run(number);
      this.stmts.delLogsAbove.run(number);
      this.writeMeta(meta);
    })();
    this.rememberMeta(meta);
  }

  blockRlp(number: number): Uint8Array | undefined {
    return this.stmts.blockByNumber.get(number)?.rlp;
  }

  blockNumberByHash(hash: Uint8Array): number | undefined {
    return this.stmts.numberByHash.get(Buffer.from(hash))?.number;
  }

  receipt(hash: Uint8Array): StoredReceipt | undefined {
    const row = this.stmts.getReceipt.get(Buffer.from(hash));
    return row && fromRow(row);
  }

  receiptsOfBlock(number: number): StoredReceipt[] {
    return this.stmts.receiptsOfBlock.all(number).map(fromRow);
  }

  queryLogs(q: LogQuery): StoredLog[] {
    const where = ["block_number BETWEEN ? AND ?"];
    const args: unknown[] = [q.fromBlock, q.toBlock];
    if (q.addresses && q.addresses.length > 0) {
      where.push(`address IN (${q.addresses.map(() => "?").join(",")})`);
      args.push(...q.addresses.map((a) => Buffer.from(a)));
    }
    q.topics.forEach((options, i) => {
      if (!options || options.length === 0) return;
      where.push(`topic${i} IN (${options.map(() => "?").join(",")})`);
      args.push(...options.map((t) => Buffer.from(t)));
    });
    const rows = this.db
      .prepare(
        `SELECT * FROM logs WHERE ${where.join(" AND ")} ORDER BY block_number, log_index LIMIT ${q.limit + 1}`,
      )
      .all(...args) as Record<string, Buffer | number | null>[];
    return rows.map((r) => ({
      blockNumber: r.block_number as number,
      logIndex: r.log_index as number,
      txIndex: r.tx_index as number,
      txHash: r.tx_hash as Buffer,
      address: r.address as Buffer,
      topics: [r.topic0, r.topic1, r.topic2, r.topic3].filter((t): t is Buffer => t instanceof Buffer),
      data: r.data as Buffer,
    }));
  }

  close(): void {
    this.db.close();
  }

  /** Writes the trie nodes written since the last commit: all of them, or those `stateRoot` reaches. */
  private flushTrie(stateRoot?: Uint8Array): void {
    const entries = stateRoot ? this.trie.takeReachable(stateRoot) : this.trie.takeUnwritten();
    for (const [k, v] of entries) this.stmts.putNode.run(Buffer.from(k, "hex"), Buffer.from(v));
  }

  /** Called once a transaction that wrote `meta` has committed. */
  private rememberMeta(meta: Record<string, string | null>): void {
    for (const [k, v] of Object.entries(meta)) this.metaCache.set(k, v ?? undefined);
  }

  private writeMeta(meta: Record<string, string | null>): void {
    for (const [k, v] of Object.entries(meta)) {
      if (v === null) this.stmts.delMeta.run(k);
      else this.stmts.putMeta.run(k, v);
    }
  }
}

interface ReceiptRow {
  hash: Buffer;
  block_number: number;
  tx_index: number;
  first_log_index: number;
  sender: Buffer;
  gas_used: number;
  contract_address: Buffer | null;
  receipt: Buffer;
}

function putReceipt(stmt: Database.Statement, r: StoredReceipt): void {
  stmt.run(
    Buffer.from(r.txHash),
    r.blockNumber,
    r.txIndex,
    r.firstLogIndex,
    Buffer.from(r.sender),
    Number(r.gasUsed),
    r.contractAddress ? Buffer.from(r.contractAddress) : null,
    Buffer.from(r.encoded ?? encodeConsensusReceipt(r)),
  );
}

function fromRow(row: ReceiptRow): StoredReceipt {
  return {
    txHash: row.hash,
    blockNumber: row.block_number,
    txIndex: row.tx_index,
    firstLogIndex: row.first_log_index,
    sender: row.sender,
    gasUsed: BigInt(row.gas_used),
    contractAddress: row.contract_address ?? undefined,
    ...decodeConsensusReceipt(row.receipt),
  };
}

/**
 * Data dirs written before receipts were stored in consensus form kept them as JSON-RPC JSON in a
 * `txs` table: converted here, in one transaction, the first time such a data dir is opened.
 */
function migrateJsonReceipts(db: Database.Database): void {
  const legacy = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'txs'").get();
  if (!legacy) return;
  const put = db.prepare(
    "INSERT OR REPLACE INTO receipts (hash, block_number, tx_index, first_log_index, sender, gas_used, contract_address, receipt) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
  );
  db.transaction(() => {
    for (const row of db.prepare("SELECT receipt FROM txs").all() as { receipt: string }[]) {
      putReceipt(put, receiptFromLegacyJson(row.receipt));
    }
    db.exec("DROP TABLE txs");
  })();
}

const NODE_CACHE_LIMIT = 200_000;

/**
 * The state trie's node database. Writes stay in memory until the next block commit writes them to
 * SQLite in the block's own transaction; reads see unwritten nodes, then a bounded cache, then disk.
 * Nodes are content-addressed and never deleted, so every past state root stays readable.
 */
export class TrieNodeDB implements DB<string, Uint8Array> {
  private unwritten = new Map<string, Uint8Array>();
  private cache = new Map<string, Uint8Array>();

  constructor(private readonly load: (key: string) => Uint8Array | undefined) {}

  async get(key: string): Promise<Uint8Array | undefined> {
    return this.getSync(key);
  }

  getSync(key: string): Uint8Array | undefined {
    const hit = this.unwritten.get(key) ?? this.cache.get(key);
    if (hit) return hit;
    const loaded = this.load(key);
    if (loaded) this.remember(key, loaded);
    return loaded;
  }

  async put(key: string, val: Uint8Array): Promise<void> {
    this.unwritten.set(key, val);
  }

  async del(): Promise<void> {}

  async batch(ops: BatchDBOp<string, Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === "put") this.unwritten.set(op.key, op.value);
  }

  shallowCopy(): DB<string, Uint8Array> {
    return this;
  }

  async open(): Promise<void> {}

  /** Forgets the nodes written since the last commit (a block that failed to build or verify). */
  discardUnwritten(): void {
    this.unwritten = new Map();
  }

  /** Whether the node with this key (unprefixed hex hash) is stored or pending. */
  has(key: string): boolean {
    return this.getSync(key) !== undefined;
  }

  /** Hands over the nodes written since the last call (they move into the read cache). */
  takeUnwritten(): [string, Uint8Array][] {
    const entries = [...this.unwritten];
    for (const [k, v] of entries) this.remember(k, v);
    this.unwritten = new Map();
    return entries;
  }

  /** As takeUnwritten, but only the nodes the state at `stateRoot` uses (see reachableNodes.ts). */
  takeReachable(stateRoot: Uint8Array): [string, Uint8Array][] {
    const entries = reachableNodes(stateRoot, this.unwritten);
    for (const [k, v] of entries) this.remember(k, v);
    this.unwritten = new Map();
    return entries;
  }

  private remember(key: string, value: Uint8Array): void {
    if (this.cache.size >= NODE_CACHE_LIMIT) this.cache.clear();
    this.cache.set(key, value);
  }
}

/** A throwaway layer over the node database for eth_call and tracing: writes never reach the store. */
export class OverlayDB implements DB<string, Uint8Array> {
  private local = new Map<string, Uint8Array>();
  constructor(private readonly base: TrieNodeDB) {}
  async get(key: string): Promise<Uint8Array | undefined> {
    return this.local.get(key) ?? this.base.getSync(key);
  }
  async put(key: string, val: Uint8Array): Promise<void> {
    this.local.set(key, val);
  }
  async del(): Promise<void> {}
  async batch(ops: BatchDBOp<string, Uint8Array>[]): Promise<void> {
    for (const op of ops) if (op.type === "put") this.local.set(op.key, op.value);
  }
  shallowCopy(): DB<string, Uint8Array> {
    return this;
  }
  async open(): Promise<void> {}
}
