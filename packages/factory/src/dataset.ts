// Training data from Datanet snapshots: snapshot names resolve to on-chain snapshots, and a job's
// dataset is every chunk of its snapshots in leaf order, as JSONL that workers download.
import { type DatanetService, idToNumber, type SnapshotRow } from "@openledger/datanet";
import { chunkContentHash, chunkLeaf, MerkleTree } from "@openledger/merkle";
import type { Hex } from "viem";
import { sha256Hex } from "./canonical.ts";
import { InvalidRequestError, NotFoundError, TrainingError } from "./errors.ts";

export interface SnapshotRef {
  id: number;
  /** `<datanet name slug>@<version>`, e.g. `wordnet-noun.animal@1` */
  name: string;
  root: Hex;
  datanetId: number;
}

/** One training text: a snapshot chunk with where it came from. */
export interface DatasetRecord {
  text: string;
  contributionId: number;
  snapshotId: number;
  leafIndex: number;
  /** the chunk's index within its contribution (part of its Merkle leaf) */
  chunkIndex: number;
}

/** The Datanet name as it appears in snapshot names (the attribution route uses the same form). */
export function datanetSlug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * A snapshot by name: `<datanet slug>@<version>`, `<datanet slug>` (its latest snapshot) or
 * `snapshot:<id>`.
 */
export function resolveSnapshot(
  datanets: DatanetService,
  name: unknown,
  param = "training_file",
): SnapshotRef {
  if (typeof name !== "string" || name.length === 0 || name.length > 200) {
    throw new InvalidRequestError(
      "invalid_training_file",
      "a snapshot name must be a non-empty string",
      param,
    );
  }
  const byId = /^snapshot:(\d+)$/.exec(name);
  const rows = datanets.listDatanets();
  // A job's records keep ids as JSON numbers: converted here, where they leave the Datanet service.
  const ref = (snap: SnapshotRow): SnapshotRef => {
    const datanet = rows.find((d) => d.id === snap.datanetId);
    return {
      id: idToNumber(snap.id, "snapshot id"),
      name: `${datanetSlug(datanet?.name ?? `datanet-${snap.datanetId}`)}@${snap.version}`,
      root: snap.root,
      datanetId: idToNumber(snap.datanetId, "Datanet id"),
    };
  };
  if (byId) {
    try {
      return ref(datanets.getSnapshot(BigInt(byId[1])));
    } catch {
      throw new NotFoundError("snapshot_not_found", `snapshot ${byId[1]} does not exist`, param);
    }
  }
  const at = name.lastIndexOf("@");
  const slug = at > 0 ? name.slice(0, at) : name;
  const version = at > 0 ? Number(name.slice(at + 1)) : undefined;
  if (version !== undefined && !(Number.isInteger(version) && version > 0)) {
    throw new InvalidRequestError(
      "invalid_training_file",
      `'${name}': the version after @ must be a positive integer`,
      param,
    );
  }
  const datanet = rows.find((d) => datanetSlug(d.name) === slug);
  if (!datanet) {
    throw new NotFoundError(
      "snapshot_not_found",
      `no Datanet named '${slug}' (snapshot names look like wordnet-noun.animal@1; see \`openledger datanet list\`)`,
      param,
    );
  }
  const snaps = datanets.getDatanet(datanet.id).snapshots;
  const snap = version === undefined ? snaps.at(-1) : snaps.find((s) => s.version === version);
  if (!snap) {
    throw new NotFoundError(
      "snapshot_not_found",
      `Datanet '${slug}' has no snapshot ${version === undefined ? "yet" : `version ${version}`}`,
      param,
    );
  }
  return ref(snap);
}

/** Where a dataset's chunks come from: the Datanet service (or anything serving its snapshots). */
export type DatasetSource = Pick<DatanetService, "snapshots">;

/** Every chunk of the snapshots, snapshot by snapshot in the order given, leaves in order. */
export async function datasetRecords(
  datanets: DatasetSource,
  snapshotIds: number[],
): Promise<DatasetRecord[]> {
  const out: DatasetRecord[] = [];
  for (const id of snapshotIds) {
    for await (const c of datanets.snapshots.chunks(BigInt(id))) {
      out.push({
        text: c.text,
        contributionId: idToNumber(c.contributionId, "contribution id"),
        snapshotId: id,
        leafIndex: c.leafIndex,
        chunkIndex: c.chunkIndex,
      });
    }
  }
  return out;
}

export function datasetJsonl(records: DatasetRecord[]): Uint8Array {
  return Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(""));
}

export function parseDatasetJsonl(bytes: Uint8Array): DatasetRecord[] {
  return Buffer.from(bytes)
    .toString("utf8")
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as DatasetRecord);
}

/** sha256 of the dataset JSONL: the manifest's dataset hash. */
export const datasetHash = (jsonl: Uint8Array): Hex => sha256Hex(jsonl);

/**
 * What a worker trains on must be what the chain committed to: each snapshot's chunks, in leaf order,
 * rebuilt into the Datanet's Merkle tree (`chunkLeaf` of contribution id, chunk index and the text's
 * content hash) must give the snapshot's root. Throws `snapshot_data_mismatch` naming the snapshot.
 */
export function checkDatasetRoots(records: DatasetRecord[], snapshots: readonly SnapshotRef[]): void {
  const known = new Set(snapshots.map((s) => s.id));
  const stray = records.find((r) => !known.has(r.snapshotId));
  if (stray) {
    throw new TrainingError(
      "snapshot_data_mismatch",
      `the dataset holds a record of snapshot ${stray.snapshotId}, which this job does not train on`,
    );
  }
  for (const s of snapshots) {
    const mine = records.filter((r) => r.snapshotId === s.id);
    const mismatch = (why: string) =>
      new TrainingError(
        "snapshot_data_mismatch",
        `the data served for snapshot ${s.name} (id ${s.id}) does not match its on-chain root ${s.root}: ${why}; nothing was trained`,
      );
    if (mine.length === 0) throw mismatch("no chunks were served");
    const out = mine.findIndex((r, i) => r.leafIndex !== i);
    if (out >= 0) throw mismatch(`chunk ${out} is not leaf ${out} (got leaf ${mine[out].leafIndex})`);
    let root: string;
    try {
      root = MerkleTree.build(
        mine.map((r) => chunkLeaf(BigInt(r.contributionId), r.chunkIndex, chunkContentHash(r.text))),
      ).root;
    } catch (err) {
      throw mismatch(`its chunks do not form leaves (${(err as Error).message})`);
    }
    if (root.toLowerCase() !== s.root.toLowerCase())
      throw mismatch(`the ${mine.length} chunks give root ${root}`);
  }
}
