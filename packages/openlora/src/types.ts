import type { PublishedModel } from "@openledger/factory";
import type { ServerMetrics } from "./metrics.ts";

/** A published model as ModelRegistry and its metadata blob describe it: the factory's read API shape. */
export type { PublishedModel };

/** Where models are looked up: ModelRegistry plus the content store, or the factory's read API. */
export interface ModelCatalog {
  list(): Promise<PublishedModel[]>;
  /** The model by name or decimal id; ModelNotFoundError when there is none. */
  resolve(nameOrId: string): Promise<PublishedModel>;
}

export interface SamplingParams {
  maxTokens: number;
  temperature: number;
  topP: number;
  seed: number;
  stop: string[];
  /** top alternatives per token; undefined: no log-probabilities */
  logprobs?: number;
}

/** One adapter of a request with its weight (a plain request: one adapter, weight 1). */
export interface WeightedAdapter {
  model: PublishedModel;
  weight: number;
}

export interface GenerationRequest {
  id: string;
  /** fairness key: requests are admitted round-robin across tenants */
  tenant: string;
  /** the model named by the request (a base model or an adapter model) */
  model: PublishedModel;
  /** adapters applied together; empty: the base model alone */
  adapters: WeightedAdapter[];
  prompt: string;
  params: SamplingParams;
}

export interface TokenLogprob {
  token: string;
  logprob: number;
  top?: { token: string; logprob: number }[];
}

export interface GenerationEvent {
  /** text released by this step (may be empty while a stop string could still match) */
  text: string;
  logprob?: TokenLogprob;
}

export type FinishReason = "stop" | "length" | "cancelled";

export interface GenerationResult {
  text: string;
  finishReason: FinishReason;
  promptTokens: number;
  completionTokens: number;
  logprobs?: TokenLogprob[];
}

/** A request a backend accepted for running: its prompt is tokenized and its adapters are loaded. */
export interface PreparedGeneration {
  promptTokens: number;
  /**
   * Runs it; events arrive in order. Rejects before any event when the queue is full
   * (QueueFullError). An aborted signal ends it early with finishReason "cancelled".
   */
  run(onEvent: (ev: GenerationEvent) => void, signal: AbortSignal): Promise<GenerationResult>;
}

/** A serving engine for one or more base models. */
export interface Backend {
  readonly kind: string;
  /** the server's metrics, handed over when the backend joins a server */
  useMetrics?(metrics: ServerMetrics): void;
  prepare(req: GenerationRequest): Promise<PreparedGeneration>;
  close(): Promise<void>;
}
