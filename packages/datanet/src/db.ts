import Database from "better-sqlite3";
import type { Address, Hex } from "viem";

export type ContributionStatus = "pending" | "accepted" | "rejected";

export interface DatanetRow {
  id: bigint;
  owner: Address;
  name: string;
  description: string;
  metadataUri: string;
  licensePrice: string;
  createdBlock: number;
}

export interface ContributionRow {
  id: bigint;
  datanetId: bigint;
  contributor: Address;
  cid: string;
  metaCid: string;
  contentHash: Hex;
  format: string;
  license: string;
  source: string;
  signature: string;
  byteSize: number;
  chunkCount: number;
  status: ContributionStatus;
  /** `available`: content and chunks are in this store; `missing`: submitted on-chain without uploading here. */
  contentState: "available" | "missing";
  block: number;
  txHash: Hex;
}

export interface StagedRow {
  datanetId: bigint;
  contentHash: Hex;
  contributor: Address;
  metaCid: string;
  contentCid: string;
  stagedAt: number;
}

export interface ChunkRow {
  contributionId: bigint;
  idx: number;
  byteStart: number;
  byteEnd: number;
  contentHash: Hex;
  text: string;
  minhash: Uint8Array | null;
}

export interface SnapshotRow {
  id: bigint;
  datanetId: bigint;
  version: number;
  root: Hex;
  chunkCount: number;
  contributionCount: number;
  manifestCid: string;
  block: number;
  txHash: Hex;
}

