import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { chunkLeaf, MerkleTree, settlementLeaf } from "@openledger/merkle";
import type { Address, Hex } from "viem";
import type { BlobStore } from "./blobstore.ts";
import type { ContributionRow, DatanetDb } from "./db.ts";
import { DatanetError, InvalidInputError, NotFoundError } from "./errors.ts";
import { idToNumber } from "./ids.ts";
import type { RegistryEventOf } from "./registry-port.ts";
import { type BuiltSnapshot, buildSnapshot, entryForLeaf, type SnapshotManifest } from "./snapshot.ts";
import { utf8 } from "./text.ts";

/** One chunk of a snapshot, in leaf order, with everything needed to prove it against the root. */
export interface SnapshotChunk {
  snapshotId: bigint;
  leafIndex: number;
  contributionId: bigint;
  chunkIndex: number;
  text: string;
  contentHash: Hex;
  leaf: Hex;
  proof: Hex[];
}

export interface ChunkProof {
  snapshotId: bigint;
  root: Hex;
  leafIndex: number;
  contributionId: bigint;
  chunkIndex: number;
  contentHash: Hex;
  leaf: Hex;
  proof: Hex[];
}

const CACHE = 4;

/** Builds, indexes and serves snapshots (manifests in the blob store, trees rebuilt on demand). */
export class SnapshotStore {
  private readonly db: DatanetDb;
  private readonly blobs: BlobStore;
  private readonly cache = new Map<bigint, BuiltSnapshot>();

  constructor(db: DatanetDb, blobs: BlobStore) {
    this.db = db;
    this.blobs = blobs;
  }

  build(
    datanetId: bigint,
    accepted: readonly ContributionRow[],
    onProgress?: (done: number, total: number) => void,
  ) {
    return buildSnapshot(datanetId, accepted, (id) => this.db.chunkHashes(id), onProgress);
  }

  async storeManifest(manifest: SnapshotManifest): Promise<string> {
    return (await this.blobs.put(utf8.encode(JSON.stringify(manifest)))).cid;
  }

  remember(snapshotId: bigint, built: BuiltSnapshot): void {
    this.cache.delete(snapshotId);
    this.cache.set(snapshotId, built);
    while (this.cache.size > CACHE) this.cache.delete(this.cache.keys().next().value as bigint);
  }

  forget(): void {
    this.cache.clear();
  }

  /** Follower step for SnapshotPublished: loads the manifest named by the URI and records the entries. */
  async index(e: RegistryEventOf<"SnapshotPublished">): Promise<void> {
    const { datanetId, version, chunksRoot, uri } = e.args;
    const id = e.args.snapshotId;
    if (this.db.getSnapshot(id)) return;
    let manifest: SnapshotManifest | undefined;
    const cid = uri.startsWith("ipfs://") ? uri.slice(7) : "";
    if (cid && (await this.blobs.has(cid))) {
      const parsed = JSON.parse(new TextDecoder().decode(await this.blobs.get(cid))) as SnapshotManifest;
      if (parsed.kind === "openledger.snapshot/1" && parsed.root.toLowerCase() === chunksRoot.toLowerCase()) {
        manifest = parsed;
      }
    }
    this.db.transaction(() =>
      this.db.insertSnapshot(
        {
          id,
          datanetId,
          version,
          root: chunksRoot,
          chunkCount: manifest?.leafCount ?? 0,
          contributionCount: manifest?.contributions.length ?? 0,
          manifestCid: manifest ? cid : "",
          block: Number(e.blockNumber),
          txHash: e.transactionHash,
        },
        (manifest?.contributions ?? []).map((c, position) => ({
          snapshotId: id,
          position,
          contributionId: BigInt(c.contributionId),
          firstLeaf: c.firstLeaf,
          chunkCount: c.chunkCount,
        })),
      ),
    );
  }

  async manifest(snapshotId: bigint): Promise<SnapshotManifest> {
    return (await this.built(snapshotId)).manifest;
  }

  private async built(snapshotId: bigint): Promise<BuiltSnapshot> {
    const cached = this.cache.get(snapshotId);
    if (cached) return cached;
    const row = this.db.getSnapshot(snapshotId);
    if (!row) throw new NotFoundError("unknown_snapshot", `snapshot ${snapshotId} does not exist`);
    if (!row.manifestCid) {
      throw new NotFoundError(
        "snapshot_content_missing",
        `snapshot ${snapshotId} was published without a manifest in this store; proofs are unavailable here`,
      );
    }
    const manifest = JSON.parse(
      new TextDecoder().decode(await this.blobs.get(row.manifestCid)),
    ) as SnapshotManifest;
    const contributions = manifest.contributions.map(
      (c) => this.db.getContribution(BigInt(c.contributionId))!,
    );
    const built = buildSnapshot(row.datanetId, contributions, (id) => this.db.chunkHashes(id));
    if (built.manifest.root !== row.root) {
      throw new DatanetError(
        "integrity_error",
        "snapshot_mismatch",
        `snapshot ${snapshotId}: chunks in the index give root ${built.manifest.root}, the chain has ${row.root}`,
      );
    }
    built.manifest = manifest;
    this.remember(snapshotId, built);
    return built;
  }

  async tree(snapshotId: bigint): Promise<MerkleTree> {
    return (await this.built(snapshotId)).tree;
  }

