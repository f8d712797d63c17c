import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { SerialQueue } from "@openledger/common";
import { MerkleTree, settlementLeaf } from "@openledger/merkle";
import type { Address, Hex } from "viem";
import { type BlobStore, FileBlobStore } from "./blobstore.ts";
import { DEFAULT_MAX_CHUNK_BYTES } from "./chunking.ts";
import {
  type ContributionRow,
  type ContributionStatus,
  DatanetDb,
  type DatanetRow,
  type SnapshotRow,
} from "./db.ts";
import {
  ChainError,
  DuplicateContentError,
  InvalidInputError,
  NotFoundError,
  PermissionError,
} from "./errors.ts";
import { applyEvents } from "./follower.ts";
import type { ContentFormat, ExtractOptions } from "./formats.ts";
import {
  type ContributionMeta,
  type DerivedContent,
  deriveContent,
  encodeMeta,
  licenseToBytes32,
  loadContributionMeta,
  validateAddress,
  validateLicense,
} from "./ingest.ts";
import { type ContributionLimits, DEFAULT_LIMITS, RateLimiter } from "./limits.ts";
import type { MinHashParams } from "./minhash.ts";
import { NearDupIndex, signatureFromBytes } from "./neardup.ts";
import { ContentRefs } from "./refs.ts";
import type { RegistryPort } from "./registry-port.ts";
import { verifyContributionSignature } from "./signature.ts";
import { SnapshotStore } from "./snapshots.ts";
import { utf8 } from "./text.ts";

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
}

export interface CreateDatanetInput {
  owner: Address;
  name: string;
  description?: string;
  licensePrice?: bigint;
  ownerBps?: number;
  bond?: bigint;
  curators?: Address[];
}

export interface StageInput {
  datanetId: number;
  contributor: string;
  /** EIP-712 signature by the contributor over (datanetId, contentHash); see `contributionTypedData`. */
  signature: Hex;
  license: string;
  source?: string;
  format: ContentFormat;
  extract?: ExtractOptions;
  content: Uint8Array | AsyncIterable<Uint8Array>;
}

export interface StagedContribution {
  datanetId: number;
  contentHash: Hex;
  contributor: Address;
  metaCid: string;
  contentCid: string;
  byteSize: number;
  chunkCount: number;
}

export interface ContributionView extends ContributionRow {
  chunks?: { index: number; byteStart: number; byteEnd: number; contentHash: string; text: string }[];
}

export interface DatanetView extends DatanetRow {
  counts: Record<ContributionStatus, number>;
  snapshots: SnapshotRow[];
}

type Progress = (done: number, total: number) => void;

/**
 * The Datanet service: stores and checks contributions, mirrors the DatanetRegistry into SQLite,
 * builds and publishes snapshots, and answers proofs. One instance per data directory.
 */
export class DatanetService {
  readonly db: DatanetDb;
  readonly blobs: BlobStore;
  readonly refs: ContentRefs;
  readonly nearDup: NearDupIndex;
  readonly limiter: RateLimiter;
  readonly snapshots: SnapshotStore;
  readonly maxChunkBytes: number;
  private readonly registryPort: RegistryPort | undefined;
  private readonly logRange: bigint;
  private readonly derived = new Map<string, DerivedContent>();
  private readonly stagedKeys = new Map<string, number>();
  private nextStagedKey = -1;
  private readonly syncing = new SerialQueue();
  private readonly creating = new SerialQueue();

  constructor(opts: DatanetServiceOptions) {
    mkdirSync(opts.dataDir, { recursive: true });
    this.db = new DatanetDb(join(opts.dataDir, "index.sqlite"));
    this.blobs = opts.blobs ?? new FileBlobStore(join(opts.dataDir, "blobs"));
    this.refs = new ContentRefs(join(opts.dataDir, "refs"));
    this.nearDup = new NearDupIndex(opts.minhash, opts.nearDupThreshold);
    this.limiter = new RateLimiter({ ...DEFAULT_LIMITS, ...opts.limits });
    this.maxChunkBytes = opts.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
    this.registryPort = opts.registry;
    this.logRange = opts.logRange ?? 2000n;
    this.snapshots = new SnapshotStore(this.db, this.blobs);
    this.checkRegistryBinding();
    for (const row of this.db.liveSignatures()) {
      this.nearDup.add(row.datanetId, row.contributionId, row.idx, signatureFromBytes(row.minhash));
    }
  }

