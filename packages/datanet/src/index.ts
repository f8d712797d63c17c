export { type BlobStore, cidForBytes, FileBlobStore, type PutResult } from "./blobstore.ts";
export { chunkRecords, DEFAULT_MAX_CHUNK_BYTES, type TextChunk } from "./chunking.ts";
export type { ChunkRow, ContributionRow, ContributionStatus, DatanetRow, SnapshotRow } from "./db.ts";
export { DatanetDb } from "./db.ts";
export { DataDirInUseError } from "./dir-lock.ts";
export * from "./errors.ts";
export {
  type ContentFormat,
  type ExtractOptions,
  extractText,
  FORMATS,
  formatFromFileName,
  parseFormat,
} from "./formats.ts";
export { type DatanetHttpOptions, datanetRoutes, isLoopback } from "./http.ts";
export { idToNumber } from "./ids.ts";
export {
  type ContributionMeta,
  contentHashOf,
  deriveContent,
  licenseFromBytes32,
  licenseToBytes32,
} from "./ingest.ts";
export { type ContributionLimits, DEFAULT_LIMITS, RateLimiter } from "./limits.ts";
export {
  DEFAULT_MINHASH,
  DEFAULT_NEAR_DUP_THRESHOLD,
  LshIndex,
  MinHasher,
  type MinHashParams,
} from "./minhash.ts";
export { NearDupIndex } from "./neardup.ts";
export { type OpenDatanetServiceOptions, openDatanetService } from "./open.ts";
export { countingStream, progressBar } from "./progress.ts";
export { SdkRegistry, type SdkRegistryOptions } from "./registry.ts";
export type { RegistryEvent, RegistryPort } from "./registry-port.ts";
export {
  SeedInterruptedError,
  type SeedSummary,
  type SeedWordnetOptions,
  seedWordnet,
  wordnetSeedUnfinished,
} from "./seed.ts";
export {
  type ContributionView,
  type CreateDatanetInput,
  DatanetService,
  type DatanetServiceOptions,
  type DatanetView,
  type StagedContribution,
  type StagedView,
  type StageInput,
  type UnsignedTransaction,
} from "./service.ts";
export { CONTRIBUTION_TYPES, contributionTypedData, verifyContributionSignature } from "./signature.ts";
export { LEAF_ENCODING, type ManifestEntry, type SnapshotManifest } from "./snapshot.ts";
export { type ChunkProof, type SnapshotChunk, SnapshotStore } from "./snapshots.ts";
export { CANCEL_STAGED_TYPES, cancelStagedTypedData, DEFAULT_STAGED_TTL_MS } from "./staging.ts";
export { decodeUtf8Strict, normalizeText } from "./text.ts";
export { toWireJson } from "./wire.ts";
export {
  LEXICOGRAPHER_FILES,
  parseSynsetLine,
  readWordnetByDomain,
  type Synset,
  synsetText,
} from "./wordnet.ts";
