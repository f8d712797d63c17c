import type { ChunkRow, ContributionRow } from "./db.ts";
import { type DerivedContent, deriveContent, licenseFromBytes32, loadContributionMeta } from "./ingest.ts";
import { signatureToBytes } from "./neardup.ts";
import type { RegistryEvent } from "./registry-port.ts";
import type { DatanetService } from "./service.ts";

/**
 * Mirrors registry events into the index. Every step is idempotent, so re-applying a block range after
 * a crash (the last processed block is saved after each range) gives the same state.
 */
export async function applyEvents(service: DatanetService, events: readonly RegistryEvent[]): Promise<void> {
  const { db } = service;
  for (const e of events) {
    switch (e.type) {
      case "DatanetCreated": {
        const { name, description } = await datanetMeta(service, e.metadataUri, e.datanetId);
        db.upsertDatanet({
          id: Number(e.datanetId),
          owner: e.owner,
          name,
          description,
          metadataUri: e.metadataUri,
          licensePrice: e.licensePrice.toString(),
          createdBlock: Number(e.block),
        });
        break;
      }
      case "MetadataURISet": {
        const { name, description } = await datanetMeta(service, e.metadataUri, e.datanetId);
        db.setDatanetMetadata(Number(e.datanetId), e.metadataUri, name, description);
        break;
      }
      case "LicenseTermsSet":
        db.setDatanetLicensePrice(Number(e.datanetId), e.licensePrice.toString());
        break;
      case "DatanetOwnershipTransferred":
        db.setDatanetOwner(Number(e.datanetId), e.to);
        break;
      case "ContributionSubmitted":
        await applyContribution(service, e);
        break;
      case "ContributionCurated": {
        const id = Number(e.contributionId);
        const row = db.getContribution(id);
        if (!row) break;
        db.setStatus(id, e.accepted ? "accepted" : "rejected");
        if (!e.accepted) service.nearDup.remove(row.datanetId, id);
        break;
      }
      case "SnapshotPublished":
        await service.snapshots.index(e);
        break;
      case "LicensePurchased":
        db.recordLicense(Number(e.snapshotId), e.licensee, Number(e.block), e.txHash);
        break;
    }
  }
}

async function datanetMeta(
  service: DatanetService,
  uri: string,
  id: bigint,
): Promise<{ name: string; description: string }> {
  const fallback = { name: `Datanet ${id}`, description: "" };
  if (!uri.startsWith("ipfs://")) return fallback;
  try {
    const meta = JSON.parse(new TextDecoder().decode(await service.blobs.get(uri.slice(7))));
    if (typeof meta?.name !== "string") return fallback;
    return { name: meta.name, description: typeof meta.description === "string" ? meta.description : "" };
  } catch {
    return fallback;
  }
}

async function applyContribution(
  service: DatanetService,
  e: Extract<RegistryEvent, { type: "ContributionSubmitted" }>,
): Promise<void> {
  const { db } = service;
  const id = Number(e.contributionId);
  if (db.hasContribution(id)) return;
  const datanetId = Number(e.datanetId);
  const base: ContributionRow = {
    id,
    datanetId,
    contributor: e.contributor,
    cid: "",
    metaCid: "",
    contentHash: e.contentHash,
    format: "",
    license: licenseFromBytes32(e.license),
    source: "",
    signature: "",
    byteSize: Number(e.byteSize),
    chunkCount: 0,
    status: "pending",
    contentState: "missing",
    block: Number(e.block),
    txHash: e.txHash,
  };
  // Content counts as ours only when its signed metadata names the same contributor.
  const metaCid = await service.refs.get(datanetId, e.contentHash);
  let derived: DerivedContent | undefined;
  if (metaCid && (await service.blobs.has(metaCid))) {
    const meta = await loadContributionMeta(service.blobs, metaCid);
    if (meta.contributor.toLowerCase() === e.contributor.toLowerCase()) {
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
    db.deleteStaged(datanetId, e.contentHash);
  });
  service.nearDup.remove(datanetId, service.stagedKey(datanetId, e.contentHash));
  for (const c of derived?.chunks ?? [])
    if (c.minhash) service.nearDup.add(datanetId, id, c.index, c.minhash);
}
