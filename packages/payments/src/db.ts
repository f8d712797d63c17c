import Database from "better-sqlite3";
import type { Address, Hex } from "viem";

/** An API key's binding to its payer: the payer's EIP-712 signature over the key's hash. */
export interface KeyRow {
  keyHash: Hex;
  payer: Address;
  issuedAt: bigint;
  signature: Hex;
}

/** One settled request: what the payer owes for it, until a batch carries it on-chain. */
export interface UsageRow {
  requestId: string;
  payer: Address;
  modelId: bigint;
  promptTokens: number;
  completionTokens: number;
  fee: bigint;
  receipt: string;
}

/** The payments store: key bindings and usage records in one SQLite file (WAL). */
export class PaymentsDb {
  private readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS api_keys (
        key_hash TEXT PRIMARY KEY, payer TEXT NOT NULL, issued_at TEXT NOT NULL, signature TEXT NOT NULL);
      CREATE TABLE IF NOT EXISTS usage (
        request_id TEXT PRIMARY KEY, payer TEXT NOT NULL, model_id TEXT NOT NULL,
        prompt_tokens INTEGER NOT NULL, completion_tokens INTEGER NOT NULL, fee TEXT NOT NULL,
        receipt TEXT NOT NULL, batch_id TEXT);
      CREATE INDEX IF NOT EXISTS usage_unbatched ON usage (payer) WHERE batch_id IS NULL;`);
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
      .prepare("INSERT INTO usage VALUES (?, ?, ?, ?, ?, ?, ?, NULL)")
      .run(
        u.requestId,
        u.payer,
        u.modelId.toString(),
        u.promptTokens,
        u.completionTokens,
        u.fee.toString(),
        u.receipt,
      );
  }

  /** What `payer` owes for requests no batch has carried yet (wei). */
  unbatchedFees(payer: Address): bigint {
    const rows = this.db.prepare("SELECT fee FROM usage WHERE payer = ? AND batch_id IS NULL").all(payer) as {
      fee: string;
    }[];
    return rows.reduce((s, r) => s + BigInt(r.fee), 0n);
  }

  usage(requestId: string): UsageRow | undefined {
    const r = this.db.prepare("SELECT * FROM usage WHERE request_id = ?").get(requestId) as
      | Record<string, string | number>
      | undefined;
    if (!r) return undefined;
    return {
      requestId: r.request_id as string,
      payer: r.payer as Address,
      modelId: BigInt(r.model_id as string),
      promptTokens: r.prompt_tokens as number,
      completionTokens: r.completion_tokens as number,
      fee: BigInt(r.fee as string),
      receipt: r.receipt as string,
    };
  }

  close(): void {
    this.db.close();
  }
}
