import { createHash } from "node:crypto";
import { type BlobStore, cidForBytes } from "@openledger/datanet";
import type { Hex } from "viem";
import { ContentUnavailableError } from "./errors.ts";

export function sha256Hex(bytes: Uint8Array): Hex {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}

/** `ipfs://<cid>` or a bare CID -> the CID. */
export function cidOfUri(uri: string): string {
  return uri.startsWith("ipfs://") ? uri.slice("ipfs://".length) : uri;
}

/** Reads a blob; a missing or unreadable one becomes ContentUnavailableError naming what it is. */
export async function readBlob(blobs: BlobStore, cid: string, what: string): Promise<Uint8Array> {
  try {
    return await blobs.get(cid);
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "blob_not_found" || code === "invalid_cid" || code === "unsupported_cid")
      throw new ContentUnavailableError(what, cid);
    throw err;
  }
}

/**
 * Why bytes are not the ones the registry recorded, or null when they are: their sha256 must equal
 * the registry hash, and the CID they were fetched under must be the CID of exactly those bytes.
 */
export function hashMismatch(bytes: Uint8Array, expected: Hex, cid: string): string | null {
  const actual = sha256Hex(bytes);
  if (actual.toLowerCase() !== expected.toLowerCase())
    return `its bytes hash to ${actual}, ModelRegistry records ${expected}`;
  if (cidForBytes(bytes) !== cid) return `its bytes are not the content of ${cid}`;
  return null;
}
