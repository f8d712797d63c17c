import Database from "better-sqlite3";
import { type Address, getAddress, type Hex, isAddress } from "viem";
import type { StoredAttribution } from "./evidence.ts";

/** An API key's binding to its payer: the payer's EIP-712 signature over the key's hash. */
export interface KeyRow {
  keyHash: Hex;
  payer: Address;
  issuedAt: bigint;
  signature: Hex;
}

/**
 * How a request was paid: 'escrow' (a debit of the payer's prepaid escrow in the batch) or 'x402'
 * (the payer already paid the operator by EIP-3009; the batch brings it in as `prepaid`).
 */
export type PaymentKind = "escrow" | "x402";

/** One settled request: what the payer owes for it and what it credits, until a batch carries it on-chain. */
export interface UsageRow {
  requestId: string;
  payer: Address;
  modelId: bigint;
  promptTokens: number;
  completionTokens: number;
  fee: bigint;
  receipt: string;
  payment?: PaymentKind;
  /** the answer's text, as attributed */
  output?: string;
  /** the Datanet snapshots the model (and its adapters) were trained on */
  snapshotIds?: bigint[];
  /** span-v2 result with proven witness chunks; null when span-v2 could not take the output */
  attribution?: StoredAttribution | null;
  /** the settlement batch that carries it (set once that batch's transaction is mined) */
  batchId?: bigint;
  /** grad-v1 of the answer, once the background attributor has run (never for a model without a gradient store) */
  grad?: GradAttributionJson | null;
}

/** A grad-v1 result as stored and served (bigints as decimal strings). */
export interface GradAttributionJson {
  algorithm: "grad-v1";
  commitment: Hex;
  queryHash: Hex;
  storeHash: Hex;
  credits: { contributionId: string; influence: string; share: number }[];
}

/** A batch this operator posted, as the routes and the claimers read it. */
export interface BatchRow {
  batchId: bigint;
  modelId: bigint;
  txHash: Hex;
  fee: bigint;
  prepaid: bigint;
  challengeDeadline: bigint;
  status: "pending" | "finalized" | "reverted";
  /** request ids, in record order (record i is requestIds[i]) */
  requestIds: string[];
  /** each record's attribution bytes and payouts (decimal strings), in order */
  records: { attribution: Hex; payouts: { account: Address; amount: string }[] }[];
  debits: { account: Address; amount: string; spentAfter: string; voucherOnly: boolean }[];
  /** the training snapshots its uncredited records were paid by (decimal strings), when it has such records */
  training?: TrainingSnapshotJson[];
}

/** A TrainingSnapshot as stored and served (decimal strings). */
export interface TrainingSnapshotJson {
  snapshotId: string;
  trainingTokens: string;
  totalWeight: string;
  contributors: { account: Address; weight: string }[];
}

/** What a batch is made of, as stored (JSON). */
export type BatchBody = Pick<BatchRow, "requestIds" | "records" | "debits" | "training">;

/** A batch being posted: written before the transaction is sent, resolved once its fate is known. */
export interface PostingRow {
  recordsRoot: Hex;
  modelId: bigint;
  prepaid: bigint;
  txHash: Hex | null;
  fromBlock: bigint;
  batch: BatchBody;
}

export interface PaymentsDbOptions {
  /** what opening the store has to report (default: console.warn) */
  warn?: (message: string, fields: Record<string, unknown>) => void;
}

/** The payments store: key bindings, usage records and settlement batches in one SQLite file (WAL). */
export class PaymentsDb {
  private readonly db: Database.Database;

