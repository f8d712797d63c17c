import { Rng } from "../kernels/rng.ts";
import type { LoraAdapter } from "../lora/adapter.ts";
import { ModelInputError } from "./errors.ts";
import { type ForwardRequest, forward } from "./infer.ts";
import { KVCache, type LlamaModel } from "./llama.ts";
import { checkSampling, logSoftmax, type SamplingOptions, sampleToken, topIndices } from "./sampling.ts";

export interface GenerateOptions extends SamplingOptions {
  /** default 64 */
  maxTokens?: number;
  /** token ids that end generation (not included in the output), e.g. end-of-sequence */
  stopTokens?: number[];
  /** strings that end generation (not included in the text); needs `decode` */
  stop?: string[];
  /** token ids -> text, for `text` fields and stop strings */
  decode?: (ids: number[]) => string;
  /** include the chosen token's log-probability, plus this many top alternatives (0: none) */
  logprobs?: number;
  adapter?: LoraAdapter | null;
}

export interface TokenLogprob {
  token: number;
  logprob: number;
}

export interface GeneratedToken {
  /** the sampled id; -1 on a last event that only releases held-back text */
  token: number;
  /** text released by this token (held back while it could still start a stop string) */
  text: string;
  logprob?: number;
  top?: TokenLogprob[];
}

export interface GenerateResult {
  tokens: number[];
  text: string;
  finishReason: "stop" | "length";
  promptTokens: number;
  logprobs?: { token: number; logprob: number; top?: TokenLogprob[] }[];
}

/**
 * One request's generation state, stepped by whoever runs the forward passes: `input()` is what the
 * next pass feeds (the prompt first, then the last sampled token), `accept(logits)` samples from
 * that pass's logits and applies stop tokens, stop strings, maxTokens and the cache's capacity.
 * `step()` runs the pass for this sequence alone; batchers put many sequences' inputs in one pass.
 * The KV cache is allocated on the first `input()` (a queued sequence holds none) and released by
 * `free()`.
 */
export class Sequence {
  readonly tokens: number[] = [];
  readonly logprobs: NonNullable<GenerateResult["logprobs"]> = [];
  readonly maxTokens: number;
  text = "";
  done: GenerateResult["finishReason"] | null = null;
  private readonly rng: Rng;
  private emitted = 0;
  private cache: KVCache | null = null;
  private freed = false;
  private next: ArrayLike<number>;

  constructor(
    readonly model: LlamaModel,
    readonly prompt: ArrayLike<number>,
    private readonly o: GenerateOptions = {},
  ) {
    if (prompt.length === 0) throw new ModelInputError("the prompt has no tokens");
    if (prompt.length > model.maxContext) {
      throw new ModelInputError(
        `the prompt has ${prompt.length} tokens; the context holds ${model.maxContext}`,
      );
    }
    checkSampling(o);
    const max = o.maxTokens ?? 64;
    if (!Number.isInteger(max) || max < 1)
      throw new ModelInputError(`maxTokens must be a positive integer, got ${max}`);
    if (o.stop?.length && !o.decode) throw new ModelInputError("stop strings need a decode function");
    if (o.stop?.some((s) => s.length === 0)) throw new ModelInputError("stop strings must not be empty");
    this.maxTokens = max;
    this.rng = new Rng(o.seed ?? 0);
    this.next = prompt;
  }

  /** The next forward pass's row for this sequence (the prefill on the first call). */
  input(): ForwardRequest {
    if (this.done || this.freed) throw new ModelInputError("the sequence has finished");
    this.cache ??= new KVCache(
      this.model,
      Math.min(this.model.maxContext, this.prompt.length + this.maxTokens),
    );
    return { tokens: this.next, cache: this.cache, adapter: this.o.adapter };
  }

  /** Runs the next forward pass for this sequence alone and accepts its logits. */
  step(): GeneratedToken | null {
    return this.accept(forward(this.model, [this.input()])[0]);
  }

  /** Consumes the logits of the pass fed by `input()`; returns the token event, or null if it stopped. */
  accept(logits: Float32Array): GeneratedToken | null {
    const token = sampleToken(logits, this.o, this.rng);
    if (this.o.stopTokens?.includes(token)) {
      this.done = "stop";
      return null;
    }
    this.tokens.push(token);
    this.next = [token];
    const ev: GeneratedToken = { token, text: "" };
    if (this.o.logprobs !== undefined) {
      const lp = logSoftmax(logits);
      ev.logprob = lp[token];
      if (this.o.logprobs > 0) {
        ev.top = topIndices(lp, this.o.logprobs).map((t) => ({ token: t, logprob: lp[t] }));
      }
      this.logprobs.push({ token, logprob: ev.logprob, ...(ev.top ? { top: ev.top } : {}) });
    }
    if (this.o.decode) this.releaseText(ev);
    if (!this.done && this.tokens.length >= this.maxTokens) this.done = "length";
    if (!this.done && this.cache && this.cache.length >= this.cache.capacity) this.done = "length";
    return ev;
  }

  /** Sets ev.text to the newly decoded text, holding back what may begin a stop string. */
  private releaseText(ev: GeneratedToken): void {
    const full = this.o.decode!(this.tokens);
    const stop = this.o.stop ?? [];
    let end = full.length;
    let hit = -1;
    for (const s of stop) {
      const i = full.indexOf(s);
      if (i >= 0 && (hit < 0 || i < hit)) hit = i;
    }
    if (hit >= 0) {
      end = hit;
      this.done = "stop";
    } else {
      for (const s of stop) {
        for (let k = Math.min(s.length - 1, full.length); k > 0; k--) {
          if (full.endsWith(s.slice(0, k))) {
            end = Math.min(end, full.length - k);
            break;
          }
        }
      }
      // an unfinished UTF-8 character decodes as U+FFFD until its last byte arrives
      while (end > this.emitted && full.charCodeAt(end - 1) === 0xfffd) end--;
    }
    if (end > this.emitted) {
      ev.text = full.slice(this.emitted, end);
      this.emitted = end;
    }
    this.text = full.slice(0, this.done ? end : full.length);
  }

  /** Text not yet released (at the end of generation). */
  flush(): string {
    const rest = this.text.slice(this.emitted);
    this.emitted = this.text.length;
    return rest;
  }

  result(): GenerateResult {
    return {
      tokens: this.tokens,
      text: this.text,
      finishReason: this.done ?? "length",
      promptTokens: this.prompt.length,
      ...(this.o.logprobs !== undefined ? { logprobs: this.logprobs } : {}),
    };
  }

  /** Releases the KV cache; the sequence cannot step after this. */
  free(): void {
    this.cache?.free();
    this.cache = null;
    this.freed = true;
  }
}