export interface SnapshotEntryRow {
  snapshotId: bigint;
  position: number;
  contributionId: bigint;
  firstLeaf: number;
  chunkCount: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS datanets (
  id INTEGER PRIMARY KEY, owner TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
  metadata_uri TEXT NOT NULL, license_price TEXT NOT NULL, created_block INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS contributions (
  id INTEGER PRIMARY KEY, datanet_id INTEGER NOT NULL REFERENCES datanets(id), contributor TEXT NOT NULL,
  cid TEXT NOT NULL, meta_cid TEXT NOT NULL, content_hash TEXT NOT NULL,
  format TEXT NOT NULL, license TEXT NOT NULL, source TEXT NOT NULL, signature TEXT NOT NULL,
  byte_size INTEGER NOT NULL, chunk_count INTEGER NOT NULL, status TEXT NOT NULL,
  content_state TEXT NOT NULL, block INTEGER NOT NULL, tx_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS staged (
  datanet_id INTEGER NOT NULL, content_hash TEXT NOT NULL, contributor TEXT NOT NULL, meta_cid TEXT NOT NULL,
  content_cid TEXT NOT NULL, staged_at INTEGER NOT NULL, PRIMARY KEY (datanet_id, content_hash)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS contributions_by_datanet ON contributions(datanet_id, status, id);
CREATE INDEX IF NOT EXISTS contributions_by_hash ON contributions(datanet_id, content_hash);
CREATE TABLE IF NOT EXISTS chunks (
  contribution_id INTEGER NOT NULL REFERENCES contributions(id), idx INTEGER NOT NULL,
  byte_start INTEGER NOT NULL, byte_end INTEGER NOT NULL, content_hash TEXT NOT NULL, text TEXT NOT NULL,
  minhash BLOB, PRIMARY KEY (contribution_id, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS snapshots (
  id INTEGER PRIMARY KEY, datanet_id INTEGER NOT NULL REFERENCES datanets(id), version INTEGER NOT NULL,
  root TEXT NOT NULL, chunk_count INTEGER NOT NULL, contribution_count INTEGER NOT NULL,
  manifest_cid TEXT NOT NULL, block INTEGER NOT NULL, tx_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS snapshot_entries (
  snapshot_id INTEGER NOT NULL REFERENCES snapshots(id), position INTEGER NOT NULL,
  contribution_id INTEGER NOT NULL, first_leaf INTEGER NOT NULL, chunk_count INTEGER NOT NULL,
  PRIMARY KEY (snapshot_id, position)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS licenses (
  snapshot_id INTEGER NOT NULL, licensee TEXT NOT NULL, block INTEGER NOT NULL, tx_hash TEXT NOT NULL,
  PRIMARY KEY (snapshot_id, licensee)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sync_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
`;

/** The SQLite index (WAL): a mirror of the chain's Datanet state plus chunk texts and signatures. */
export class DatanetDb {
  readonly db: Database.Database;

  constructor(path: string) {
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("synchronous = NORMAL");
    this.db.pragma("foreign_keys = ON");
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  /**
   * A statement that reads every INTEGER column as a bigint: ids are uint256 on-chain and a number
   * would round them past 2^53. The row mappers below turn the counting columns back into numbers.
   */
  private reading(sql: string): Database.Statement {
    return this.db.prepare(sql).safeIntegers(true);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  getSync(key: string): string | undefined {
    const row = this.db.prepare("SELECT value FROM sync_state WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  setSync(key: string, value: string): void {
    this.db
      .prepare(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  upsertDatanet(d: DatanetRow): void {
    this.db
      .prepare(
        `INSERT INTO datanets (id, owner, name, description, metadata_uri, license_price, created_block)
         VALUES (@id, @owner, @name, @description, @metadataUri, @licensePrice, @createdBlock)
         ON CONFLICT(id) DO UPDATE SET owner = excluded.owner, name = excluded.name,
           description = excluded.description, metadata_uri = excluded.metadata_uri,
           license_price = excluded.license_price`,
      )
      .run(d);
  }

  getDatanet(id: bigint): DatanetRow | undefined {
    const row = this.reading(`SELECT ${DATANET_COLS} FROM datanets WHERE id = ?`).get(id);
    return row === undefined ? undefined : datanetRow(row as SqlRow<DatanetRow>);
  }

  /** Datanets by id ascending: all of them, or a page of `limit` after id `afterId`. */
  listDatanets(opts: { limit?: number; afterId?: bigint } = {}): DatanetRow[] {
    return (
      this.reading(`SELECT ${DATANET_COLS} FROM datanets WHERE id > ? ORDER BY id LIMIT ?`).all(
        opts.afterId ?? 0n,
        opts.limit ?? -1,
      ) as SqlRow<DatanetRow>[]
    ).map(datanetRow);
  }

  hasContribution(id: bigint): boolean {
    return this.db.prepare("SELECT 1 FROM contributions WHERE id = ?").get(id) !== undefined;
  }

  insertContribution(c: ContributionRow, chunks: ChunkRow[]): void {
    this.db
      .prepare(
        `INSERT INTO contributions (id, datanet_id, contributor, cid, meta_cid, content_hash, format,
           license, source, signature, byte_size, chunk_count, status, content_state, block, tx_hash)
         VALUES (@id, @datanetId, @contributor, @cid, @metaCid, @contentHash, @format, @license,
           @source, @signature, @byteSize, @chunkCount, @status, @contentState, @block, @txHash)`,
      )
      .run(c);
    const insert = this.db.prepare(
      `INSERT INTO chunks (contribution_id, idx, byte_start, byte_end, content_hash, text, minhash)
       VALUES (@contributionId, @idx, @byteStart, @byteEnd, @contentHash, @text, @minhash)`,
    );
    for (const chunk of chunks) insert.run(chunk);
  }

  setStatus(id: bigint, status: ContributionStatus): void {
    this.db.prepare("UPDATE contributions SET status = ? WHERE id = ?").run(status, id);
  }

  getContribution(id: bigint): ContributionRow | undefined {
    const row = this.reading(`SELECT ${CONTRIBUTION_COLS} FROM contributions WHERE id = ?`).get(id);
    return row === undefined ? undefined : contributionRow(row as SqlRow<ContributionRow>);
  }

  listContributions(
    datanetId: bigint,
    opts: { status?: ContributionStatus; limit?: number; afterId?: bigint } = {},
  ): ContributionRow[] {
    return (
      this.reading(
        `SELECT ${CONTRIBUTION_COLS} FROM contributions
         WHERE datanet_id = ? AND (? IS NULL OR status = ?) AND id > ? ORDER BY id LIMIT ?`,
      ).all(
        datanetId,
        opts.status ?? null,
        opts.status ?? null,
        opts.afterId ?? 0n,
        opts.limit ?? -1,
      ) as SqlRow<ContributionRow>[]
    ).map(contributionRow);
  }

  /** Any contribution with this content hash (the registry refuses a hash twice, even after rejection). */
  findByContentHash(datanetId: bigint, contentHash: Hex): ContributionRow | undefined {
    const row = this.reading(
      `SELECT ${CONTRIBUTION_COLS} FROM contributions WHERE datanet_id = ? AND content_hash = ? LIMIT 1`,
    ).get(datanetId, contentHash);
    return row === undefined ? undefined : contributionRow(row as SqlRow<ContributionRow>);
  }

  insertStaged(row: StagedRow): void {
    this.db
      .prepare(
        `INSERT INTO staged (datanet_id, content_hash, contributor, meta_cid, content_cid, staged_at)
         VALUES (@datanetId, @contentHash, @contributor, @metaCid, @contentCid, @stagedAt)`,
      )
      .run(row);
  }

  getStaged(datanetId: bigint, contentHash: string): StagedRow | undefined {
    const row = this.reading(
      `SELECT ${STAGED_COLS} FROM staged WHERE datanet_id = ? AND content_hash = ?`,
    ).get(datanetId, contentHash);
    return row === undefined ? undefined : stagedRow(row as SqlRow<StagedRow>);
  }

  listStaged(datanetId?: bigint): StagedRow[] {
    return (
      this.reading(
        `SELECT ${STAGED_COLS} FROM staged WHERE (? IS NULL OR datanet_id = ?) ORDER BY staged_at`,
      ).all(datanetId ?? null, datanetId ?? null) as SqlRow<StagedRow>[]
    ).map(stagedRow);
  }

  deleteStaged(datanetId: bigint, contentHash: Hex): void {
    this.db
      .prepare("DELETE FROM staged WHERE datanet_id = ? AND content_hash = ?")
      .run(datanetId, contentHash);
  }

  /** Whether any contribution or staged upload still refers to a blob. */
  blobInUse(cid: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM contributions WHERE cid = ? OR meta_cid = ? LIMIT 1").get(cid, cid) !==
        undefined ||
      this.db.prepare("SELECT 1 FROM staged WHERE meta_cid = ? OR content_cid = ? LIMIT 1").get(cid, cid) !==
        undefined
    );
  }

  counts(datanetId: bigint): Record<ContributionStatus, number> {
    const out: Record<ContributionStatus, number> = { pending: 0, accepted: 0, rejected: 0 };
    const rows = this.db
      .prepare("SELECT status, COUNT(*) AS n FROM contributions WHERE datanet_id = ? GROUP BY status")
      .all(datanetId) as { status: ContributionStatus; n: number }[];
    for (const r of rows) out[r.status] = r.n;
    return out;
  }

  setDatanetOwner(id: bigint, owner: Address): void {
    this.db.prepare("UPDATE datanets SET owner = ? WHERE id = ?").run(owner, id);
  }

  setDatanetLicensePrice(id: bigint, price: string): void {
    this.db.prepare("UPDATE datanets SET license_price = ? WHERE id = ?").run(price, id);
  }

  setDatanetMetadata(id: bigint, metadataUri: string, name: string, description: string): void {
    this.db
      .prepare("UPDATE datanets SET metadata_uri = ?, name = ?, description = ? WHERE id = ?")
      .run(metadataUri, name, description, id);
  }

  chunks(contributionId: bigint): ChunkRow[] {
    return (
      this.reading(`SELECT ${CHUNK_COLS} FROM chunks WHERE contribution_id = ? ORDER BY idx`).all(
        contributionId,
      ) as SqlRow<ChunkRow>[]
    ).map(chunkRow);
  }

  /** Chunk indexes and content hashes only (what a snapshot's leaves need). */
  chunkHashes(contributionId: bigint): { idx: number; contentHash: Hex }[] {
    return this.db
      .prepare("SELECT idx, content_hash AS contentHash FROM chunks WHERE contribution_id = ? ORDER BY idx")
      .all(contributionId) as { idx: number; contentHash: Hex }[];
  }

  /** Every live (pending or accepted) chunk signature, for rebuilding the near-duplicate index. */
  *liveSignatures(): Generator<{ datanetId: bigint; contributionId: bigint; idx: number; minhash: Buffer }> {
    const stmt = this.reading(
      `SELECT c.datanet_id AS datanetId, k.contribution_id AS contributionId, k.idx AS idx, k.minhash AS minhash
       FROM chunks k JOIN contributions c ON c.id = k.contribution_id
       WHERE c.status != 'rejected' AND k.minhash IS NOT NULL`,
    );
    for (const row of stmt.iterate() as Iterable<{
      datanetId: bigint;
      contributionId: bigint;
      idx: bigint;
      minhash: Buffer;
    }>) {
      yield { ...row, idx: Number(row.idx) };
    }
  }

  insertSnapshot(s: SnapshotRow, entries: SnapshotEntryRow[]): void {
    this.db
      .prepare(
        `INSERT INTO snapshots (id, datanet_id, version, root, chunk_count, contribution_count, manifest_cid, block, tx_hash)
         VALUES (@id, @datanetId, @version, @root, @chunkCount, @contributionCount, @manifestCid, @block, @txHash)
         ON CONFLICT(id) DO NOTHING`,
      )
      .run(s);
    const insert = this.db.prepare(
      `INSERT INTO snapshot_entries (snapshot_id, position, contribution_id, first_leaf, chunk_count)
       VALUES (@snapshotId, @position, @contributionId, @firstLeaf, @chunkCount) ON CONFLICT DO NOTHING`,
    );
    for (const e of entries) insert.run(e);
  }

  getSnapshot(id: bigint): SnapshotRow | undefined {
    const row = this.reading(`SELECT ${SNAPSHOT_COLS} FROM snapshots WHERE id = ?`).get(id);
    return row === undefined ? undefined : snapshotRow(row as SqlRow<SnapshotRow>);
  }

  listSnapshots(datanetId: bigint): SnapshotRow[] {
    return (
      this.reading(`SELECT ${SNAPSHOT_COLS} FROM snapshots WHERE datanet_id = ? ORDER BY version`).all(
        datanetId,
      ) as SqlRow<SnapshotRow>[]
    ).map(snapshotRow);
  }

  snapshotEntries(snapshotId: bigint): SnapshotEntryRow[] {
    return (
      this.reading(
        `SELECT snapshot_id AS snapshotId, position, contribution_id AS contributionId, first_leaf AS firstLeaf,
           chunk_count AS chunkCount FROM snapshot_entries WHERE snapshot_id = ? ORDER BY position`,
      ).all(snapshotId) as SqlRow<SnapshotEntryRow>[]
    ).map(snapshotEntryRow);
  }

  recordLicense(snapshotId: bigint, licensee: Address, block: number, txHash: Hex): void {
    this.db
      .prepare(
        "INSERT INTO licenses (snapshot_id, licensee, block, tx_hash) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(snapshotId, licensee.toLowerCase(), block, txHash);
  }

  hasLicense(snapshotId: bigint, licensee: string): boolean {
    return (
      this.db
        .prepare("SELECT 1 FROM licenses WHERE snapshot_id = ? AND licensee = ?")
        .get(snapshotId, licensee.toLowerCase()) !== undefined
    );
  }
}

const DATANET_COLS = `id, owner, name, description, metadata_uri AS metadataUri, license_price AS licensePrice,
  created_block AS createdBlock`;
const CONTRIBUTION_COLS = `id, datanet_id AS datanetId, contributor, cid, meta_cid AS metaCid,
  content_hash AS contentHash, format, license, source, signature, byte_size AS byteSize,
  chunk_count AS chunkCount, status, content_state AS contentState, block, tx_hash AS txHash`;
const CHUNK_COLS = `contribution_id AS contributionId, idx, byte_start AS byteStart, byte_end AS byteEnd,
  content_hash AS contentHash, text, minhash`;
const STAGED_COLS = `datanet_id AS datanetId, content_hash AS contentHash, contributor, meta_cid AS metaCid,
  content_cid AS contentCid, staged_at AS stagedAt`;
const SNAPSHOT_COLS = `id, datanet_id AS datanetId, version, root, chunk_count AS chunkCount,
  contribution_count AS contributionCount, manifest_cid AS manifestCid, block, tx_hash AS txHash`;

/** A row as a safe-integer statement reads it: every column of `T` that is a number arrives as a bigint. */
type SqlRow<T> = { [K in keyof T]: T[K] extends number ? bigint : T[K] };

// One mapper per table: ids stay bigint, counts, sizes, offsets and block numbers become numbers.

function datanetRow(r: SqlRow<DatanetRow>): DatanetRow {
  return { ...r, createdBlock: Number(r.createdBlock) };
}

function contributionRow(r: SqlRow<ContributionRow>): ContributionRow {
  return { ...r, byteSize: Number(r.byteSize), chunkCount: Number(r.chunkCount), block: Number(r.block) };
}

function stagedRow(r: SqlRow<StagedRow>): StagedRow {
  return { ...r, stagedAt: Number(r.stagedAt) };
}

function chunkRow(r: SqlRow<ChunkRow>): ChunkRow {
  return { ...r, idx: Number(r.idx), byteStart: Number(r.byteStart), byteEnd: Number(r.byteEnd) };
}

function snapshotRow(r: SqlRow<SnapshotRow>): SnapshotRow {
  return {
    ...r,
    version: Number(r.version),
    chunkCount: Number(r.chunkCount),
    contributionCount: Number(r.contributionCount),
    block: Number(r.block),
  };
}

function snapshotEntryRow(r: SqlRow<SnapshotEntryRow>): SnapshotEntryRow {
  return {
    ...r,
    position: Number(r.position),
    firstLeaf: Number(r.firstLeaf),
    chunkCount: Number(r.chunkCount),
  };
}
