// Training data from Datanet snapshots: snapshot names resolve to on-chain snapshots, and a job's
// dataset is every chunk of its snapshots in leaf order, as JSONL that workers download.
import { type DatanetService, idToNumber, type SnapshotRow } from "@openledger/datanet";
import type { Hex } from "viem";
import { sha256Hex } from "./canonical.ts";
import { InvalidRequestError, NotFoundError } from "./errors.ts";

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

/** Every chunk of the snapshots, snapshot by snapshot in the order given, leaves in order. */
export async function datasetRecords(
  datanets: DatanetService,
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
