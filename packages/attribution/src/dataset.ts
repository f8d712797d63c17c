import { readFileSync } from "node:fs";
import { join } from "node:path";
import { MerkleTree } from "@openledger/merkle";
import type { Hex } from "viem";
import { IndexFormatError, ProofError } from "./errors.ts";
import { SpanIndex } from "./spanIndex.ts";
import type { SpanChunk } from "./types.ts";
import { spanChunkLeaf } from "./verify.ts";

/**
 * Reads a snapshot exported by the datanet part (`dataset.jsonl` + `manifest.json` in `dir`), checks
 * that the chunks rebuild the manifest's Merkle root, and returns the chunks and root.
 */
export function readSnapshotExport(dir: string): { root: Hex; chunks: SpanChunk[] } {
  let manifest: { root?: unknown };
  let lines: string[];
  try {
    manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    lines = readFileSync(join(dir, "dataset.jsonl"), "utf8").split("\n").filter(Boolean);
  } catch (err) {
    throw new IndexFormatError(
      `${dir}: not a snapshot export (manifest.json + dataset.jsonl): ${(err as Error).message}`,
    );
  }
  if (typeof manifest.root !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(manifest.root)) {
    throw new IndexFormatError(`${dir}/manifest.json has no bytes32 root`);
  }
  const chunks: SpanChunk[] = lines.map((line, k) => {
    let row: { text?: unknown; contributionId?: unknown; chunkIndex?: unknown };
    try {
      row = JSON.parse(line);
    } catch {
      throw new IndexFormatError(`${dir}/dataset.jsonl line ${k + 1} is not JSON`);
    }
    if (
      typeof row.text !== "string" ||
      typeof row.contributionId !== "string" ||
      !/^[0-9]+$/.test(row.contributionId)
    ) {
      throw new IndexFormatError(`${dir}/dataset.jsonl line ${k + 1} lacks text or contributionId`);
    }
    return { contributionId: BigInt(row.contributionId), chunkIndex: Number(row.chunkIndex), text: row.text };
  });
  if (chunks.length === 0) throw new IndexFormatError(`${dir}/dataset.jsonl has no chunks`);
  const root = MerkleTree.build(chunks.map(spanChunkLeaf)).root;
  if (root.toLowerCase() !== manifest.root.toLowerCase()) {
    throw new ProofError(`${dir}: the chunks rebuild root ${root}, not the manifest's ${manifest.root}`);
  }
  return { root, chunks };
}

/** Builds the span-v1 index of an exported snapshot. */
export function indexSnapshotExport(dir: string): SpanIndex {
  const { root, chunks } = readSnapshotExport(dir);
  return SpanIndex.build(chunks, root);
}
