import type { Address, Hex } from "viem";
import type { ChainAccess, DatanetStores } from "./context.ts";
import type { ContributionRow } from "./db.ts";
import { ChainError, DuplicateContentError, NotFoundError, PermissionError } from "./errors.ts";
import type { ContentFormat, ExtractOptions } from "./formats.ts";
import { toId } from "./ids.ts";
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
import { verifyContributionSignature } from "./signature.ts";

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

/**
 * Uploads checked and stored but not yet submitted on-chain. Staged uploads take part in duplicate
 * checks (under negative keys in the near-duplicate index) until the follower sees their submission.
 */
export class StagingArea {
  private readonly derived = new Map<string, DerivedContent>();
  private readonly stagedKeys = new Map<string, number>();
  private nextStagedKey = -1;

  constructor(
    private readonly stores: DatanetStores,
    private readonly chain: ChainAccess,
  ) {}

  /** Cached derived chunks of a staged upload, handed to the follower (falls back to re-deriving). */
  takeDerived(metaCid: string): DerivedContent | undefined {
    const d = this.derived.get(metaCid);
    this.derived.delete(metaCid);
    return d;
  }

  stagedSubmitted(datanetId: number, contentHash: string): void {
    this.stores.nearDup.remove(datanetId, this.stagedKey(datanetId, contentHash));
  }

  private stagedKey(datanetId: number, contentHash: string): number {
    const key = `${datanetId}:${contentHash.toLowerCase()}`;
    let id = this.stagedKeys.get(key);
    if (id === undefined) {
      id = this.nextStagedKey--;
      this.stagedKeys.set(key, id);
    }
    return id;
  }

  private stagedHashOf(key: number): string {
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
    const { cid, size } = await blobs.put(input.content, { maxBytes: limiter.limits.maxUploadBytes });
    try {
      limiter.check(contributor, size);
      const bytes = await blobs.get(cid);
      const extract = input.extract ?? {};
      const derived = deriveContent(bytes, input.format, extract, maxChunkBytes, nearDup.hasher);
      await verifyContributionSignature({
        domain: { chainId: registry.chainId, verifyingContract: registry.address },
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
        stagedAt: Date.now(),
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

  private checkDuplicates(datanetId: number, derived: DerivedContent): void {
    const { db, nearDup } = this.stores;
    const exact = db.findByContentHash(datanetId, derived.contentHash);
    if (exact) {
      throw new DuplicateContentError(
        "exact_duplicate",
        `the same content is already contribution ${exact.id} of Datanet ${datanetId} (${exact.status})`,
        { contributionId: exact.id },
      );
    }
    if (db.getStaged(datanetId, derived.contentHash)) {
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
    staged: readonly { datanetId: number; contentHash: Hex }[],
  ): Promise<ContributionRow[]> {
    const { db, blobs } = this.stores;
    const sender = this.chain.sender(from, "contributor");
    const byDatanet = new Map<number, string[]>();
    for (const s of staged) {
      const row = db.getStaged(s.datanetId, s.contentHash);
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
      const metas = await Promise.all(metaCids.map((cid) => loadContributionMeta(blobs, cid)));
      await this.chain.registry.submitContributions(
        sender,
        BigInt(datanetId),
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
