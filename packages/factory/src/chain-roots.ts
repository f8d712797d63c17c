// A worker that can reach the chain does not take its server's word for a snapshot's root or for the
// base model's hash: the job's roots must equal the ones DatanetRegistry holds, and its base hash the
// one registered in ModelRegistry. Without this, a lying server (or a relay in front of it) could
// alter the data (or the base file) and the root (or hash) it hands out together, and the worker's
// own checks of the bytes would pass.
import { getModel, getSnapshot } from "@openledger/sdk";
import { type Address, type Client, createPublicClient, http, webSocket } from "viem";
import type { SnapshotRef } from "./dataset.ts";
import { TrainingError } from "./errors.ts";

/**
 * Where a worker reads what it checks on-chain: a chain client, the DatanetRegistry (snapshot roots)
 * and, when known, the ModelRegistry (base model hashes).
 */
export interface RootSource {
  client: Client;
  datanetRegistry: Address;
  modelRegistry?: Address;
}

/** A read-only client of the chain at `rpcUrl` (http(s) or ws(s)). */
export function chainClient(rpcUrl: string): Client {
  return createPublicClient({ transport: /^wss?:/i.test(rpcUrl) ? webSocket(rpcUrl) : http(rpcUrl) });
}

/** The registries at `datanetRegistry` (and `modelRegistry`) on the chain at `rpcUrl`. */
export function rootSourceAt(rpcUrl: string, datanetRegistry: Address, modelRegistry?: Address): RootSource {
  return { client: chainClient(rpcUrl), datanetRegistry, ...(modelRegistry ? { modelRegistry } : {}) };
}

/**
 * Each snapshot's root in the job must be DatanetRegistry's `chunksRoot` of that snapshot id; throws
 * `snapshot_root_mismatch` naming the snapshot and both roots (or saying the id is not on-chain).
 */
export async function checkRootsOnChain(
  source: RootSource,
  snapshots: readonly SnapshotRef[],
): Promise<void> {
  const registry = source.datanetRegistry;
  for (const s of snapshots) {
    let onChain: { version: number; chunksRoot: string };
    try {
      onChain = await getSnapshot(source.client, { registry, snapshotId: BigInt(s.id) });
    } catch (err) {
      throw new Error(
        `cannot read snapshot ${s.name} (id ${s.id}) from DatanetRegistry ${registry}: ${(err as Error).message.split("\n")[0]}`,
      );
    }
    // getSnapshot answers an unknown id with an empty record (version 0) rather than reverting
    if (onChain.version === 0) {
      throw new TrainingError(
        "snapshot_root_mismatch",
        `snapshot ${s.name} (id ${s.id}) of this job does not exist in DatanetRegistry ${registry}; the job gives root ${s.root}; nothing was trained`,
      );
    }
    const chainRoot = onChain.chunksRoot;
    if (chainRoot.toLowerCase() !== s.root.toLowerCase()) {
      throw new TrainingError(
        "snapshot_root_mismatch",
        `the job gives snapshot ${s.name} (id ${s.id}) root ${s.root}, but DatanetRegistry ${registry} holds ${chainRoot}; nothing was trained`,
      );
    }
  }
}

/** The job's base model, as the server hands it out. */
export interface BaseRef {
  name: string;
  modelId: string;
  hash: string;
}

/**
 * The job's base hash must be the one registered for that model id in ModelRegistry. A base's hash
 * lives in its metadata JSON, whose CID is its on-chain `metadataURI`: `readBlob` must return the
 * bytes of that CID checked against it (so the server cannot alter them). Throws
 * `base_model_registry_mismatch` naming the base and both hashes.
 */
export async function checkBaseOnChain(
  client: Client,
  modelRegistry: Address,
  base: BaseRef,
  readBlob: (cid: string) => Promise<Uint8Array>,
): Promise<void> {
  const refused = (why: string) =>
    new TrainingError(
      "base_model_registry_mismatch",
      `the job gives base '${base.name}' (model id ${base.modelId}) hash ${base.hash}, but ${why}; nothing was trained`,
    );
  if (!/^\d+$/.test(base.modelId)) throw refused("that is not a ModelRegistry id");
  let metadataURI: string;
  try {
    ({ metadataURI } = await getModel(client, { registry: modelRegistry, modelId: BigInt(base.modelId) }));
  } catch (err) {
    throw new Error(
      `cannot read model ${base.modelId} ('${base.name}') from ModelRegistry ${modelRegistry}: ${(err as Error).message.split("\n")[0]}`,
    );
  }
  const cid = /^ipfs:\/\/([a-z2-7]+)$/.exec(metadataURI)?.[1];
  if (!cid) throw refused(`ModelRegistry ${modelRegistry} holds no base model under that id`);
  let registered: unknown;
  try {
    const meta = JSON.parse(Buffer.from(await readBlob(cid)).toString("utf8")) as {
      kind?: unknown;
      baseModel?: { hash?: unknown };
    };
    registered = meta.kind === "base" ? meta.baseModel?.hash : undefined;
  } catch {
    registered = undefined;
  }
  if (typeof registered !== "string") {
    throw refused(`model ${base.modelId} in ModelRegistry ${modelRegistry} is not a registered base model`);
  }
  if (registered.toLowerCase() !== base.hash.toLowerCase()) {
    throw refused(`ModelRegistry ${modelRegistry} registers ${registered}`);
  }
}
