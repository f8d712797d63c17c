import type { Address, Hex } from "viem";
import type { ChainAccess, DatanetStores } from "./context.ts";
import type { ContributionRow, StagedRow } from "./db.ts";
import { deriveOffThread } from "./derive-off-thread.ts";
import {
  ChainError,
  DuplicateContentError,
  InvalidInputError,
  NotFoundError,
  PermissionError,
} from "./errors.ts";
import type { ContentFormat, ExtractOptions } from "./formats.ts";
import { toId } from "./ids.ts";
import {
  type ContributionMeta,
  type DerivedContent,
  encodeMeta,
  licenseToBytes32,
  loadContributionMeta,
  validateAddress,
  validateLicense,
} from "./ingest.ts";
import { recoverSigner, verifyContributionSignature } from "./signature.ts";

export interface StageInput {
  datanetId: bigint;
  contributor: string;
  /** EIP-712 signature by the contributor over (datanetId, contentHash); see `contributionTypedData`. */
  signature: Hex;
  /**
   * The content hash the contributor signed, when the client sends it ahead of the content: the
   * signature is then checked before the upload is read, and the content must hash to it.
   */
  contentHash?: Hex;
  license: string;
  source?: string;
  format: ContentFormat;
  extract?: ExtractOptions;
  content: Uint8Array | AsyncIterable<Uint8Array>;
}

export interface StagedContribution {
  datanetId: bigint;
  contentHash: Hex;
  contributor: Address;
  metaCid: string;
  contentCid: string;
  byteSize: number;
  chunkCount: number;
}

function validateContentHash(value: string): Hex {
  if (typeof value !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new InvalidInputError("invalid_content_hash", `contentHash "${value}" is not a 32-byte hex string`);
  }
  return value as Hex;
}

/** A staged upload as listed: its owner (the contributor who signed it) and when it expires. */
export interface StagedView {
  datanetId: bigint;
  contentHash: Hex;
  contributor: Address;
  metaCid: string;
  contentCid: string;
  stagedAt: number;
  expiresAt: number;
}

/** What the owner of a staged upload signs to cancel it (EIP-712, same domain as contributions). */
export const CANCEL_STAGED_TYPES = {
  CancelStaged: [
    { name: "datanetId", type: "uint256" },
    { name: "contentHash", type: "bytes32" },
  ],
} as const;

export function cancelStagedTypedData(
  domain: { chainId: number; verifyingContract: Address },
  datanetId: bigint,
  contentHash: Hex,
) {
  return {
    domain: { name: "OpenLedger Datanet", version: "1", ...domain },
    types: CANCEL_STAGED_TYPES,
    primaryType: "CancelStaged" as const,
    message: { datanetId, contentHash },
  };
}

/** How long an upload stays staged without its on-chain submission (default one day). */
export const DEFAULT_STAGED_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Uploads checked and stored but not yet submitted on-chain. Each has an owner (its contributor) and
 * an expiry: an upload whose transaction never comes (a key with no gas, a client that went away)
 * stops blocking its text once it expires, and its owner can cancel it sooner. Staged uploads take part in duplicate
 * checks (under negative keys in the near-duplicate index) until the follower sees their submission.
 */
export class StagingArea {
  private readonly derived = new Map<string, DerivedContent>();
  private readonly stagedKeys = new Map<string, bigint>();
  private nextStagedKey = -1n;

