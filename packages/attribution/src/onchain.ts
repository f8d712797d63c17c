import { MerkleTree } from "@openledger/merkle";
import { encodeAbiParameters, type Hex, keccak256, parseAbiParameters } from "viem";
import { nfcBytes } from "./text.ts";
import type { ChunkRef, SpanChunk } from "./types.ts";

/** What SpanV1Verifier (contracts/src/attribution) needs for one proven chunk. */
export interface EvidenceChunk extends SpanChunk {
  snapshotId: bigint;
  proof: readonly Hex[];
}

const RECORD_ABI = parseAbiParameters(
  "bytes32 outputHash, bytes32 commitment, uint256[] snapshotIds, (uint256 contributionId, uint32 chunkIndex)[] witnesses",
);
const EVIDENCE_ABI = parseAbiParameters(
  "(bytes output, bytes32 commitment, uint256[] snapshotIds, (uint256 contributionId, uint32 chunkIndex)[] witnesses, bytes32[] recordProof, (uint256 contributionId, uint32 chunkIndex, bytes text, uint256 snapshotId, bytes32[] proof)[] chunks)",
);

/** The attribution record leaf an operator commits per output (SpanV1Verifier.recordLeaf). */
export function spanV1RecordLeaf(
  outputHash: Hex,
  commitment: Hex,
  snapshotIds: readonly bigint[],
  witnesses: readonly ChunkRef[],
): Hex {
  const inner = keccak256(encodeAbiParameters(RECORD_ABI, [outputHash, commitment, snapshotIds, witnesses]));
  return keccak256(inner);
}

/** `abi.encode(Evidence)` for SpanV1Verifier.verifyChallenge / InferenceSettlement.challenge. */
export function encodeSpanV1Evidence(e: {
  output: string | Uint8Array;
  commitment: Hex;
  snapshotIds: readonly bigint[];
  witnesses: readonly ChunkRef[];
  recordProof: readonly Hex[];
  chunks: readonly EvidenceChunk[];
}): Hex {
  return encodeAbiParameters(EVIDENCE_ABI, [
    {
      output: bytesHex(nfcBytes(e.output, "output")),
      commitment: e.commitment,
      snapshotIds: e.snapshotIds,
      witnesses: e.witnesses,
      recordProof: e.recordProof,
      chunks: e.chunks.map((c) => ({
        contributionId: c.contributionId,
        chunkIndex: c.chunkIndex,
        text: bytesHex(nfcBytes(c.text, "chunk")),
        snapshotId: c.snapshotId,
        proof: c.proof,
      })),
    },
  ]);
}

function bytesHex(b: Uint8Array): Hex {
  return `0x${Buffer.from(b).toString("hex")}`;
}

/** One attributed output as an operator records it before posting its settlement batch. */
export interface AttributionRecord {
  outputHash: Hex;
  commitment: Hex;
  snapshotIds: readonly bigint[];
  witnesses: readonly ChunkRef[];
}

/**
 * The records tree an operator posts with `SpanV1Verifier.postAttributions(contributorsRoot, root)`;
 * `proof(i)` is the `recordProof` a challenger of record `i` supplies.
 */
export function buildAttributionRecords(records: readonly AttributionRecord[]): {
  root: Hex;
  leaves: Hex[];
  proof(index: number): Hex[];
} {
  const leaves = records.map((r) => spanV1RecordLeaf(r.outputHash, r.commitment, r.snapshotIds, r.witnesses));
  const tree = MerkleTree.build(leaves);
  return { root: tree.root, leaves, proof: (index) => tree.proof(index) };
}
