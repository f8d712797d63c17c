import type { Address, Hex } from "viem";
import type { TrainingConfig } from "./hyperparameters.ts";

export const MANIFEST_SCHEMA = "openledger.training-manifest/1";

export interface Artefact {
  hash: Hex;
  uri: string;
  bytes: number;
}

/** Everything that went into and came out of a training run; stored as a blob, named in the metadata. */
export interface TrainingManifest {
  schema: typeof MANIFEST_SCHEMA;
  job: string;
  name: string;
  owner: Address;
  baseModel: { name: string; modelId: string; hash: Hex; uri: string };
  tokenizer: string;
  snapshots: { id: number; name: string; root: Hex; datanetId: number }[];
  /** the owner's licence purchases (DatanetRegistry LicensePurchased), one per snapshot */
  licences: {
    snapshotId: number;
    licensee: Address;
    transactionHash: Hex | null;
    blockNumber: number | null;
  }[];
  config: TrainingConfig;
  configHash: Hex;
  dataset: { hash: Hex; records: number; trainExamples: number; heldOutExamples: number };
  adapter: { gguf: Artefact; peftConfig: Artefact; peftWeights: Artefact };
  gradients: Artefact & { format: "grad-v1"; dims: number };
  metrics: {
    totalSteps: number;
    trainedTokens: number;
    heldOutLossBefore: number;
    heldOutLossAfter: number;
    perplexityBefore: number;
    perplexityAfter: number;
    tokensPerSecond: number;
  };
  backend: string;
  attempts: number;
}