  close(): void {
    this.db.close();
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

  // ------------------------------------------------------------------ chain following

  /** Applies every registry event up to the chain head; resumes from the last processed block. */
  sync(): Promise<void> {
    return this.syncing.run(() => this.syncOnce());
  }

  private async syncOnce(): Promise<void> {
    const registry = this.registry;
    const last = this.db.getSync("lastBlock");
    if (last !== undefined && (await registry.blockHash(BigInt(last))) !== this.db.getSync("lastBlockHash")) {
      // The block we stopped at is gone (a reorg, or a fresh chain at the same address): start over.
      this.resetMirror();
    }
    const head = await registry.blockNumber();
    let from = BigInt(this.db.getSync("lastBlock") ?? "-1") + 1n;
    while (from <= head) {
      const to = from + this.logRange - 1n < head ? from + this.logRange - 1n : head;
      const events = await registry.events(from, to);
      await applyEvents(this, events);
      const hash = await registry.blockHash(to);
      this.db.transaction(() => {
        this.db.setSync("lastBlock", to.toString());
        this.db.setSync("lastBlockHash", hash ?? "");
      });
      from = to + 1n;
    }
  }

  /** Forgets the chain mirror and replays the chain from block 0 (blobs, refs and staged uploads stay). */
  async rebuild(): Promise<void> {
    await this.syncing.idle();
    this.resetMirror();
    await this.sync();
  }

  private resetMirror(): void {
    for (const d of this.db.listDatanets()) {
      for (const c of this.db.listContributions(d.id)) this.nearDup.remove(d.id, c.id);
    }
    this.db.transaction(() => {
      for (const table of [
        "licenses",
        "snapshot_entries",
        "snapshots",
        "chunks",
        "contributions",
        "datanets",
      ]) {
        this.db.db.exec(`DELETE FROM ${table}`);
      }
      this.db.db.exec("DELETE FROM sync_state WHERE key IN ('lastBlock', 'lastBlockHash')");
    });
    this.snapshots.forget();
  }

  /** Cached derived chunks of a staged upload, handed to the follower (falls back to re-deriving). */
  takeDerived(metaCid: string): DerivedContent | undefined {
    const d = this.derived.get(metaCid);
    this.derived.delete(metaCid);
    return d;
  }

  stagedKey(datanetId: number, contentHash: string): number {
    const key = `${datanetId}:${contentHash.toLowerCase()}`;
    let id = this.stagedKeys.get(key);
    if (id === undefined) {
      id = this.nextStagedKey--;
      this.stagedKeys.set(key, id);
    }
    return id;
  }

  private sender(account: string, what: string): Address {
    const address = validateAddress(account, what);
    if (!this.registry.canSendFrom(address)) {
      throw new PermissionError(
        "no_key",
        `this service holds no key for ${address}; send the transaction from that account yourself`,
      );
    }
    return address;
  }

  // ------------------------------------------------------------------ Datanets

  async createDatanet(input: CreateDatanetInput): Promise<DatanetView> {
    const owner = this.sender(input.owner, "owner");
    if (typeof input.name !== "string" || input.name.trim() === "" || input.name.length > 200) {
      throw new InvalidInputError("invalid_name", "a Datanet needs a name of 1 to 200 characters");
    }
    const ownerBps = input.ownerBps ?? 2000;
    if (!Number.isInteger(ownerBps) || ownerBps < 0 || ownerBps > 10_000) {
      throw new InvalidInputError(
        "invalid_owner_bps",
        `ownerBps must be an integer in [0, 10000], got ${ownerBps}`,
      );
    }
    const curators = (input.curators ?? []).map((c) => validateAddress(c, "curator"));
    const meta = utf8.encode(
      JSON.stringify({
        kind: "openledger.datanet/1",
        name: input.name.trim(),
        description: input.description ?? "",
      }),
    );
    // Concurrent creations reach the chain in call order (so Datanet ids follow it); only the send is
    // ordered, the receipts are awaited together.
    const queued = this.creating.run(async () => {
      const { cid } = await this.blobs.put(meta);
      return {
        created: this.registry.createDatanet(owner, {
          metadataUri: `ipfs://${cid}`,
          licensePrice: input.licensePrice ?? 0n,
          ownerBps,
          bond: input.bond ?? 0n,
          curators,
        }),
      };
    });
    const { datanetId } = await (await queued).created;
    await this.sync();
    return this.getDatanet(Number(datanetId));
  }

  listDatanets(): DatanetRow[] {
    return this.db.listDatanets();
  }

  getDatanet(id: number): DatanetView {
    const row = this.db.getDatanet(id);
    if (!row) throw new NotFoundError("unknown_datanet", `Datanet ${id} does not exist`);
    return { ...row, counts: this.db.counts(id), snapshots: this.db.listSnapshots(id) };
  }

  // ------------------------------------------------------------------ contributions

  /**
   * Streams an upload into the blob store and checks it (size, encoding, format, signature, exact and
   * near duplicates, rate limits). On success the upload is staged: stored, indexed for duplicate
   * checks, and waiting for its on-chain submission. On failure nothing is left behind.
   */
  async stage(input: StageInput): Promise<StagedContribution> {
    const datanetId = toId(input.datanetId, "datanetId");
    const contributor = validateAddress(input.contributor, "contributor");
    const license = validateLicense(input.license);
    if (!this.db.getDatanet(datanetId)) await this.sync();
    if (!this.db.getDatanet(datanetId)) {
      throw new NotFoundError("unknown_datanet", `Datanet ${datanetId} does not exist; create it first`);
    }
    this.limiter.check(contributor, 0);
    const { cid, size } = await this.blobs.put(input.content, {
      maxBytes: this.limiter.limits.maxUploadBytes,
    });
    try {
      this.limiter.check(contributor, size);
      const bytes = await this.blobs.get(cid);
      const extract = input.extract ?? {};
      const derived = deriveContent(bytes, input.format, extract, this.maxChunkBytes, this.nearDup.hasher);
      await verifyContributionSignature({
        domain: { chainId: this.registry.chainId, verifyingContract: this.registry.address },
        datanetId: BigInt(datanetId),
        contentHash: derived.contentHash,
        contributor,
        signature: input.signature,
      });
      this.checkDuplicates(datanetId, derived);
      const meta: ContributionMeta = {
        kind: "openledger.contribution/1",
        datanetId: String(datanetId),
        contributor,
        contentCid: cid,
        contentHash: derived.contentHash,
        byteSize: size,
        format: input.format,
        extract,
        maxChunkBytes: this.maxChunkBytes,
        license,
        source: input.source ?? "",
        signature: input.signature,
      };
      const encoded = encodeMeta(meta);
      // Re-check and claim with no await in between, so two concurrent uploads cannot both pass.
      this.checkDuplicates(datanetId, derived);
      this.db.insertStaged({
        datanetId,
        contentHash: derived.contentHash,
        contributor,
        metaCid: encoded.cid,
        contentCid: cid,
        stagedAt: Date.now(),
      });
      try {
        await this.blobs.put(encoded.bytes);
        await this.refs.set(datanetId, derived.contentHash, encoded.cid);
      } catch (err) {
        this.db.deleteStaged(datanetId, derived.contentHash);
        throw err;
      }
      const key = this.stagedKey(datanetId, derived.contentHash);
      for (const c of derived.chunks) if (c.minhash) this.nearDup.add(datanetId, key, c.index, c.minhash);
      this.derived.set(encoded.cid, derived);
      // Only a cache: uploads never submitted must not pin memory (the follower re-derives if needed).
      if (this.derived.size > 10_000) this.derived.delete(this.derived.keys().next().value as string);
      this.limiter.record(contributor, size);
      return {
        datanetId,
        contentHash: derived.contentHash,
        contributor,
        metaCid: encoded.cid,
        contentCid: cid,
        byteSize: size,
        chunkCount: derived.chunks.length,
      };
    } catch (err) {
      if (!this.db.blobInUse(cid)) await this.blobs.delete(cid);
      throw err;
    }
  }

  private checkDuplicates(datanetId: number, derived: DerivedContent): void {
    const exact = this.db.findByContentHash(datanetId, derived.contentHash);
    if (exact) {
      throw new DuplicateContentError(
        "exact_duplicate",
        `the same content is already contribution ${exact.id} of Datanet ${datanetId} (${exact.status})`,
        { contributionId: exact.id },
      );
    }
    if (this.db.getStaged(datanetId, derived.contentHash)) {
      throw new DuplicateContentError(
        "exact_duplicate",
        `the same content is already staged for Datanet ${datanetId} (content hash ${derived.contentHash})`,
        { contentHash: derived.contentHash },
      );
    }
    const near = this.nearDup.find(
      datanetId,
      derived.chunks.map((c) => c.minhash),
    );
    if (near) {
      const pct = Math.round(near.similarity * 100);
      const target =
        near.contributionId > 0
          ? `contribution ${near.contributionId}`
          : `a staged upload (${this.stagedHashOf(near.contributionId)})`;
      throw new DuplicateContentError(
        "near_duplicate",
        `chunk ${near.incomingChunk} is a near-duplicate (~${pct}% similar) of chunk ${near.chunkIndex} of ${target} in Datanet ${datanetId}`,
        { contributionId: near.contributionId, chunkIndex: near.chunkIndex, similarity: near.similarity },
      );
    }
  }

  private stagedHashOf(key: number): string {
    for (const [k, v] of this.stagedKeys) if (v === key) return k.split(":")[1];
    return "unknown";
  }

  /**
   * Submits staged uploads on-chain from `from` (one transaction per Datanet per batch, the registry's
   * batch call) and waits until the index has them. Returns the contributions in input order.
   */
  async submitStaged(
    from: string,
    staged: readonly { datanetId: number; contentHash: Hex }[],
  ): Promise<ContributionRow[]> {
    const sender = this.sender(from, "contributor");
    const byDatanet = new Map<number, string[]>();
    for (const s of staged) {
      const row = this.db.getStaged(s.datanetId, s.contentHash);
      if (!row) {
        throw new NotFoundError("not_staged", `no staged upload ${s.contentHash} for Datanet ${s.datanetId}`);
      }
      if (row.contributor.toLowerCase() !== sender.toLowerCase()) {
        throw new PermissionError(
          "wrong_sender",
          `upload ${s.contentHash} was signed by ${row.contributor}; only that account may submit it`,
        );
      }
      byDatanet.set(s.datanetId, [...(byDatanet.get(s.datanetId) ?? []), row.metaCid]);
    }
    for (const [datanetId, metaCids] of byDatanet) {
      const metas = await Promise.all(metaCids.map((cid) => loadContributionMeta(this.blobs, cid)));
      await this.registry.submitContributions(
        sender,
        BigInt(datanetId),
        metas.map((m) => ({
          contentHash: m.contentHash,
          byteSize: BigInt(m.byteSize),
          license: licenseToBytes32(m.license),
        })),
      );
    }
    await this.sync();
    return staged.map((s) => {
      const row = this.db.findByContentHash(s.datanetId, s.contentHash);
      if (!row)
        throw new ChainError("not_indexed", `contribution ${s.contentHash} was submitted but is not indexed`);
      return row;
    });
  }

  /** stage + submitStaged for one upload from an account this service can send from. */
  async contribute(input: StageInput): Promise<ContributionRow> {
    this.sender(input.contributor, "contributor");
    const staged = await this.stage(input);
    const [row] = await this.submitStaged(staged.contributor, [staged]);
    return row;
  }

  listContributions(
    datanetId: number,
    opts: { status?: ContributionStatus; limit?: number; afterId?: number } = {},
  ): ContributionRow[] {
    this.getDatanet(datanetId);
    return this.db.listContributions(datanetId, opts);
  }

  getContribution(id: number, opts: { chunks?: boolean } = {}): ContributionView {
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

  /** Accepts or rejects pending contributions on-chain (one curateBatch call) as `curator`. */
  async curate(
    curator: string,
    decisions: readonly { contributionId: number; accept: boolean }[],
  ): Promise<ContributionRow[]> {
    const sender = this.sender(curator, "curator");
    if (decisions.length === 0) throw new InvalidInputError("empty_batch", "no curation decisions given");
    await this.sync();
    for (const d of decisions) {
      const row = this.db.getContribution(d.contributionId);
      if (!row)
        throw new NotFoundError("unknown_contribution", `contribution ${d.contributionId} does not exist`);
      if (row.status !== "pending") {
        throw new InvalidInputError(
          "not_pending",
          `contribution ${d.contributionId} is already ${row.status}; only pending ones can be curated`,
        );
      }
    }
    await this.registry.curateBatch(
      sender,
      decisions.map((d) => BigInt(d.contributionId)),
      decisions.map((d) => d.accept),
    );
    await this.sync();
    return decisions.map((d) => this.db.getContribution(d.contributionId)!);
  }

  // ------------------------------------------------------------------ snapshots and licenses

  /**
   * Freezes the Datanet's accepted contributions into the next snapshot: builds the chunk tree and the
   * contributors' royalty tree (weight = chunks contributed), stores the manifest, publishes the roots.
   */
  async snapshot(owner: string, datanetId: number, onProgress?: Progress): Promise<SnapshotRow> {
    const sender = this.sender(owner, "owner");
    await this.sync();
    const datanet = this.getDatanet(datanetId);
    if (datanet.owner.toLowerCase() !== sender.toLowerCase()) {
      throw new PermissionError(
        "not_owner",
        `only the owner ${datanet.owner} may snapshot Datanet ${datanetId}`,
      );
    }
    const accepted = this.db
      .listContributions(datanetId, { status: "accepted" })
      .filter((c) => c.contentState === "available" && c.chunkCount > 0);
    if (accepted.length === 0) {
      throw new InvalidInputError(
        "nothing_accepted",
        `Datanet ${datanetId} has no accepted contributions to snapshot; curate some first`,
      );
    }
    const built = this.snapshots.build(datanetId, accepted, onProgress);
    const weights = new Map<string, bigint>();
    for (const e of built.manifest.contributions) {
      weights.set(e.contributor, (weights.get(e.contributor) ?? 0n) + BigInt(e.chunkCount));
    }
    const contributors = [...weights.entries()]
      .sort(([a], [b]) => (a.toLowerCase() < b.toLowerCase() ? -1 : 1))
      .map(([account, weight]) => ({ account: account as Address, weight: weight.toString() }));
    const contributorsTree = MerkleTree.build(
      contributors.map((c) => settlementLeaf(c.account, BigInt(c.weight))),
    );
    built.manifest.contributors = contributors;
    built.manifest.contributorsRoot = contributorsTree.root as Hex;
    const manifestCid = await this.snapshots.storeManifest(built.manifest);
    const { snapshotId } = await this.registry.publishSnapshot(sender, {
      datanetId: BigInt(datanetId),
      chunksRoot: built.manifest.root,
      chunkCount: built.manifest.leafCount,
      contributionCount: built.manifest.contributions.length,
      contributorsRoot: contributorsTree.root as Hex,
      totalWeight: [...weights.values()].reduce((a, b) => a + b, 0n),
      uri: `ipfs://${manifestCid}`,
    });
    await this.sync();
    const row = this.db.getSnapshot(Number(snapshotId));
    if (!row) throw new ChainError("not_indexed", `snapshot ${snapshotId} was published but is not indexed`);
    this.snapshots.remember(row.id, built);
    return row;
  }

  getSnapshot(snapshotId: number): SnapshotRow {
    const row = this.db.getSnapshot(snapshotId);
    if (!row) throw new NotFoundError("unknown_snapshot", `snapshot ${snapshotId} does not exist`);
    return row;
  }

  /** Buys a training license for `snapshotId` (paid by `buyer`, held by `licensee`, default the buyer). */
  async buyLicense(buyer: string, snapshotId: number, licensee?: string): Promise<{ price: bigint }> {
    const sender = this.sender(buyer, "buyer");
    const holder = licensee ? validateAddress(licensee, "licensee") : sender;
    this.getSnapshot(snapshotId);
    if (await this.registry.hasLicense(BigInt(snapshotId), holder)) {
      throw new DuplicateContentError(
        "exact_duplicate",
        `${holder} already holds a license for snapshot ${snapshotId}`,
        {
          snapshotId,
        },
      );
    }
    const { price } = await this.registry.buyLicense(sender, BigInt(snapshotId), holder);
    await this.sync();
    return { price };
  }

  /** Whether `account` holds a training license for the snapshot (read from the chain). */
  async hasLicense(snapshotId: number, account: string): Promise<boolean> {
    const address = validateAddress(account, "account");
    return this.registry.hasLicense(BigInt(toId(snapshotId, "snapshotId")), address);
  }
}

export function toId(value: unknown, what: string): number {
  const n = typeof value === "bigint" ? Number(value) : typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidInputError("invalid_id", `${what} must be a positive integer, got ${String(value)}`);
  }
  return n;
}
