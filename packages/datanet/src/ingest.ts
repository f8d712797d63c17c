import { chunkContentHash } from "@openledger/merkle";
import { type Address, getAddress, type Hex, isAddress, keccak256 } from "viem";
import { type BlobStore, cidForBytes } from "./blobstore.ts";
import { chunkRecords, DEFAULT_MAX_CHUNK_BYTES } from "./chunking.ts";
import { InvalidInputError } from "./errors.ts";
import { type ContentFormat, type ExtractOptions, extractText } from "./formats.ts";
import type { MinHasher } from "./minhash.ts";
import { utf8 } from "./text.ts";

/**
 * What a contribution's metadata blob holds. Its CID is the URI recorded on-chain, so the index can be
 * rebuilt from the chain plus the blob store: the metadata names the content blob and every
 * parameter needed to re-derive the same chunks.
 */
export interface ContributionMeta {
  kind: "openledger.contribution/1";
  datanetId: string;
  contributor: Address;
  contentCid: string;
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

export interface PreparedContribution {
  meta: ContributionMeta;
  /** The metadata blob (not yet stored) and its CID. */
  metaBytes: Uint8Array;
  metaCid: string;
  /** keccak256 of the normalised extracted text: the exact-duplicate key. */
  textHash: Hex;
  chunks: PreparedChunk[];
}

// SPDX ids are letters, digits, '.', '-' and '+', optionally combined with AND/OR/WITH.
const SPDX = /^[A-Za-z0-9.+-]+( (AND|OR|WITH) [A-Za-z0-9.+-]+)*$/;

export function validateLicense(license: string): string {
  if (!SPDX.test(license) || license.length > 128) {
    throw new InvalidInputError(
      "invalid_license",
      `"${license}" is not an SPDX license expression (e.g. CC-BY-4.0, MIT, CC0-1.0)`,
    );
  }
  return license;
}

export function validateAddress(value: string, what: string): Address {
  if (!isAddress(value, { strict: false }))
    throw new InvalidInputError("invalid_address", `${what} "${value}" is not an address`);
  return getAddress(value);
}

/** Derives the chunks of content bytes: decode, normalise, extract records, chunk, hash. */
export function deriveChunks(
  bytes: Uint8Array,
  format: ContentFormat,
  extract: ExtractOptions,
  maxChunkBytes: number,
  hasher: MinHasher,
): { textHash: Hex; chunks: PreparedChunk[] } {
  const extracted = extractText(bytes, format, extract);
  const chunks = chunkRecords(extracted.text, extracted.records, {
    maxBytes: maxChunkBytes,
    markdown: format === "markdown",
  }).map((c) => ({
    ...c,
    contentHash: chunkContentHash(c.text),
    minhash: hasher.signature(c.text),
  }));
  return { textHash: keccak256(utf8.encode(extracted.text)), chunks };
}

export interface PrepareInput {
  datanetId: bigint;
  contributor: Address;
  contentCid: string;
  format: ContentFormat;
  extract?: ExtractOptions;
  maxChunkBytes?: number;
  license: string;
  source?: string;
  signature: Hex;
}

/**
 * Reads the stored content back (integrity-checked), derives its chunks and builds the metadata blob.
 * Signature and duplicate checks are the caller's (they need the chain's domain and the index).
 */
export async function prepareContribution(
  store: BlobStore,
  hasher: MinHasher,
  input: PrepareInput,
): Promise<PreparedContribution & { bytes: Uint8Array }> {
  const bytes = await store.get(input.contentCid);
  const maxChunkBytes = input.maxChunkBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  const extract = input.extract ?? {};
  const { textHash, chunks } = deriveChunks(bytes, input.format, extract, maxChunkBytes, hasher);
  const meta: ContributionMeta = {
    kind: "openledger.contribution/1",
    datanetId: input.datanetId.toString(),
    contributor: input.contributor,
    contentCid: input.contentCid,
    contentHash: keccak256(bytes),
    byteSize: bytes.length,
    format: input.format,
    extract,
    maxChunkBytes,
    license: validateLicense(input.license),
    source: input.source ?? "",
    signature: input.signature,
  };
  const metaBytes = utf8.encode(JSON.stringify(meta));
  return { meta, metaBytes, metaCid: cidForBytes(metaBytes), textHash, chunks, bytes };
}

/** Loads a metadata blob written by prepareContribution (used when rebuilding from the chain). */
export async function loadContributionMeta(store: BlobStore, metaCid: string): Promise<ContributionMeta> {
  const bytes = await store.get(metaCid);
  let meta: ContributionMeta;
  try {
    meta = JSON.parse(new TextDecoder().decode(bytes)) as ContributionMeta;
  } catch {
    throw new InvalidInputError("invalid_metadata", `blob ${metaCid} is not contribution metadata`);
  }
  if (meta?.kind !== "openledger.contribution/1") {
    throw new InvalidInputError("invalid_metadata", `blob ${metaCid} is not contribution metadata`);
  }
  return meta;
}