  constructor(path: string, opts: PaymentsDbOptions = {}) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS api_keys (
        key_hash TEXT PRIMARY KEY, payer TEXT NOT NULL, issued_at TEXT NOT NULL, signature TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS usage (
        request_id TEXT PRIMARY KEY, payer TEXT NOT NULL, model_id TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, fee TEXT NOT NULL,
        receipt TEXT NOT NULL, batch_id TEXT);
      CREATE INDEX IF NOT EXISTS usage_unbatched ON usage (payer) WHERE batch_id IS NULL;
      CREATE TABLE IF NOT EXISTS batches (
        batch_id TEXT PRIMARY KEY, model_id TEXT NOT NULL, tx_hash TEXT NOT NULL, fee TEXT NOT NULL,
        prepaid TEXT NOT NULL, challenge_deadline TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS postings (
        records_root TEXT PRIMARY KEY, model_id TEXT NOT NULL, prepaid TEXT NOT NULL, tx_hash TEXT,
        from_block TEXT NOT NULL, body TEXT NOT NULL);
      -- every nonzero payout of a stored batch by its (checksummed) account, so an account's payouts
      -- are found without reading every batch; filled with the batch, in the same transaction
      CREATE TABLE IF NOT EXISTS payouts (
        account TEXT NOT NULL, batch_id TEXT NOT NULL, record_index INTEGER NOT NULL, entry INTEGER NOT NULL,
        PRIMARY KEY (account, batch_id, record_index, entry)) WITHOUT ROWID;`);
    // stores written before settlement batches existed gain the columns settlement needs
    const columns = new Set(
      (this.db.prepare("PRAGMA table_info(usage)").all() as { name: string }[]).map((c) => c.name),
    );
    const add = (name: string, decl: string) => {
      if (!columns.has(name)) this.db.exec(`ALTER TABLE usage ADD COLUMN ${name} ${decl}`);
    };
    add("payment", "TEXT NOT NULL DEFAULT 'escrow'");
    add("output", "TEXT NOT NULL DEFAULT ''");
    add("snapshot_ids", "TEXT NOT NULL DEFAULT '[]'");
    add("attribution", "TEXT");
    add("created_at", "INTEGER NOT NULL DEFAULT 0");
    add("grad_attribution", "TEXT");
    this.db.exec(
      "CREATE INDEX IF NOT EXISTS usage_model_unbatched ON usage (model_id) WHERE batch_id IS NULL",
    );
    // batches stored before the payouts index existed are indexed now
    const batchColumns = this.db.prepare("PRAGMA table_info(batches)").all() as { name: string }[];
    if (!batchColumns.some((c) => c.name === "payouts_indexed"))
      this.db.exec("ALTER TABLE batches ADD COLUMN payouts_indexed INTEGER NOT NULL DEFAULT 0");
    // an old batch naming a malformed account must not keep the server from starting
    const unindexed = this.indexPayouts();
    if (unindexed > 0) {
      (opts.warn ?? console.warn)("payouts to malformed accounts were left out of the payouts index", {
        payouts: unindexed,
      });
    }
  }

  /**
   * Indexes the payouts of every batch not indexed yet (a store older than the index). Returns how
   * many payouts were left out for naming a malformed account.
   */
  private indexPayouts(): number {
    const rows = this.db.prepare("SELECT * FROM batches WHERE payouts_indexed = 0").all() as BatchRecordRow[];
    if (rows.length === 0) return 0;
    let unindexed = 0;
    this.db.transaction(() => {
      for (const r of rows) unindexed += this.putPayouts(toBatch(r));
    })();
    return unindexed;
  }

  /**
   * Replaces a batch's payout index rows and marks it indexed (inside the caller's transaction).
   * A payout to a malformed account (no route can ask for it) is left out; returns how many were.
   */
  private putPayouts(b: BatchRow): number {
    let unindexed = 0;
    const id = b.batchId.toString();
    this.db.prepare("DELETE FROM payouts WHERE batch_id = ?").run(id);
    const put = this.db.prepare("INSERT OR IGNORE INTO payouts VALUES (?, ?, ?, ?)");
    b.records.forEach((r, index) => {
      r.payouts.forEach((p, entry) => {
        if (p.amount === "0") return;
        if (isAddress(p.account, { strict: false })) put.run(getAddress(p.account), id, index, entry);
        else unindexed++;
      });
    });
    this.db.prepare("UPDATE batches SET payouts_indexed = 1 WHERE batch_id = ?").run(id);
    return unindexed;
  }

  putKey(k: KeyRow): void {
    this.db
      .prepare("INSERT OR REPLACE INTO api_keys VALUES (?, ?, ?, ?)")
      .run(k.keyHash, k.payer, k.issuedAt.toString(), k.signature);
  }

  key(keyHash: Hex): KeyRow | undefined {
    const r = this.db.prepare("SELECT * FROM api_keys WHERE key_hash = ?").get(keyHash) as
      | { key_hash: Hex; payer: Address; issued_at: string; signature: Hex }
      | undefined;
    return (
      r && { keyHash: r.key_hash, payer: r.payer, issuedAt: BigInt(r.issued_at), signature: r.signature }
    );
  }

  addUsage(u: UsageRow): void {
    this.db
      .prepare(
        `INSERT INTO usage (request_id, payer, model_id, prompt_tokens, completion_tokens, fee, receipt,
           batch_id, payment, output, snapshot_ids, attribution, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
      )
      .run(
        u.requestId,
        u.payer,
        u.modelId.toString(),
        u.promptTokens,
        u.completionTokens,
        u.fee.toString(),
        u.receipt,
        u.payment ?? "escrow",
        u.output ?? "",
        JSON.stringify((u.snapshotIds ?? []).map(String)),
        u.attribution ? JSON.stringify(u.attribution) : null,
        Date.now(),
      );
  }

  /** What `payer` owes from its escrow for requests no batch has carried yet (wei; x402 ones are paid). */
  unbatchedFees(payer: Address): bigint {
    const rows = this.db
      .prepare("SELECT fee FROM usage WHERE payer = ? AND batch_id IS NULL AND payment = 'escrow'")
      .all(payer) as { fee: string }[];
    return rows.reduce((s, r) => s + BigInt(r.fee), 0n);
  }

  /** Stores the grad-v1 result of a request's answer. */
  setGradAttribution(requestId: string, grad: GradAttributionJson): void {
    this.db
      .prepare("UPDATE usage SET grad_attribution = ? WHERE request_id = ?")
      .run(JSON.stringify(grad), requestId);
  }

  usage(requestId: string): UsageRow | undefined {
    const r = this.db.prepare("SELECT * FROM usage WHERE request_id = ?").get(requestId) as
      | UsageRecordRow
      | undefined;
    return r && toUsage(r);
  }

  /** Models with charged usage no batch carries yet: how many rows, and when the oldest came (ms). */
  unbatchedModels(): { modelId: bigint; count: number; oldest: number }[] {
    const rows = this.db
      .prepare(
        "SELECT model_id, COUNT(*) AS n, MIN(created_at) AS oldest FROM usage WHERE batch_id IS NULL AND fee != '0' GROUP BY model_id",
      )
      .all() as { model_id: string; n: number; oldest: number }[];
    return rows.map((r) => ({ modelId: BigInt(r.model_id), count: r.n, oldest: r.oldest }));
  }

  /** Up to `limit` unbatched rows of a model, oldest first, leaving out those a posting holds. */
  unbatched(modelId: bigint, limit: number): UsageRow[] {
    const held = new Set(this.postings().flatMap((p) => p.batch.requestIds));
    const rows = this.db
      .prepare("SELECT * FROM usage WHERE model_id = ? AND batch_id IS NULL AND fee != '0' ORDER BY rowid")
      .all(modelId.toString()) as UsageRecordRow[];
    return rows
      .filter((r) => !held.has(r.request_id))
      .slice(0, limit)
      .map(toUsage);
  }

  addPosting(p: PostingRow): void {
    this.db
      .prepare("INSERT INTO postings VALUES (?, ?, ?, ?, ?, ?)")
      .run(
        p.recordsRoot,
        p.modelId.toString(),
        p.prepaid.toString(),
        p.txHash,
        p.fromBlock.toString(),
        JSON.stringify(p.batch),
      );
  }

  setPostingTx(recordsRoot: Hex, txHash: Hex): void {
    this.db.prepare("UPDATE postings SET tx_hash = ? WHERE records_root = ?").run(txHash, recordsRoot);
  }

  dropPosting(recordsRoot: Hex): void {
    this.db.prepare("DELETE FROM postings WHERE records_root = ?").run(recordsRoot);
  }

  postings(): PostingRow[] {
    const rows = this.db.prepare("SELECT * FROM postings").all() as {
      records_root: Hex;
      model_id: string;
      prepaid: string;
      tx_hash: Hex | null;
      from_block: string;
      body: string;
    }[];
    return rows.map((r) => ({
      recordsRoot: r.records_root,
      modelId: BigInt(r.model_id),
      prepaid: BigInt(r.prepaid),
      txHash: r.tx_hash,
      fromBlock: BigInt(r.from_block),
      batch: JSON.parse(r.body),
    }));
  }

  /** The posting became batch `b` on-chain: one transaction stores the batch, marks its rows, drops the posting. */
  commitPosting(recordsRoot: Hex, b: BatchRow): void {
    const mark = this.db.prepare("UPDATE usage SET batch_id = ? WHERE request_id = ?");
    this.db.transaction(() => {
      const {
        batchId,
        modelId,
        txHash,
        fee,
        prepaid,
        challengeDeadline,
        status,
        requestIds,
        records,
        debits,
        training,
      } = b;
      const body: BatchBody = { requestIds, records, debits, ...(training ? { training } : {}) };
      this.db
        .prepare(
          `INSERT OR REPLACE INTO batches (batch_id, model_id, tx_hash, fee, prepaid, challenge_deadline,
             status, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          batchId.toString(),
          modelId.toString(),
          txHash,
          fee.toString(),
          prepaid.toString(),
          challengeDeadline.toString(),
          status,
          JSON.stringify(body),
        );
      for (const id of b.requestIds) mark.run(batchId.toString(), id);
      this.putPayouts(b);
      this.db.prepare("DELETE FROM postings WHERE records_root = ?").run(recordsRoot);
    })();
  }

  setBatchStatus(batchId: bigint, status: BatchRow["status"]): void {
    this.db.prepare("UPDATE batches SET status = ? WHERE batch_id = ?").run(status, batchId.toString());
  }

  batch(batchId: bigint): BatchRow | undefined {
    const r = this.db.prepare("SELECT * FROM batches WHERE batch_id = ?").get(batchId.toString()) as
      | BatchRecordRow
      | undefined;
    return r && toBatch(r);
  }

  /** Batches, newest first. */
  batches(o: { status?: BatchRow["status"]; limit?: number; before?: bigint } = {}): BatchRow[] {
    const rows = this.db
      .prepare(
        `SELECT * FROM batches
         WHERE (@status IS NULL OR status = @status) AND (@before IS NULL OR CAST(batch_id AS INTEGER) < @before)
         ORDER BY CAST(batch_id AS INTEGER) DESC LIMIT @limit`,
      )
      .all({
        status: o.status ?? null,
        before: o.before === undefined ? null : o.before,
        limit: o.limit ?? -1,
      }) as BatchRecordRow[];
    return rows.map(toBatch);
  }

  /** Every nonzero payout to `account`: its batch, record index and entry; newest batch first. */
  payoutsTo(account: Address): { batch: BatchRow; index: number; entry: number }[] {
    const rows = this.db
      .prepare(
        `SELECT batch_id, record_index, entry FROM payouts WHERE account = ?
         ORDER BY CAST(batch_id AS INTEGER) DESC, record_index, entry`,
      )
      .all(getAddress(account)) as { batch_id: string; record_index: number; entry: number }[];
    const batches = new Map<string, BatchRow>();
    return rows.map((r) => {
      let batch = batches.get(r.batch_id);
      if (!batch) {
        batch = this.batch(BigInt(r.batch_id))!;
        batches.set(r.batch_id, batch);
      }
      return { batch, index: r.record_index, entry: r.entry };
    });
  }

  close(): void {
    this.db.close();
  }
}

interface UsageRecordRow {
  request_id: string;
  payer: Address;
  model_id: string;
  prompt_tokens: number;
  completion_tokens: number;
  fee: string;
  receipt: string;
  batch_id: string | null;
  payment: PaymentKind;
  output: string;
  snapshot_ids: string;
  attribution: string | null;
  grad_attribution: string | null;
}

function toUsage(r: UsageRecordRow): UsageRow {
  return {
    requestId: r.request_id,
    payer: r.payer,
    modelId: BigInt(r.model_id),
    promptTokens: r.prompt_tokens,
    completionTokens: r.completion_tokens,
    fee: BigInt(r.fee),
    receipt: r.receipt,
    payment: r.payment,
    output: r.output,
    snapshotIds: (JSON.parse(r.snapshot_ids) as string[]).map(BigInt),
    attribution: r.attribution ? JSON.parse(r.attribution) : null,
    grad: r.grad_attribution ? JSON.parse(r.grad_attribution) : null,
    ...(r.batch_id === null ? {} : { batchId: BigInt(r.batch_id) }),
  };
}

interface BatchRecordRow {
  batch_id: string;
  model_id: string;
  tx_hash: Hex;
  fee: string;
  prepaid: string;
  challenge_deadline: string;
  status: BatchRow["status"];
  body: string;
}

function toBatch(r: BatchRecordRow): BatchRow {
  return {
    batchId: BigInt(r.batch_id),
    modelId: BigInt(r.model_id),
    txHash: r.tx_hash,
    fee: BigInt(r.fee),
    prepaid: BigInt(r.prepaid),
    challengeDeadline: BigInt(r.challenge_deadline),
    status: r.status,
    ...JSON.parse(r.body),
  };
}
