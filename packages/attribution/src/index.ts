export { attributeSpanV1, computeSpanV1 } from "./attribute.ts";
export {
  canonicalRoots,
  encodeSpanV1Result,
  encodeSpanV2Result,
  SPAN_V1_TAG,
  SPAN_V2_TAG,
} from "./commitment.ts";
export {
  MAX_OUTPUT_BYTES,
  MAX_OUTPUT_WORDS,
  MIN_SPAN_COST,
  MIN_WORDS,
  SHARE_TOTAL,
} from "./constants.ts";
export { COST_TIERS, costTableEntries, DEFAULT_WORD_COST, wordCost } from "./costTable.ts";
export { indexSnapshotExport, readSnapshotExport } from "./dataset.ts";
export {
  AttributionError,
  GradientError,
  IndexFormatError,
  InvalidChunkError,
  InvalidTextError,
  OutputTooLargeError,
  PrecompileError,
  ProofError,
} from "./errors.ts";
export {
  GRAD_SCALE_BITS,
  GRAD_STORE_VERSION,
  type GradCredit,
  GradientStore,
  GradientStoreBuilder,
  type GradV1Result,
  gradV1,
  LR_SCALE_BITS,
  quantizeGradient,
  quantizeLearningRate,
} from "./grad.ts";
export {
  ATTRIBUTION_ALGORITHMS,
  type AttributionAlgorithm,
  type AttributionRoutesOptions,
  attributionRoutes,
  type ServedSnapshot,
} from "./http.ts";
export { resultToJson } from "./json.ts";
export {
  type AttributionRecord,
  buildAttributionRecords,
  type EvidenceChunk,
  encodeSpanV1Attribution,
  encodeSpanV1Challenge,
  encodeSpanV1Evidence,
  encodeSpanV1Recomputation,
  encodeSpanV2Attribution,
  encodeSpanV2Challenge,
  encodeSpanV2PayoutsChallenge,
  encodeSpanV2Recomputation,
  payoutsForCredits,
  type RecordPayout,
  spanV1RecordLeaf,
} from "./onchain.ts";
export {
  decodeSpanV1PrecompileOutput,
  encodeSpanV1PrecompileInput,
  type PrecompileDefinition,
  runSpanV1Precompile,
  runSpanV2Precompile,
  SPAN_V1_GAS,
  SPAN_V1_PRECOMPILE_ADDRESS,
  SPAN_V1_PRECOMPILE_INPUT,
  SPAN_V1_PRECOMPILE_LIMITS,
  SPAN_V1_PRECOMPILE_OUTPUT,
  SPAN_V2_PRECOMPILE_ADDRESS,
  spanV1Precompile,
  spanV1PrecompileGas,
  spanV2Precompile,
} from "./precompile.ts";
export { spanV1Reference } from "./reference.ts";
export { renderAttribution } from "./render.ts";
export { SPAN_INDEX_VERSION, SpanIndex } from "./spanIndex.ts";
export { attributeSpanV2, computeSpanV2 } from "./spanV2.ts";
export { spanV2Reference } from "./spanV2Reference.ts";
export { nfcBytes, outputWords, splitWords, type Words } from "./text.ts";
export type {
  ChunkRef,
  Credit,
  Occurrence,
  SpanChunk,
  SpanMatch,
  SpanResult,
  SpanV1Result,
  SpanV2Result,
} from "./types.ts";
export {
  type ChallengeOutcome,
  challengeSpanV1,
  checkChunkProofs,
  type ProvenChunk,
  spanChunkLeaf,
  verifySpanV1,
} from "./verify.ts";
