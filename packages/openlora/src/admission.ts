import type { UsageRecord } from "./metering.ts";
import type { PublishedModel, WeightedAdapter } from "./types.ts";

/** What a request presented to pay for itself (raw header values; absent when not sent). */
export interface Credentials {
  authorization?: string;
  /** x402's `X-PAYMENT` / `PAYMENT-SIGNATURE` header */
  payment?: string;
}

/** A request about to run: its tokenized size and the most it may generate. */
export interface AdmissionRequest {
  id: string;
  model: PublishedModel;
  adapters: WeightedAdapter[];
  promptTokens: number;
  maxTokens: number;
  credentials: Credentials;
}

/** What settling a request adds to its answer: response headers and the `openledger` field. */
export interface Settlement {
  headers: Record<string, string>;
  extension: Record<string, unknown>;
}

/** An admitted request's hold on the payer's funds; settled once with the usage that ran. */
export interface AdmissionTicket {
  /** response headers known at admission (x402's PAYMENT-RESPONSE): sent with the answer, streams too */
  headers?: Record<string, string>;
  settle(record: UsageRecord): Promise<Settlement>;
  /** The run failed with an error (not a cancellation) and is not settled: release or return what was taken. */
  abandon?(error: unknown): Promise<void>;
}

/**
 * Decides whether a request may run (the payments layer's pre-request hook). It throws an
 * OpenLoraError to refuse (401, 402, ...) or returns a ticket that is settled after the run,
 * cancelled runs included; null admits the request free of charge.
 */
export type AdmissionHook = (req: AdmissionRequest) => Promise<AdmissionTicket | null>;
