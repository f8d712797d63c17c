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

// ---------------------------------------------------------------- settlement records (issue 18 format)

const ATTRIBUTION_ABI = parseAbiParameters(
  "(bytes32 outputHash, bytes32 commitment, uint256[] snapshotIds, (uint256 contributionId, uint32 chunkIndex, bytes32 textHash)[] witnesses)",
);
const RECOMPUTATION_ABI = parseAbiParameters(
  "(bytes output, (uint256 contributionId, uint32 chunkIndex, bytes text, uint256 snapshotId, bytes32[] proof)[] chunks)",
);
const CHALLENGE_ABI = parseAbiParameters("uint8 kind, bytes body");

/**
 * A record's attribution bytes for SpanV1Verifier (`abi.encode(Attribution)`): the output hash, the
 * commitment, the snapshots and each witness chunk bound to its text hash. A settlement record leaf commits
 * to keccak256 of these bytes and the record's payouts (@openledger/sdk `buildRecordTree`).
 */
export function encodeSpanV1Attribution(a: {
  outputHash: Hex;
  commitment: Hex;
  snapshotIds: readonly bigint[];
  witnesses: readonly SpanChunk[];
}): Hex {
  return encodeAbiParameters(ATTRIBUTION_ABI, [
    {
      outputHash: a.outputHash,
      commitment: a.commitment,
      snapshotIds: a.snapshotIds,
      witnesses: a.witnesses.map((w) => ({
        contributionId: w.contributionId,
        chunkIndex: w.chunkIndex,
        textHash: keccak256(nfcBytes(w.text, "witness")),
      })),
    },
  ]);
}

/**
 * `abi.encode(Recomputation)`: the output and proven chunks. As an evidence answer the chunks are exactly
 * the record's witnesses; in a challenge ({@link encodeSpanV1Challenge}) they are the witnesses plus the
 * challenger's own.
 */
export function encodeSpanV1Recomputation(e: {
  output: string | Uint8Array;
  chunks: readonly EvidenceChunk[];
}): Hex {
  return encodeAbiParameters(RECOMPUTATION_ABI, [
    {
      output: bytesHex(nfcBytes(e.output, "output")),
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

/** A recomputation challenge's evidence for InferenceSettlement.challenge (kind 0, SpanV1Verifier.RECOMPUTE). */
export function encodeSpanV1Challenge(e: {
  output: string | Uint8Array;
  chunks: readonly EvidenceChunk[];
}): Hex {
  return encodeAbiParameters(CHALLENGE_ABI, [0, encodeSpanV1Recomputation(e)]);
}
