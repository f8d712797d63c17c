import { MerkleTree, settlementLeaf } from "@openledger/merkle";
import type { SnapshotCommitment } from "@openledger/sdk";
import type { Address, Hex } from "viem";
import type { ChainAccess, DatanetStores, Progress } from "./context.ts";
import type { SnapshotRow } from "./db.ts";
import {
  ChainError,
  DuplicateContentError,
  InvalidInputError,
  NotFoundError,
  PermissionError,
} from "./errors.ts";
import { toId } from "./ids.ts";
import { validateAddress } from "./ingest.ts";
import type { BuiltSnapshot } from "./snapshot.ts";

// Snapshots and licences: freezing a Datanet's accepted contributions and selling training licences.

export function getSnapshot(stores: DatanetStores, snapshotId: bigint): SnapshotRow {
  const row = stores.db.getSnapshot(snapshotId);
  if (!row) throw new NotFoundError("unknown_snapshot", `snapshot ${snapshotId} does not exist`);
  return row;
}

/**
 * Freezes the Datanet's accepted contributions into the next snapshot's commitment: builds the chunk
 * tree and the contributors' royalty tree (weight = chunks contributed) and stores the manifest. Only
 * the Datanet's owner may publish it.
 */
export async function prepareSnapshot(
  stores: DatanetStores,
  owner: Address,
  datanetId: bigint,
  onProgress?: Progress,
): Promise<{ commitment: SnapshotCommitment; built: BuiltSnapshot }> {
  const { db, snapshots } = stores;
  const datanet = db.getDatanet(datanetId);
  if (!datanet) throw new NotFoundError("unknown_datanet", `Datanet ${datanetId} does not exist`);
  if (datanet.owner.toLowerCase() !== owner.toLowerCase()) {
    throw new PermissionError(
      "not_owner",
      `only the owner ${datanet.owner} may snapshot Datanet ${datanetId}`,
    );
  }
  const accepted = db
    .listContributions(datanetId, { status: "accepted" })
    .filter((c) => c.contentState === "available" && c.chunkCount > 0);
  if (accepted.length === 0) {
    throw new InvalidInputError(
      "nothing_accepted",
      `Datanet ${datanetId} has no accepted contributions to snapshot; curate some first`,
    );
  }
  const built = snapshots.build(datanetId, accepted, onProgress);
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
  const manifestCid = await snapshots.storeManifest(built.manifest);
  const commitment: SnapshotCommitment = {
    datanetId,
    chunksRoot: built.manifest.root,
    chunkCount: built.manifest.leafCount,
    contributionCount: built.manifest.contributions.length,
    contributorsRoot: contributorsTree.root as Hex,
    totalWeight: [...weights.values()].reduce((a, b) => a + b, 0n),
    uri: `ipfs://${manifestCid}`,
  };
  return { commitment, built };
}

/** prepareSnapshot, then publishes the commitment from `owner` (a key this service holds). */
export async function publishSnapshot(
  stores: DatanetStores,
  chain: ChainAccess,
  owner: string,
  datanetId: bigint,
  onProgress?: Progress,
): Promise<SnapshotRow> {
  const sender = chain.sender(owner, "owner");
  await chain.sync();
  const { commitment, built } = await prepareSnapshot(stores, sender, datanetId, onProgress);
  const { snapshotId } = await chain.registry.publishSnapshot(sender, commitment);
  await chain.sync();
  const row = stores.db.getSnapshot(snapshotId);
  if (!row) throw new ChainError("not_indexed", `snapshot ${snapshotId} was published but is not indexed`);
  stores.snapshots.remember(row.id, built);
  return row;
}

/** Buys a training license for `snapshotId` (paid by `buyer`, held by `licensee`, default the buyer). */
export async function buyLicense(
  stores: DatanetStores,
  chain: ChainAccess,
  buyer: string,
  snapshotId: bigint,
  licensee?: string,
): Promise<{ price: bigint }> {
  const sender = chain.sender(buyer, "buyer");
  const holder = licensee ? validateAddress(licensee, "licensee") : sender;
  getSnapshot(stores, snapshotId);
  if (await chain.registry.hasLicense(snapshotId, holder)) {
    throw new DuplicateContentError(
      "exact_duplicate",
      `${holder} already holds a license for snapshot ${snapshotId}`,
      { snapshotId },
    );
  }
  const { price } = await chain.registry.buyLicense(sender, snapshotId, holder);
  await chain.sync();
  return { price };
}

/** Whether `account` holds a training license for the snapshot (read from the chain). */
export function hasLicense(chain: ChainAccess, snapshotId: bigint, account: string): Promise<boolean> {
  const address = validateAddress(account, "account");
  return chain.registry.hasLicense(toId(snapshotId, "snapshotId"), address);
}
