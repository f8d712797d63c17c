import { chunkLeaf, MerkleTree } from "@openledger/merkle";
import { type Address, type Hex, hexToBytes } from "viem";
import type { ChunkRow, ContributionRow } from "./db.ts";

export const LEAF_ENCODING =
  "keccak256(bytes.concat(keccak256(abi.encode(uint256 contributionId, uint32 chunkIndex, bytes32 contentHash))))";

export interface ManifestEntry {
  contributionId: string;
  contributor: Address;
  cid: string;
  contentHash: Hex;
  license: string;
  /** Leaves [firstLeaf, firstLeaf + chunkCount) of the tree belong to this contribution. */
  firstLeaf: number;
  chunkCount: number;
}

/** The frozen description of a snapshot, stored as a blob (its CID is recorded on-chain). */
export interface SnapshotManifest {
  kind: "openledger.snapshot/1";
  datanetId: string;
  root: Hex;
  leafCount: number;
  leafEncoding: string;
  order: "contributionId asc, chunkIndex asc";
  contributions: ManifestEntry[];
  /** Royalty weights (chunks contributed) under `contributorsRoot`, sorted by address. */
  contributors?: { account: Address; weight: string }[];
  contributorsRoot?: Hex;
}

export interface BuiltSnapshot {
  manifest: SnapshotManifest;
  tree: MerkleTree;
}

/**
 * Freezes accepted contributions: sorted by contribution id, each contribution's chunks in order, one
 * leaf per chunk (`chunkLeaf`), one Merkle tree (leaves in that order, not sorted).
 */
export function buildSnapshot(
  datanetId: bigint,
  contributions: readonly ContributionRow[],
  chunksOf: (contributionId: bigint) => readonly Pick<ChunkRow, "idx" | "contentHash">[],
  onProgress?: (done: number, total: number) => void,
): BuiltSnapshot {
  const sorted = [...contributions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const entries: ManifestEntry[] = [];
  const leaves: Uint8Array[] = [];
  let leafCount = 0;
  for (const [k, c] of sorted.entries()) {
    const chunks = chunksOf(c.id);
    entries.push({
      contributionId: String(c.id),
      contributor: c.contributor,
      cid: c.cid,
      contentHash: c.contentHash,
      license: c.license,
      firstLeaf: leafCount,
      chunkCount: chunks.length,
    });
    for (const chunk of chunks) leaves.push(hexToBytes(chunkLeaf(c.id, chunk.idx, chunk.contentHash)));
    leafCount += chunks.length;
    onProgress?.(k + 1, sorted.length);
  }
  const packed = new Uint8Array(leafCount * 32);
  leaves.forEach((leaf, i) => {
    packed.set(leaf, i * 32);
  });
  const tree = MerkleTree.fromPackedLeaves(packed);
  return {
    tree,
    manifest: {
      kind: "openledger.snapshot/1",
      datanetId: String(datanetId),
      root: tree.root as Hex,
      leafCount,
      leafEncoding: LEAF_ENCODING,
      order: "contributionId asc, chunkIndex asc",
      contributions: entries,
    },
  };
}

/** Finds which manifest entry a leaf belongs to (binary search over firstLeaf). */
export function entryForLeaf(manifest: SnapshotManifest, leaf: number): ManifestEntry | undefined {
  const list = manifest.contributions;
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = list[mid];
    if (leaf < e.firstLeaf) hi = mid - 1;
    else if (leaf >= e.firstLeaf + e.chunkCount) lo = mid + 1;
    else return e;
  }
  return undefined;
}
