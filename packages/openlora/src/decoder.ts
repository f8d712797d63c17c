import { type GeneratedToken, type LlamaModel, type LoraAdapter, Sequence } from "@openledger/ml";
import type { SamplingParams, TokenLogprob } from "./types.ts";

/**
 * The ml engine's per-request stepper for an OpenAI-style request: seeded sampling exactly as
 * @openledger/ml's generate does it, the tokenizer's end-of-sequence as stop token, stop strings and
 * log-probabilities. The scheduler puts its input in each batched step and feeds it the logits.
 */
export function requestSequence(
  model: LlamaModel,
  prompt: number[],
  params: SamplingParams,
  decode: (ids: number[]) => string,
  stopTokens: number[],
  adapter: LoraAdapter | null = null,
): Sequence {
  return new Sequence(model, prompt, {
    maxTokens: params.maxTokens,
    temperature: params.temperature,
    topP: params.topP,
    seed: params.seed,
    stop: params.stop,
    stopTokens,
    decode,
    adapter,
    ...(params.logprobs !== undefined ? { logprobs: params.logprobs } : {}),
  });
}

/** A sampled token's log-probability as the OpenAI API reports it: tokens as text. */
export function textLogprob(
  decode: (ids: number[]) => string,
  ev: Pick<GeneratedToken, "token" | "logprob" | "top">,
): TokenLogprob {
  return {
    token: decode([ev.token]),
    logprob: ev.logprob!,
    ...(ev.top ? { top: ev.top.map((t) => ({ token: decode([t.token]), logprob: t.logprob })) } : {}),
  };
}
