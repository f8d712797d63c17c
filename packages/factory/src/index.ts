export { checkBaseLogits } from "./base-check.ts";
export { canonicalHash, canonicalJson, sha256Hex } from "./canonical.ts";
export {
  chainClient,
  checkBaseOnChain,
  checkRootsOnChain,
  type RootSource,
  rootSourceAt,
} from "./chain-roots.ts";
export {
  checkDatasetRoots,
  type DatasetRecord,
  type DatasetSource,
  datanetSlug,
  datasetRecords,
  resolveSnapshot,
  type SnapshotRef,
} from "./dataset.ts";
export {
  DEMO_BASE_GGUF,
  DEMO_DOMAINS,
  DEMO_HYPERPARAMETERS,
  openStackFactory,
  type StackFactoryOptions,
  startDemoAdapters,
  waitForJobs,
} from "./demo.ts";
export * from "./errors.ts";
export { eventObject, type FineTuningRoutesOptions, fineTuningRoutes, jobObject } from "./http.ts";
export { DEFAULT_CONFIG, parseHyperparameters, RANGES, type TrainingConfig } from "./hyperparameters.ts";
export type { Job, JobArtefacts, JobEvent, JobResult, JobSpec, JobStatus } from "./job-store.ts";
export { JobStore, TERMINAL } from "./job-store.ts";
export { MANIFEST_SCHEMA, type TrainingManifest } from "./manifest.ts";
export {
  addBaseModel,
  cidOfUri,
  listModelRecords,
  listPublishedModels,
  type ModelMetadata,
  type ModelRecord,
  type PublishedModel,
  type RegistryContext,
  resolveModel,
  resolveModelRecord,
} from "./models.ts";
export { factoryClients, type OpenFactoryOptions, openFactory, workerTokenFor } from "./open.ts";
export { type ReportData, reportHtml } from "./report.ts";
export { type CompletionBody, FactoryService, type FactoryServiceOptions } from "./service.ts";
export { type RunMetrics, runEmbedded, totalStepsFor } from "./train/embedded.ts";
export { splitDataset, toExample } from "./train/examples.ts";
export { type ExternalTrainer, type ExternalTrainerConfig, runExternal } from "./train/external.ts";
export { type VerifyCheck, type VerifyOptions, type VerifyResult, verifyModel } from "./verify.ts";
export { runWorker, type WorkerOptions } from "./worker.ts";