  constructor(
    private readonly stores: DatanetStores,
    private readonly chain: ChainAccess,
    private readonly ttlMs: number = DEFAULT_STAGED_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  private view(row: StagedRow): StagedView {
    return { ...row, expiresAt: row.stagedAt + this.ttlMs };
  }

  /** Live staged uploads, oldest first (expired ones are removed first). */
  async list(filter: { datanetId?: bigint; contributor?: string } = {}): Promise<StagedView[]> {
    await this.purgeExpired();
    const who = filter.contributor
      ? validateAddress(filter.contributor, "contributor").toLowerCase()
      : undefined;
    return this.stores.db
      .listStaged(filter.datanetId)
      .filter((r) => !who || r.contributor.toLowerCase() === who)
      .map((r) => this.view(r));
  }

  /** Removes every expired staged upload (its row, its duplicate-index entries, its unused blobs). */
  async purgeExpired(): Promise<number> {
    const cutoff = this.now() - this.ttlMs;
    const expired = this.stores.db.listStaged().filter((r) => r.stagedAt <= cutoff);
    for (const r of expired) await this.drop(r.datanetId, r.contentHash);
    return expired.length;
  }

  private async drop(datanetId: bigint, contentHash: Hex): Promise<void> {
    const { db, blobs } = this.stores;
    const row = db.getStaged(datanetId, contentHash);
    if (!row) return;
    db.deleteStaged(datanetId, contentHash);
    this.stagedSubmitted(datanetId, contentHash);
    this.derived.delete(row.metaCid);
    for (const cid of [row.metaCid, row.contentCid]) if (!db.blobInUse(cid)) await blobs.delete(cid);
  }

  /**
   * Cancels a staged upload: only its owner may, by signing CancelStaged(datanetId, contentHash)
   * (`cancelStagedTypedData`), or through a key this service holds (`from`).
   */
  async cancel(
    datanetId: bigint,
    contentHash: string,
    by: { signature: Hex } | { from: string },
  ): Promise<StagedView> {
    const hash = validateContentHash(contentHash);
    const row =
      this.stores.db.getStaged(datanetId, hash) ?? this.stores.db.getStaged(datanetId, hash.toLowerCase());
    if (!row || row.stagedAt + this.ttlMs <= this.now()) {
      throw new NotFoundError("not_staged", `no staged upload ${hash} for Datanet ${datanetId}`);
    }
    let canceller: Address;
    if ("from" in by) canceller = this.chain.sender(by.from, "canceller");
    else {
      const registry = this.chain.registry;
      canceller = await recoverSigner(
        cancelStagedTypedData(
          { chainId: registry.chainId, verifyingContract: registry.address },
          datanetId,
          row.contentHash,
        ),
        by.signature,
      );
    }
    if (canceller.toLowerCase() !== row.contributor.toLowerCase()) {
      throw new PermissionError(
        "not_owner",
        `staged upload ${row.contentHash} belongs to ${row.contributor}; only that account may cancel it (the signature is by ${canceller})`,
      );
    }
    const view = this.view(row);
    await this.drop(datanetId, row.contentHash);
    return view;
  }

  /** Cached derived chunks of a staged upload, handed to the follower (falls back to re-deriving). */
  takeDerived(metaCid: string): DerivedContent | undefined {
    const d = this.derived.get(metaCid);
    this.derived.delete(metaCid);
    return d;
  }

  stagedSubmitted(datanetId: bigint, contentHash: string): void {
    this.stores.nearDup.remove(datanetId, this.stagedKey(datanetId, contentHash));
  }

  private stagedKey(datanetId: bigint, contentHash: string): bigint {
    const key = `${datanetId}:${contentHash.toLowerCase()}`;
    let id = this.stagedKeys.get(key);
    if (id === undefined) {
      id = this.nextStagedKey--;
      this.stagedKeys.set(key, id);
    }
    return id;
  }

  private stagedHashOf(key: bigint): string {
    for (const [k, v] of this.stagedKeys) if (v === key) return k.split(":")[1];
    return "unknown";
  }

  /**
   * Streams an upload into the blob store and checks it (size, encoding, format, signature, exact and
   * near duplicates, rate limits). On success the upload is staged: stored, indexed for duplicate
   * checks, and waiting for its on-chain submission. On failure nothing is left behind.
   */
  async stage(input: StageInput): Promise<StagedContribution> {
    const { db, blobs, refs, nearDup, limiter, maxChunkBytes } = this.stores;
    const registry = this.chain.registry;
    const datanetId = toId(input.datanetId, "datanetId");
    const contributor = validateAddress(input.contributor, "contributor");
    const license = validateLicense(input.license);
    if (!db.getDatanet(datanetId)) await this.chain.sync();
    if (!db.getDatanet(datanetId)) {
      throw new NotFoundError("unknown_datanet", `Datanet ${datanetId} does not exist; create it first`);
    }
    limiter.check(contributor, 0);
    await this.purgeExpired();
    const domain = { chainId: registry.chainId, verifyingContract: registry.address };
    // Cheap checks first: with the signed hash declared up front, a bad signature costs no upload.
    const declared = input.contentHash === undefined ? undefined : validateContentHash(input.contentHash);
    if (declared) {
      await verifyContributionSignature({
        domain,
        datanetId,
        contentHash: declared,
        contributor,
        signature: input.signature,
      });
    }
    const { cid, size } = await blobs.put(input.content, { maxBytes: limiter.limits.maxUploadBytes });
    try {
      limiter.check(contributor, size);
      const bytes = await blobs.get(cid);
      const extract = input.extract ?? {};
      // Off the event loop: a large upload must not stall the API, the RPC or block production.
      const { threadId: _, ...derived } = await deriveOffThread(
        bytes,
        input.format,
        extract,
        maxChunkBytes,
        nearDup.hasher,
      );
      if (declared && declared.toLowerCase() !== derived.contentHash.toLowerCase()) {
        throw new InvalidInputError(
          "content_hash_mismatch",
          `the content hashes to ${derived.contentHash}, not to the declared contentHash ${declared}; hash the normalised text (contentHashOf) and sign that`,
        );
      }
      if (!declared) {
        await verifyContributionSignature({
          domain,
          datanetId,
          contentHash: derived.contentHash,
          contributor,
          signature: input.signature,
        });
      }
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
        maxChunkBytes,
        license,
        source: input.source ?? "",
        signature: input.signature,
      };
      const encoded = encodeMeta(meta);
      // Re-check and claim with no await in between, so two concurrent uploads cannot both pass.
      this.checkDuplicates(datanetId, derived);
      db.insertStaged({
        datanetId,
        contentHash: derived.contentHash,
        contributor,
        metaCid: encoded.cid,
        contentCid: cid,
        stagedAt: this.now(),
      });
      try {
        await blobs.put(encoded.bytes);
        await refs.set(datanetId, derived.contentHash, encoded.cid);
      } catch (err) {
        db.deleteStaged(datanetId, derived.contentHash);
        throw err;
      }
      const key = this.stagedKey(datanetId, derived.contentHash);
      for (const c of derived.chunks) if (c.minhash) nearDup.add(datanetId, key, c.index, c.minhash);
      this.derived.set(encoded.cid, derived);
      // Only a cache: uploads never submitted must not pin memory (the follower re-derives if needed).
      if (this.derived.size > 10_000) this.derived.delete(this.derived.keys().next().value as string);
      limiter.record(contributor, size);
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
      if (!db.blobInUse(cid)) await blobs.delete(cid);
      throw err;
    }
  }

