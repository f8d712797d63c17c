import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SerialQueue } from "@openledger/common";
import type { Address, Hex } from "viem";
import { type BlobStore, FileBlobStore } from "./blobstore.ts";
import { DEFAULT_MAX_CHUNK_BYTES } from "./chunking.ts";
import type { ChainAccess, DatanetStores, Progress } from "./context.ts";
import { curate } from "./curation.ts";
import { type CreateDatanetInput, datanetParams } from "./datanets.ts";
import {
  type ContributionRow,
  type ContributionStatus,
  DatanetDb,
  type DatanetRow,
  type SnapshotRow,
} from "./db.ts";
import { lockDataDir } from "./dir-lock.ts";
import { ChainError, InvalidInputError, NotFoundError, PermissionError } from "./errors.ts";
import type { FollowerTarget } from "./follower.ts";
import { validateAddress } from "./ingest.ts";
import { type ContributionLimits, DEFAULT_LIMITS, RateLimiter } from "./limits.ts";
import type { MinHashParams } from "./minhash.ts";
import { ChainMirror } from "./mirror.ts";
import { NearDupIndex, signatureFromBytes } from "./neardup.ts";
import { buyLicense, getSnapshot, hasLicense, publishSnapshot } from "./publishing.ts";
import { ContentRefs } from "./refs.ts";
import type { RegistryPort } from "./registry-port.ts";
import { SnapshotStore } from "./snapshots.ts";
import { type StagedContribution, type StagedView, type StageInput, StagingArea } from "./staging.ts";
import {
  createDatanetTransactions,
  curateTransactions,
  licenseTransactions,
  snapshotTransactions,
  submitTransactions,
  type UnsignedTransaction,
} from "./unsigned.ts";

export { type CreateDatanetInput, MAX_DESCRIPTION_BYTES, MAX_NAME_CHARS } from "./datanets.ts";
export type { StagedContribution, StagedView, StageInput } from "./staging.ts";
export type { UnsignedTransaction } from "./unsigned.ts";

export interface DatanetServiceOptions {
  /** Holds `index.sqlite`, `blobs/` and `refs/`. */
  dataDir: string;
  /** The chain; without it only reads of the existing index work. */
  registry?: RegistryPort;
  blobs?: BlobStore;
  limits?: Partial<ContributionLimits>;
  minhash?: MinHashParams;
  nearDupThreshold?: number;
  maxChunkBytes?: number;
  /** Block range per eth_getLogs call while following the chain. */
  logRange?: bigint;
  /** How long an upload may stay staged without its on-chain submission (default one day). */
  stagedTtlMs?: number;
  /** The clock for staged-upload expiry and rate limits (tests pass their own). */
  now?: () => number;
}

export interface ContributionView extends ContributionRow {
  chunks?: { index: number; byteStart: number; byteEnd: number; contentHash: Hex; text: string }[];
}

export interface DatanetView extends DatanetRow {
  counts: Record<ContributionStatus, number>;
  snapshots: SnapshotRow[];
}

/**
 * The Datanet service: stores and checks contributions, mirrors the DatanetRegistry into SQLite,
 * builds and publishes snapshots, and answers proofs. One instance per data directory. The work is
 * done by its sections: ChainMirror (mirror sync), StagingArea (staging), curation.ts and
 * publishing.ts (snapshots and licences); this class owns the stores and the Datanet records.
 */
export class DatanetService implements DatanetStores, ChainAccess {
  readonly db: DatanetDb;
  readonly blobs: BlobStore;
  readonly refs: ContentRefs;
  readonly nearDup: NearDupIndex;
  readonly limiter: RateLimiter;
  readonly snapshots: SnapshotStore;
  readonly maxChunkBytes: number;
  private readonly registryPort: RegistryPort | undefined;
  private readonly staging: StagingArea;
  private readonly mirror: ChainMirror;
  private readonly creating = new SerialQueue();
  private readonly unlock: () => void;