  /** Proof for a leaf, by leaf index or by (contributionId, chunkIndex). */
  async proof(
    snapshotId: bigint,
    at: { leafIndex: number } | { contributionId: bigint; chunkIndex: number },
  ): Promise<ChunkProof> {
    const { tree, manifest } = await this.built(snapshotId);
    let leafIndex: number;
    if ("leafIndex" in at) leafIndex = at.leafIndex;
    else {
      const entry = manifest.contributions.find((c) => c.contributionId === String(at.contributionId));
      if (!entry) {
        throw new NotFoundError(
          "not_in_snapshot",
          `contribution ${at.contributionId} is not part of snapshot ${snapshotId}`,
        );
      }
      if (!Number.isInteger(at.chunkIndex) || at.chunkIndex < 0 || at.chunkIndex >= entry.chunkCount) {
        throw new InvalidInputError(
          "invalid_chunk_index",
          `contribution ${at.contributionId} has chunks 0..${entry.chunkCount - 1}, not ${at.chunkIndex}`,
        );
      }
      leafIndex = entry.firstLeaf + at.chunkIndex;
    }
    if (!Number.isInteger(leafIndex) || leafIndex < 0 || leafIndex >= manifest.leafCount) {
      throw new InvalidInputError(
        "invalid_leaf_index",
        `snapshot ${snapshotId} has leaves 0..${manifest.leafCount - 1}, not ${leafIndex}`,
      );
    }
    const entry = entryForLeaf(manifest, leafIndex)!;
    const chunkIndex = leafIndex - entry.firstLeaf;
    const chunk = this.db.chunks(BigInt(entry.contributionId))[chunkIndex];
    return {
      snapshotId,
      root: manifest.root,
      leafIndex,
      contributionId: BigInt(entry.contributionId),
      chunkIndex,
      contentHash: chunk.contentHash,
      leaf: tree.leaf(leafIndex),
      proof: tree.proof(leafIndex),
    };
  }

  /**
   * A contributor's royalty leaf (weight = chunks contributed) and its proof against the snapshot's
   * `contributorsRoot`, as `DatanetRegistry.claimRoyalty` takes them.
   */
  async royaltyProof(
    snapshotId: bigint,
    account: string,
  ): Promise<{ account: Address; weight: bigint; proof: Hex[]; contributorsRoot: Hex }> {
    const { manifest } = await this.built(snapshotId);
    const contributors = manifest.contributors ?? [];
    const index = contributors.findIndex((c) => c.account.toLowerCase() === account.toLowerCase());
    if (index < 0) {
      throw new NotFoundError("not_a_contributor", `${account} has no chunks in snapshot ${snapshotId}`);
    }
    const tree = MerkleTree.build(contributors.map((c) => settlementLeaf(c.account, BigInt(c.weight))));
    return {
      account: contributors[index].account,
      weight: BigInt(contributors[index].weight),
      proof: tree.proof(index),
      contributorsRoot: tree.root as Hex,
    };
  }

  /**
   * Every chunk of a snapshot in leaf order (contribution id ascending, then chunk index), with its
   * leaf and, unless `proofs: false`, its inclusion proof. This is what attribution indexes.
   */
  async *chunks(snapshotId: bigint, opts: { proofs?: boolean } = {}): AsyncGenerator<SnapshotChunk> {
    const { tree, manifest } = await this.built(snapshotId);
    const withProofs = opts.proofs ?? true;
    for (const entry of manifest.contributions) {
      const contributionId = BigInt(entry.contributionId);
      const rows = this.db.chunks(contributionId);
      for (let i = 0; i < entry.chunkCount; i++) {
        const leafIndex = entry.firstLeaf + i;
        const c = rows[i];
        yield {
          snapshotId,
          leafIndex,
          contributionId,
          chunkIndex: i,
          text: c.text,
          contentHash: c.contentHash,
          leaf: chunkLeaf(contributionId, i, c.contentHash),
          proof: withProofs ? tree.proof(leafIndex) : [],
        };
      }
    }
  }

  /**
   * Writes `dataset.jsonl` (one line per chunk: text, contributionId, chunkIndex, leaf) and
   * `manifest.json` (every contribution with its leaf range) into `dir`.
   */
  async exportDataset(
    snapshotId: bigint,
    dir: string,
    onProgress?: (done: number, total: number) => void,
  ): Promise<{ datasetPath: string; manifestPath: string; lines: number }> {
    const manifest = await this.manifest(snapshotId);
    const row = this.db.getSnapshot(snapshotId)!;
    await mkdir(dir, { recursive: true });
    const datasetPath = join(dir, "dataset.jsonl");
    const manifestPath = join(dir, "manifest.json");
    const out = createWriteStream(datasetPath);
    let lines = 0;
    for await (const c of this.chunks(snapshotId, { proofs: false })) {
      const line = `${JSON.stringify({
        text: c.text,
        contributionId: c.contributionId.toString(),
        chunkIndex: c.chunkIndex,
        leaf: c.leaf,
      })}\n`;
      if (!out.write(line)) await once(out, "drain");
      lines++;
      if (lines % 1000 === 0 || lines === manifest.leafCount) onProgress?.(lines, manifest.leafCount);
    }
    out.end();
    await once(out, "finish");
    const exported = {
      ...manifest,
      snapshotId: idToNumber(snapshotId, "snapshot id"),
      version: row.version,
      contributions: manifest.contributions.map((c) => ({
        ...c,
        leafRange: [c.firstLeaf, c.firstLeaf + c.chunkCount],
      })),
    };
    await writeFile(manifestPath, `${JSON.stringify(exported, null, 2)}\n`);
    return { datasetPath, manifestPath, lines };
  }
}
