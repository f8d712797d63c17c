import { MerkleTree } from "@openledger/merkle";
import { encodeAbiParameters, type Hex, keccak256, parseAbiParameters } from "viem";
import { SHARE_TOTAL } from "./constants.ts";
import { nfcBytes } from "./text.ts";
import type { ChunkRef, SpanChunk, SpanV2Result } from "./types.ts";

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

// ---------------------------------------------------------------- span-v2 records (SpanV2Verifier)

/**
 * A span-v2 record's attribution bytes for SpanV2Verifier: the same layout as span-v1's
 * ({@link encodeSpanV1Attribution}), with `commitment` a span-v2 commitment and `witnesses` the span-v2
 * result's witness chunks (the first source of every covered word), each bound to its text hash.
 */
export function encodeSpanV2Attribution(a: Parameters<typeof encodeSpanV1Attribution>[0]): Hex {
  return encodeSpanV1Attribution(a);
}

/** `abi.encode(Recomputation)` for SpanV2Verifier: an evidence answer (the witnesses) or a challenge's body. */
export function encodeSpanV2Recomputation(e: Parameters<typeof encodeSpanV1Recomputation>[0]): Hex {
  return encodeSpanV1Recomputation(e);
}

/** A recomputation challenge's evidence (kind 0, SpanV2Verifier.RECOMPUTE): the witnesses plus the challenger's chunks. */
export function encodeSpanV2Challenge(e: Parameters<typeof encodeSpanV1Recomputation>[0]): Hex {
  return encodeAbiParameters(CHALLENGE_ABI, [0, encodeSpanV2Recomputation(e)]);
}

const SPAN_V2_PAYOUTS_ABI = parseAbiParameters(
  "((uint256 contributionId, uint256 share)[] credits, (uint32 wordStart, uint32 wordEnd, uint256 contributionId, uint64 weight)[] segments)",
);

/**
 * A payouts challenge's evidence (kind 1, SpanV2Verifier.PAYOUTS): the credits and credited segments the
 * record's commitment stands for (a span-v2 result's `credits` and `spans`). The record is wrong when its
 * payouts differ from {@link payoutsForCredits} of those credits.
 */
export function encodeSpanV2PayoutsChallenge(r: Pick<SpanV2Result, "credits" | "spans">): Hex {
  const body = encodeAbiParameters(SPAN_V2_PAYOUTS_ABI, [
    {
      credits: r.credits.map((c) => ({ contributionId: c.contributionId, share: BigInt(c.share) })),
      segments: r.spans.map((s) => ({
        wordStart: s.wordStart,
        wordEnd: s.wordEnd,
        contributionId: s.contributionId,
        weight: BigInt(s.weight),
      })),
    },
  ]);
  return encodeAbiParameters(CHALLENGE_ABI, [1, body]);
}

/** One `(account, amount)` payout of a settlement record (contracts' `Payout`). */
export interface RecordPayout {
  account: Hex;
  amount: bigint;
}

/**
 * The payouts a credited record must carry, byte for byte the verifiers' rule (SpanV1Verifier and
 * SpanV2Verifier `_payoutsMatch`): one payout per credit, in credit order (ascending contributionId), to
 * `contributorOf(contributionId)`, each `floor(total * share / 1,000,000)` except the first, which takes
 * `total` minus the others (the rounding dust). No credits: no payouts (see contracts/README.md for
 * uncredited records).
 */
export function payoutsForCredits(
  credits: readonly { contributionId: bigint; share: number }[],
  total: bigint,
  contributorOf: (contributionId: bigint) => Hex,
): RecordPayout[] {
  if (total < 0n) throw new RangeError("payoutsForCredits: total must not be negative");
  const amounts = credits.map((c) => (total * BigInt(c.share)) / SHARE_TOTAL);
  if (amounts.length > 0) amounts[0] = total - amounts.slice(1).reduce((a, b) => a + b, 0n);
  return credits.map((c, i) => ({ account: contributorOf(c.contributionId), amount: amounts[i] }));
}