  constructor(opts: DatanetServiceOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    // A process that writes (one with a chain) holds the directory; read-only opens do not.
    this.unlock = opts.registry ? lockDataDir(opts.dataDir) : () => {};
    try {
      this.db = new DatanetDb(join(opts.dataDir, "index.sqlite"));
    } catch (err) {
      this.unlock();
      throw err;
    }
    this.blobs = opts.blobs ?? new FileBlobStore(join(opts.dataDir, "blobs"));
    this.refs = new ContentRefs(join(opts.dataDir, "refs"));
    this.nearDup = new NearDupIndex(opts.minhash, opts.nearDupThreshold);
    this.limiter = new RateLimiter({ ...DEFAULT_LIMITS, ...opts.limits }, opts.now);
    this.maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    this.registryPort = opts.registry;
    this.snapshots = new SnapshotStore(this.db, this.blobs);
    this.staging = new StagingArea(this, this, opts.stagedTtlMs, opts.now);
    const follower: FollowerTarget = {
      db: this.db,
      blobs: this.blobs,
      refs: this.refs,
      nearDup: this.nearDup,
      snapshots: this.snapshots,
      takeDerived: (metaCid) => this.staging.takeDerived(metaCid),
      stagedSubmitted: (datanetId, contentHash) => this.staging.stagedSubmitted(datanetId, contentHash),
    };
    this.mirror = new ChainMirror(this, follower, () => this.registry, opts.logRange ?? 2000n);
    try {
      this.checkRegistryBinding();
    } catch (err) {
      this.close();
      throw err;
    }
    for (const row of this.db.liveSignatures()) {
      this.nearDup.add(row.datanetId, row.contributionId, row.idx, signatureFromBytes(row.minhash));
    }
  }

  close(): void {
    this.db.close();
    this.unlock();
  }

  /** Whether a chain is configured (else only reads of the existing index work). */
  get hasChain(): boolean {
    return this.registryPort !== undefined;
  }

  get registry(): RegistryPort {
    if (!this.registryPort) {
      throw new ChainError("no_chain", "no chain is configured for this Datanet service; pass an RPC URL");
    }
    return this.registryPort;
  }

  private checkRegistryBinding(): void {
    if (!this.registryPort) return;
    const binding = `${this.registryPort.chainId}:${this.registryPort.address.toLowerCase()}`;
    const stored = this.db.getSync("registry");
    if (stored === undefined) this.db.setSync("registry", binding);
    else if (stored !== binding) {
      throw new InvalidInputError(
        "wrong_registry",
        `this data directory indexes registry ${stored}, not ${binding}; use another data directory or rebuild`,
      );
    }
  }

  sender(account: string, what: string): Address {
    const address = validateAddress(account, what);
    if (!this.registry.canSendFrom(address)) {
      throw new PermissionError(
        "no_key",
        `this service holds no key for ${address}; send the transaction from that account yourself`,
      );
    }
    return address;
  }

  // ------------------------------------------------------------------ mirror sync

  /** Applies every registry event up to the chain head; resumes from the last processed block. */
  sync(): Promise<void> {
    return this.mirror.sync();
  }

  /** Forgets the chain mirror and replays the chain from block 0 (blobs, refs and staged uploads stay). */
  rebuild(): Promise<void> {
    return this.mirror.rebuild();
  }

  // ------------------------------------------------------------------ Datanets

  async createDatanet(input: CreateDatanetInput): Promise<DatanetView> {
    const owner = this.sender(input.owner, "owner");
    const { meta, params } = datanetParams(input);
    // Concurrent creations reach the chain in call order (so Datanet ids follow it); only the send is
    // ordered, the receipts are awaited together.
    const queued = this.creating.run(async () => {
      const { cid } = await this.blobs.put(meta);
      return { created: this.registry.createDatanet(owner, { ...params, metadataURI: `ipfs://${cid}` }) };
    });
    const { datanetId } = await (await queued).created;
    await this.sync();
    return this.getDatanet(datanetId);
  }

  /** Datanets by id: all, or a page of `limit` after id `afterId`. */
  listDatanets(opts: { limit?: number; afterId?: bigint } = {}): DatanetRow[] {
    return this.db.listDatanets(opts);
  }

  getDatanet(id: bigint): DatanetView {
    const row = this.db.getDatanet(id);
    if (!row) throw new NotFoundError("unknown_datanet", `Datanet ${id} does not exist`);
    return { ...row, counts: this.db.counts(id), snapshots: this.db.listSnapshots(id) };
  }

  // ------------------------------------------------------------------ staging and contributions

  /** Checks and stores an upload; see StagingArea.stage. */
  stage(input: StageInput): Promise<StagedContribution> {
    return this.staging.stage(input);
  }

  /** Submits staged uploads on-chain from `from`; see StagingArea.submitStaged. */
  submitStaged(
    from: string,
    staged: readonly { datanetId: bigint; contentHash: `0x${string}` }[],
  ): Promise<ContributionRow[]> {
    return this.staging.submitStaged(from, staged);
  }