  private checkDuplicates(datanetId: bigint, derived: DerivedContent): void {
    const { db, nearDup } = this.stores;
    const exact = db.findByContentHash(datanetId, derived.contentHash);
    if (exact) {
      throw new DuplicateContentError(
        "exact_duplicate",
        `the same content is already contribution ${exact.id} of Datanet ${datanetId} (${exact.status})`,
        { contributionId: exact.id },
      );
    }
    const staged = db.getStaged(datanetId, derived.contentHash);
    if (staged && staged.stagedAt + this.ttlMs > this.now()) {
      throw new DuplicateContentError(
        "exact_duplicate",
        `the same content is already staged for Datanet ${datanetId} (content hash ${derived.contentHash})`,
        { contentHash: derived.contentHash },
      );
    }
    const near = nearDup.find(
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

  /**
   * Submits staged uploads on-chain from `from` (one transaction per Datanet per batch, the registry's
   * batch call) and waits until the index has them. Returns the contributions in input order.
   */
  async submitStaged(
    from: string,
    staged: readonly { datanetId: bigint; contentHash: Hex }[],
  ): Promise<ContributionRow[]> {
    const { db, blobs } = this.stores;
    const sender = this.chain.sender(from, "contributor");
    const byDatanet = new Map<bigint, string[]>();
    for (const s of staged) {
      const row = db.getStaged(s.datanetId, s.contentHash);
      if (!row || row.stagedAt + this.ttlMs <= this.now()) {
        throw new NotFoundError(
          "not_staged",
          `no staged upload ${s.contentHash} for Datanet ${s.datanetId}${row ? " (it expired; upload it again)" : ""}`,
        );
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
      const metas = await Promise.all(metaCids.map((cid) => loadContributionMeta(blobs, cid)));
      await this.chain.registry.submitContributions(
        sender,
        datanetId,
        metas.map((m) => ({
          contentHash: m.contentHash,
          byteSize: BigInt(m.byteSize),
          license: licenseToBytes32(m.license),
        })),
      );
    }
    await this.chain.sync();
    return staged.map((s) => {
      const row = db.findByContentHash(s.datanetId, s.contentHash);
      if (!row)
        throw new ChainError("not_indexed", `contribution ${s.contentHash} was submitted but is not indexed`);
      return row;
    });
  }
}
