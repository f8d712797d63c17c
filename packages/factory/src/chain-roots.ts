// A worker that can reach the chain does not take its server's word for a snapshot's root: the job's
// root must equal the one DatanetRegistry holds. Without this, a lying server (or a relay in front of
// it) could alter the data and the root it hands out together, and the data check would pass.
import { getSnapshot } from "@openledger/sdk";
import { type Address, type Client, createPublicClient, http, webSocket } from "viem";
import type { SnapshotRef } from "./dataset.ts";
import { TrainingError } from "./errors.ts";

/** Where a worker reads snapshot roots: a chain client and the DatanetRegistry on it. */
export interface RootSource {
  client: Client;
  datanetRegistry: Address;
}

/** A read-only client of the chain at `rpcUrl` (http(s) or ws(s)). */
export function chainClient(rpcUrl: string): Client {
  return createPublicClient({ transport: /^wss?:/i.test(rpcUrl) ? webSocket(rpcUrl) : http(rpcUrl) });
}

/** The roots of the DatanetRegistry at `datanetRegistry` on the chain at `rpcUrl`. */
export function rootSourceAt(rpcUrl: string, datanetRegistry: Address): RootSource {
  return { client: chainClient(rpcUrl), datanetRegistry };
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
