import type { ChunkRef, EvidenceChunk } from "@openledger/attribution";
import type { DatanetService } from "@openledger/datanet";
import type { TrainingSnapshot } from "@openledger/payments";
import type { Address, Client } from "viem";

/** What settlement reads from the Datanet service: contributions' chunk texts, snapshot proofs and manifests. */
export type SettlementSource = Pick<DatanetService, "getContribution" | "getSnapshot" | "snapshots">;

/**
 * The witness chunks of an answer, proven: each chunk's text and its Merkle proof against the chunks
 * root of the first of `snapshotIds` that holds it (PaymentGate's `witnessChunks`).
 */
export function witnessChunksFrom(source: SettlementSource) {
  return async (snapshotIds: readonly bigint[], refs: readonly ChunkRef[]): Promise<EvidenceChunk[]> => {
    const out: EvidenceChunk[] = [];
    for (const ref of refs) {
      const text = source.getContribution(ref.contributionId, { chunks: true }).chunks?.[ref.chunkIndex]
        ?.text;
      let found: EvidenceChunk | undefined;
      for (const snapshotId of snapshotIds) {
        const proof = await source.snapshots
          .proof(snapshotId, { contributionId: ref.contributionId, chunkIndex: ref.chunkIndex })
          .catch(() => undefined); // not in this snapshot: the next one
        if (proof && text !== undefined) {
          found = { ...ref, text, snapshotId, proof: proof.proof };
          break;
        }
      }
      if (!found)
        throw new Error(
          `chunk ${ref.chunkIndex} of contribution ${ref.contributionId} is in none of snapshots ${snapshotIds.join(", ")}`,
        );
      out.push(found);
    }
    return out;
  };
}

/**
 * A model's training snapshots for answers that credit no span (the batcher's `trainingSnapshots`):
 * the latest version's snapshots with their contributors leaves in leaf order. Training jobs do not
 * record tokens per snapshot yet, so a snapshot's part is its chunk count (on-chain, so a watcher
 * computes the same split).
 */
export function trainingSnapshotsFrom(
  source: SettlementSource,
  client: Client,
  modelRegistry: Address,
): (modelId: bigint) => Promise<TrainingSnapshot[]> {
  return async (modelId) => {
    const { getProvenance } = await import("@openledger/sdk");
    const { snapshotIds } = await getProvenance(client, { registry: modelRegistry, modelId });
    const out: TrainingSnapshot[] = [];
    for (const id of snapshotIds) {
      const row = source.getSnapshot(id);
      const manifest = await source.snapshots.manifest(id);
      const contributors = (manifest.contributors ?? []).map((c) => ({
        account: c.account,
        weight: BigInt(c.weight),
      }));
      out.push({
        snapshotId: id,
        trainingTokens: BigInt(row.chunkCount),
        totalWeight: contributors.reduce((s, c) => s + c.weight, 0n),
        contributors,
      });
    }
    return out;
  };
}
