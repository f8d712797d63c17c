import { chunkLeaf, processProof } from "@openledger/merkle";
import { type Hex, isHex, keccak256 } from "viem";
import { computeSpanV1 } from "./attribute.ts";
import { canonicalRoots } from "./commitment.ts";
import { ProofError } from "./errors.ts";
import { nfcBytes } from "./text.ts";
import type { SpanChunk, SpanV1Result } from "./types.ts";

/** A chunk with its inclusion proof against the snapshot root it claims to belong to. */
export interface ProvenChunk extends SpanChunk {
  root: Hex;
  proof: readonly Hex[];
}

const isBytes32 = (v: unknown): v is Hex => typeof v === "string" && isHex(v) && v.length === 66;

/** The snapshot chunk leaf of a chunk (README of @openledger/merkle; contentHash over NFC bytes). */
export function spanChunkLeaf(chunk: SpanChunk): Hex {
  const contentHash = keccak256(
    nfcBytes(chunk.text, `contribution ${chunk.contributionId} chunk ${chunk.chunkIndex}`),
  );
  return chunkLeaf(chunk.contributionId, chunk.chunkIndex, contentHash);
}

/** Throws ProofError unless every chunk proves into one of `snapshotRoots`. */
export function checkChunkProofs(chunks: readonly ProvenChunk[], snapshotRoots: readonly Hex[]): void {
  if (!Array.isArray(snapshotRoots) || !snapshotRoots.every(isBytes32)) {
    throw new ProofError("snapshot roots must be an array of 0x-prefixed bytes32 values");
  }
  const allowed = new Set(snapshotRoots.map((r) => r.toLowerCase()));
  chunks.forEach((chunk, k) => {
    const what = `chunk ${k} (contribution ${chunk?.contributionId} chunk ${chunk?.chunkIndex})`;
    if (!isBytes32(chunk?.root)) throw new ProofError(`${what}: root must be a bytes32`);
    if (!Array.isArray(chunk.proof) || !chunk.proof.every(isBytes32)) {
      throw new ProofError(`${what}: proof must be an array of bytes32 values`);
    }
    if (!allowed.has(chunk.root.toLowerCase())) {
      throw new ProofError(
        `${what} claims snapshot root ${chunk.root}, which is not one of the snapshots attributed against`,
      );
    }
    const computed = processProof(chunk.proof, spanChunkLeaf(chunk));
    if (computed.toLowerCase() !== chunk.root.toLowerCase()) {
      throw new ProofError(
        `${what}: Merkle proof leads to ${computed}, not to its snapshot root ${chunk.root} (forged or wrong proof)`,
      );
    }
  });
}

/** span-v1 over chunks whose Merkle proofs are checked first against the given snapshot roots. */
export function verifySpanV1(
  output: string | Uint8Array,
  chunks: readonly ProvenChunk[],
  snapshotRoots: readonly Hex[],
): SpanV1Result {
  if (!Array.isArray(chunks)) throw new ProofError("chunks must be an array");
  checkChunkProofs(chunks, snapshotRoots);
  return computeSpanV1(output, chunks, canonicalRoots(snapshotRoots));
}

export interface ChallengeOutcome {
  /** True when the chunks added change the committed result: the settlement was wrong. */
  succeeds: boolean;
  recomputed: SpanV1Result;
}

/**
 * A challenge to a committed span-v1 result: the settled chunks plus the challenger's chunks (all
 * proven) are recomputed; the challenge succeeds iff the commitment changes (README, "Witnesses").
 */
export function challengeSpanV1(
  output: string | Uint8Array,
  settledChunks: readonly ProvenChunk[],
  addedChunks: readonly ProvenChunk[],
  snapshotRoots: readonly Hex[],
  committed: Hex,
): ChallengeOutcome {
  if (!isBytes32(committed)) throw new ProofError("committed result must be a bytes32 commitment");
  if (!Array.isArray(settledChunks) || !Array.isArray(addedChunks))
    throw new ProofError("chunks must be arrays");
  const recomputed = verifySpanV1(output, [...settledChunks, ...addedChunks], snapshotRoots);
  return { succeeds: recomputed.commitment.toLowerCase() !== committed.toLowerCase(), recomputed };
}