  /** Live staged uploads (each with its owner and expiry), optionally of one Datanet or contributor. */
  listStaged(filter: { datanetId?: bigint; contributor?: string } = {}): Promise<StagedView[]> {
    if (filter.datanetId !== undefined) this.getDatanet(filter.datanetId);
    return this.staging.list(filter);
  }

  /**
   * Cancels a staged upload, freeing its text: its owner signs CancelStaged(datanetId, contentHash)
   * (`cancelStagedTypedData`), or acts through a key this service holds (`{ from }`).
   */
  cancelStaged(
    datanetId: bigint,
    contentHash: string,
    by: { signature: `0x${string}` } | { from: string },
  ): Promise<StagedView> {
    return this.staging.cancel(datanetId, contentHash, by);
  }

  /** stage + submitStaged for one upload from an account this service can send from. */
  async contribute(input: StageInput): Promise<ContributionRow> {
    this.sender(input.contributor, "contributor");
    const staged = await this.stage(input);
    const [row] = await this.submitStaged(staged.contributor, [staged]);
    return row;
  }

  listContributions(
    datanetId: bigint,
    opts: { status?: ContributionStatus; limit?: number; afterId?: bigint } = {},
  ): ContributionRow[] {
    this.getDatanet(datanetId);
    return this.db.listContributions(datanetId, opts);
  }

  getContribution(id: bigint, opts: { chunks?: boolean } = {}): ContributionView {
    const row = this.db.getContribution(id);
    if (!row) throw new NotFoundError("unknown_contribution", `contribution ${id} does not exist`);
    if (!opts.chunks) return row;
    return {
      ...row,
      chunks: this.db.chunks(id).map((c) => ({
        index: c.idx,
        byteStart: c.byteStart,
        byteEnd: c.byteEnd,
        contentHash: c.contentHash,
        text: c.text,
      })),
    };
  }

  // ------------------------------------------------------------------ curation

  /**
   * Accepts or rejects pending contributions on-chain (one curateBatch call) as `curator`. With
   * `datanetId`, every contribution must belong to that Datanet.
   */
  curate(
    curator: string,
    decisions: readonly { contributionId: bigint; accept: boolean }[],
    opts: { datanetId?: bigint } = {},
  ): Promise<ContributionRow[]> {
    if (opts.datanetId !== undefined) this.getDatanet(opts.datanetId);
    return curate(this, this, curator, decisions, opts.datanetId);
  }

  // ------------------------------------------------------------------ transactions for the caller's wallet
  // The same actions for an account this service holds no key for (and must not act for): checked
  // here, returned unsigned, signed and sent by the caller; the index picks them up from the chain.

  createDatanetTransactions(input: CreateDatanetInput): Promise<UnsignedTransaction[]> {
    return createDatanetTransactions(this, this, input);
  }

  curateTransactions(
    curator: string,
    decisions: readonly { contributionId: bigint; accept: boolean }[],
    opts: { datanetId?: bigint } = {},
  ): Promise<UnsignedTransaction[]> {
    return curateTransactions(this, this, curator, decisions, opts.datanetId);
  }

  snapshotTransactions(owner: string, datanetId: bigint): Promise<UnsignedTransaction[]> {
    return snapshotTransactions(this, this, owner, datanetId);
  }

  licenseTransactions(buyer: string, snapshotId: bigint, licensee?: string): Promise<UnsignedTransaction[]> {
    return licenseTransactions(this, this, buyer, snapshotId, licensee);
  }

  submitTransactions(
    contributor: string,
    staged: readonly { datanetId: bigint; contentHash: `0x${string}` }[],
  ): Promise<UnsignedTransaction[]> {
    return submitTransactions(this, this, contributor, staged);
  }

  // ------------------------------------------------------------------ snapshots and licences

  /** Freezes the accepted contributions into the next snapshot and publishes its roots. */
  snapshot(owner: string, datanetId: bigint, onProgress?: Progress): Promise<SnapshotRow> {
    return publishSnapshot(this, this, owner, datanetId, onProgress);
  }

  getSnapshot(snapshotId: bigint): SnapshotRow {
    return getSnapshot(this, snapshotId);
  }

  /** Buys a training license for `snapshotId` (paid by `buyer`, held by `licensee`, default the buyer). */
  buyLicense(buyer: string, snapshotId: bigint, licensee?: string): Promise<{ price: bigint }> {
    return buyLicense(this, this, buyer, snapshotId, licensee);
  }

  /** Whether `account` holds a training license for the snapshot (read from the chain). */
  hasLicense(snapshotId: bigint, account: string): Promise<boolean> {
    return hasLicense(this, snapshotId, account);
  }
}

export { toId } from "./ids.ts";
