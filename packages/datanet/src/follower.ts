import type { BlobStore } from "./blobstore.ts";
import { defuseControls } from "./controls.ts";
import type { ChunkRow, ContributionRow, DatanetDb } from "./db.ts";
import { type DerivedContent, deriveContent, licenseFromBytes32, loadContributionMeta } from "./ingest.ts";
import { type NearDupIndex, signatureToBytes } from "./neardup.ts";
import type { ContentRefs } from "./refs.ts";
import type { RegistryEvent, RegistryEventOf } from "./registry-port.ts";
import type { SnapshotStore } from "./snapshots.ts";

/** What the follower reads and writes: the stores, and the staging area's two hooks. */
export interface FollowerTarget {
  readonly db: DatanetDb;
  readonly blobs: BlobStore;
  readonly refs: ContentRefs;
  readonly nearDup: NearDupIndex;
  readonly snapshots: SnapshotStore;
  /** Cached derived chunks of a staged upload (undefined: the follower re-derives them). */
  takeDerived(metaCid: string): DerivedContent | undefined;
  /** A staged upload became a contribution: its staged near-duplicate entries go. */
  stagedSubmitted(datanetId: bigint, contentHash: string): void;
}

/**
 * Mirrors registry events into the index. Every step is idempotent, so re-applying a block range after
 * a crash (the last processed block is saved after each range) gives the same state.
 */
export async function applyEvents(target: FollowerTarget, events: readonly RegistryEvent[]): Promise<void> {
  const { db } = target;
  for (const e of events) {
    switch (e.eventName) {
      case "DatanetCreated": {
        const { datanetId, owner, metadataURI, licensePrice } = e.args;
        const { name, description } = await datanetMeta(target, metadataURI, datanetId);
        db.upsertDatanet({
          id: datanetId,
          owner,
          name,
          description,
          metadataUri: metadataURI,
          licensePrice: licensePrice.toString(),
          createdBlock: Number(e.blockNumber),
        });
        break;
      }
      case "MetadataURISet": {
        const { datanetId, metadataURI } = e.args;
        const { name, description } = await datanetMeta(target, metadataURI, datanetId);
        db.setDatanetMetadata(datanetId, metadataURI, name, description);
        break;
      }
      case "LicenseTermsSet":
        db.setDatanetLicensePrice(e.args.datanetId, e.args.licensePrice.toString());
        break;
      case "DatanetOwnershipTransferred":
        db.setDatanetOwner(e.args.datanetId, e.args.to);
        break;
      case "ContributionSubmitted":
        await applyContribution(target, e);
        break;
      case "ContributionCurated": {
        const id = e.args.contributionId;
        const row = db.getContribution(id);
        if (!row) break;
        db.setStatus(id, e.args.accepted ? "accepted" : "rejected");
        if (!e.args.accepted) target.nearDup.remove(row.datanetId, id);
        break;
      }
      case "SnapshotPublished":
        await target.snapshots.index(e);
        break;
      case "LicensePurchased":
        db.recordLicense(e.args.snapshotId, e.args.licensee, Number(e.blockNumber), e.transactionHash);
        break;
    }
  }
}

async function datanetMeta(
  service: FollowerTarget,
  uri: string,
  id: bigint,
): Promise<{ name: string; description: string }> {
  const fallback = { name: `Datanet ${id}`, description: "" };
  if (!uri.startsWith("ipfs://")) return fallback;
  try {
    const meta = JSON.parse(new TextDecoder().decode(await service.blobs.get(uri.slice(7))));
    if (typeof meta?.name !== "string") return fallback;
    const description = typeof meta.description === "string" ? meta.description : "";
    // Metadata written straight to the chain skipped the service's checks: defuse terminal escapes.
    return {
      name: defuseControls(meta.name),
      description: defuseControls(description, true),
    };
  } catch {
    return fallback;
  }
}

async function applyContribution(
  service: FollowerTarget,
  e: RegistryEventOf<"ContributionSubmitted">,
): Promise<void> {
  const { db } = service;
  const id = e.args.contributionId;
  if (db.hasContribution(id)) return;
  const datanetId = e.args.datanetId;
  const { contributor, contentHash } = e.args;
  const base: ContributionRow = {
    id,
    datanetId,
    contributor,
    cid: "",
    metaCid: "",
    contentHash,
    format: "",
    license: licenseFromBytes32(e.args.license),
    source: "",
    signature: "",
    byteSize: Number(e.args.byteSize),
    chunkCount: 0,
    status: "pending",
    contentState: "missing",
    block: Number(e.blockNumber),
    txHash: e.transactionHash,
  };
  // Content counts as ours only when its signed metadata names the same contributor.
  const metaCid = await service.refs.get(datanetId, contentHash);
  let derived: DerivedContent | undefined;
  if (metaCid && (await service.blobs.has(metaCid))) {
    const meta = await loadContributionMeta(service.blobs, metaCid);
    if (meta.contributor.toLowerCase() === contributor.toLowerCase()) {
      derived = service.takeDerived(metaCid);
      if (!derived) {
        const bytes = await service.blobs.get(meta.contentCid);
        derived = deriveContent(bytes, meta.format, meta.extract, meta.maxChunkBytes, service.nearDup.hasher);
      }
      Object.assign(base, {
        cid: meta.contentCid,
        metaCid,
        format: meta.format,
        source: meta.source,
        signature: meta.signature,
        chunkCount: derived.chunks.length,
        contentState: "available",
      });
    }
  }
  const chunks: ChunkRow[] = (derived?.chunks ?? []).map((c) => ({
    contributionId: id,
    idx: c.index,
    byteStart: c.byteStart,
    byteEnd: c.byteEnd,
    contentHash: c.contentHash,
    text: c.text,
    minhash: c.minhash ? signatureToBytes(c.minhash) : null,
  }));
  db.transaction(() => {
    db.insertContribution(base, chunks);
    db.deleteStaged(datanetId, contentHash);
  });
  service.stagedSubmitted(datanetId, contentHash);
  for (const c of derived?.chunks ?? [])
    if (c.minhash) service.nearDup.add(datanetId, id, c.index, c.minhash);
}
