import type { Address } from "viem";
import type { FinishReason } from "./types.ts";

/** What one completed request used, for the payments layer (one record per request, cancelled ones too). */
export interface UsageRecord {
  id: string;
  /** the model the request named */
  model: { name: string; modelId: bigint; version: number; owner: Address; pricePer1kTokens: bigint };
  /** adapters applied (an adapter model alone: itself with weight 1; an ensemble: each part) */
  adapters: {
    name: string;
    modelId: bigint;
    version: number;
    weight: number;
    owner: Address;
    pricePer1kTokens: bigint;
  }[];
  tenant: string;
  backend: string;
  prompt: string;
  output: string;
  promptTokens: number;
  completionTokens: number;
  totalTokens: number;
  /** "cancelled": the client went away; the counts are what ran until then */
  finishReason: FinishReason;
  startedAt: Date;
  finishedAt: Date;
}

/** Receives every completed request's usage; errors it throws are logged, never sent to the client. */
export type MeteringHook = (record: UsageRecord) => void | Promise<void>;
