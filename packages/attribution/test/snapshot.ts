import { MerkleTree } from "@openledger/merkle";
import type { Hex } from "viem";
import { type ProvenChunk, type SpanChunk, spanChunkLeaf } from "../src/index.ts";

/** A snapshot as the datanet part publishes it: a Merkle tree over chunk leaves, with proofs. */
export function makeSnapshot(chunks: readonly SpanChunk[]): { root: Hex; proven: ProvenChunk[] } {
  const tree = MerkleTree.build(chunks.map(spanChunkLeaf));
  return { root: tree.root, proven: chunks.map((c, k) => ({ ...c, root: tree.root, proof: tree.proof(k) })) };
}
