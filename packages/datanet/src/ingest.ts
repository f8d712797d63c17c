import { chunkContentHash } from "@openledger/merkle";
import { type Address, getAddress, type Hex, hexToBytes, isAddress, keccak256, stringToHex } from "viem";
import { type BlobStore, cidForBytes } from "./blobstore.ts";
import { chunkRecords } from "./chunking.ts";
import { InvalidInputError } from "./errors.ts";
import { type ContentFormat, type ExtractOptions, extractText } from "./formats.ts";
import type { MinHasher } from "./minhash.ts";
import { utf8 } from "./text.ts";

/**
 * A contribution's metadata blob. It names the content blob and every parameter needed to re-derive
 * the same chunks, so the index can be rebuilt from the chain plus the blob store.
 */
export interface ContributionMeta {
  kind: "openledger.contribution/1";
  datanetId: string;
  contributor: Address;
  contentCid: string;
  /** keccak256 of the normalised extracted text (what the registry records and the contributor signs). */
  contentHash: Hex;
  byteSize: number;
  format: ContentFormat;
  extract: ExtractOptions;
  maxChunkBytes: number;
  license: string;
  source: string;
  signature: Hex;
}

export interface PreparedChunk {
  index: number;
  byteStart: number;
  byteEnd: number;
  text: string;
  contentHash: Hex;
  minhash: Uint32Array | null;
}

export interface DerivedContent {
  contentHash: Hex;
  chunks: PreparedChunk[];
}

// SPDX ids are letters, digits, '.', '-' and '+', optionally combined with AND/OR/WITH; the registry
// stores them as a left-aligned bytes32.
const SPDX = /^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$/;

export function validateLicense(license: string): string {
  if (typeof license !== "string" || !SPDX.test(license)) {
    throw new InvalidInputError(
      "invalid_license",
      `"${license}" is not an SPDX license id (e.g. CC-BY-4.0, MIT, CC0-1.0)`,
    );
  }
  if (utf8.encode(license).length > 32) {
    throw new InvalidInputError("invalid_license", `license id "${license}" is longer than 32 bytes`);
  }
  return license;
}

export function licenseToBytes32(license: string): Hex {
  return stringToHex(validateLicense(license), { size: 32 });
}

export function licenseFromBytes32(value: Hex): string {
  const bytes = hexToBytes(value);
  let end = bytes.length;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return new TextDecoder().decode(bytes.subarray(0, end));
}

export function validateAddress(value: string, what: string): Address {
  if (typeof value !== "string" || !isAddress(value, { strict: false })) {
    throw new InvalidInputError("invalid_address", `${what} "${value}" is not an address`);
  }
  return getAddress(value);
}

/** Decode, normalise, extract records, chunk, hash and MinHash: a pure function of its inputs. */
export function deriveContent(
  bytes: Uint8Array,
  format: ContentFormat,
  extract: ExtractOptions,
  maxChunkBytes: number,
  hasher: MinHasher,
): DerivedContent {
  const extracted = extractText(bytes, format, extract);
  const chunks = chunkRecords(extracted.text, extracted.records, {
    maxBytes: maxChunkBytes,
    markdown: format === "markdown",
  }).map((c) => ({
    ...c,
    contentHash: chunkContentHash(c.text),
    minhash: hasher.signature(c.text),
  }));
  return { contentHash: keccak256(utf8.encode(extracted.text)), chunks };
}

/** The content hash a contributor signs, computed from the file exactly as the service will. */
export function contentHashOf(bytes: Uint8Array, format: ContentFormat, extract: ExtractOptions = {}): Hex {
  return keccak256(utf8.encode(extractText(bytes, format, extract).text));
}

export function encodeMeta(meta: ContributionMeta): { bytes: Uint8Array; cid: string } {
  const bytes = utf8.encode(JSON.stringify(meta));
  return { bytes, cid: cidForBytes(bytes) };
}

/** Loads a metadata blob (used when rebuilding the index from the chain). */
export async function loadContributionMeta(store: BlobStore, metaCid: string): Promise<ContributionMeta> {
  const bytes = await store.get(metaCid);
  let meta: ContributionMeta | undefined;
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes)) as ContributionMeta;
  } catch {
    meta = undefined;
  }
  if (meta?.kind !== "openledger.contribution/1") {
    throw new InvalidInputError("invalid_metadata", `blob ${metaCid} is not contribution metadata`);
  }
  return meta;
}
