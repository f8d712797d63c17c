import {
  AttributionError,
  type ChunkRef,
  computeSpanV2,
  type EvidenceChunk,
  encodeSpanV2Attribution,
  encodeSpanV2Recomputation,
  nfcBytes,
  type SpanV2Result,
} from "@openledger/attribution";
import { type Hex, keccak256 } from "viem";
import { MissingWitnessError } from "./errors.ts";

/** A proven witness chunk as stored and served (JSON: ids as decimal strings). */
export interface WitnessJson {
  contributionId: string;
  chunkIndex: number;
  text: string;
  snapshotId: string;
  proof: Hex[];
}

/**
 * What settlement keeps of an answer's span-v2 result: the committed parts (credits, credited
 * segments, roots, commitment) and its witness chunks with their Merkle proofs against the snapshots'
 * on-chain chunk roots, enough to build the record, answer an evidence request and let anyone check it.
 */
export interface StoredAttribution {
  outputHash: Hex;
  commitment: Hex;
  roots: Hex[];
  credits: { contributionId: string; weight: number; share: number }[];
  spans: { wordStart: number; wordEnd: number; contributionId: string; weight: number }[];
  witnesses: WitnessJson[];
}

/**
 * The witnesses of a span-v2 result with their texts and proofs: `witnessChunks` is given the
 * snapshot ids and the result's witness refs and returns them proven (e.g. from the Datanet service's
 * snapshot proofs).
 */
export type WitnessChunks = (
  snapshotIds: readonly bigint[],
  refs: readonly ChunkRef[],
) => Promise<EvidenceChunk[]>;

export function storeAttribution(r: SpanV2Result, chunks: readonly EvidenceChunk[]): StoredAttribution {
  const witnesses = r.witnesses.map((w) => {
    const c = chunks.find((x) => x.contributionId === w.contributionId && x.chunkIndex === w.chunkIndex);
    if (!c) throw new MissingWitnessError(w.contributionId, w.chunkIndex);
    return {
      contributionId: c.contributionId.toString(),
      chunkIndex: c.chunkIndex,
      text: typeof c.text === "string" ? c.text : new TextDecoder().decode(c.text),
      snapshotId: c.snapshotId.toString(),
      proof: [...c.proof],
    };
  });
  return {
    outputHash: r.outputHash,
    commitment: r.commitment,
    roots: r.roots,
    credits: r.credits.map((c) => ({
      contributionId: c.contributionId.toString(),
      weight: c.weight,
      share: c.share,
    })),
    spans: r.spans.map((s) => ({
      wordStart: s.wordStart,
      wordEnd: s.wordEnd,
      contributionId: s.contributionId.toString(),
      weight: s.weight,
    })),
    witnesses,
  };
}

export function witnessChunks(a: StoredAttribution): EvidenceChunk[] {
  return a.witnesses.map((w) => ({
    contributionId: BigInt(w.contributionId),
    chunkIndex: w.chunkIndex,
    text: w.text,
    snapshotId: BigInt(w.snapshotId),
    proof: w.proof,
  }));
}

export function creditsOf(
  a: StoredAttribution | null | undefined,
): { contributionId: bigint; share: number }[] {
  return (a?.credits ?? []).map((c) => ({ contributionId: BigInt(c.contributionId), share: c.share }));
}

/** A record's attribution bytes for SpanV2Verifier. */
export function recordAttribution(a: StoredAttribution, snapshotIds: readonly bigint[]): Hex {
  return encodeSpanV2Attribution({
    outputHash: a.outputHash,
    commitment: a.commitment,
    snapshotIds,
    witnesses: witnessChunks(a),
  });
}

/**
 * The attribution bytes of an answer settled without proven witnesses: span-v2 over no snapshot at all
 * (no credits, which anyone can recompute), so its share follows the uncredited rule. An answer over
 * span-v2's limits has no honest record (a challenge shows span-v2 cannot take it): the zero commitment.
 */
export function unattributedRecord(output: string): Hex {
  let commitment: Hex = `0x${"00".repeat(32)}`;
  try {
    commitment = computeSpanV2(output, [], []).commitment;
  } catch (err) {
    if (!(err instanceof AttributionError)) throw err;
  }
  return encodeSpanV2Attribution({
    outputHash: keccak256(nfcBytes(output, "output")),
    commitment,
    snapshotIds: [],
    witnesses: [],
  });
}

/** The operator's answer to an evidence request: the output and every proven witness. */
export function evidenceAnswer(output: string, a: StoredAttribution | null): Hex {
  return encodeSpanV2Recomputation({ output, chunks: a ? witnessChunks(a) : [] });
}
