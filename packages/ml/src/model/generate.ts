import { Rng } from "../kernels/rng.ts";
import type { LoraAdapter } from "../lora/adapter.ts";
import { ModelInputError } from "./errors.ts";
import { forward } from "./infer.ts";
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

/** Per-sequence decoding state: sampling, log-probs, stop tokens and stop strings. */
class Decoder {
  readonly tokens: number[] = [];
  readonly logprobs: GenerateResult["logprobs"] = [];
  private readonly rng: Rng;
  private emitted = 0;
  text = "";
  done: GenerateResult["finishReason"] | null = null;

  constructor(private readonly o: GenerateOptions) {
    checkSampling(o);
    const max = o.maxTokens ?? 64;
    if (!Number.isInteger(max) || max < 1)
      throw new ModelInputError(`maxTokens must be a positive integer, got ${max}`);
    if (o.stop?.length && !o.decode) throw new ModelInputError("stop strings need a decode function");
    if (o.stop?.some((s) => s.length === 0)) throw new ModelInputError("stop strings must not be empty");
    this.rng = new Rng(o.seed ?? 0);
  }

  /** Consumes the logits for the next position; returns the token event, or null if it stopped. */
  step(logits: Float32Array): GeneratedToken | null {
    const token = sampleToken(logits, this.o, this.rng);
    if (this.o.stopTokens?.includes(token)) {
      this.done = "stop";
      return null;
    }
    this.tokens.push(token);
    const ev: GeneratedToken = { token, text: "" };
    if (this.o.logprobs !== undefined) {
      const lp = logSoftmax(logits);
      ev.logprob = lp[token];
      if (this.o.logprobs > 0) {
        ev.top = topIndices(lp, this.o.logprobs).map((t) => ({ token: t, logprob: lp[t] }));
      }
      this.logprobs!.push({ token, logprob: ev.logprob, ...(ev.top ? { top: ev.top } : {}) });
    }
    if (this.o.decode) {
      const full = this.o.decode(this.tokens);
      let end = full.length;
      let hit = -1;
      for (const s of this.o.stop ?? []) {
        const i = full.indexOf(s);
        if (i >= 0 && (hit < 0 || i < hit)) hit = i;
      }
      if (hit >= 0) {
        end = hit;
        this.done = "stop";
      } else {
        // hold back a suffix that may begin a stop string, and an unfinished UTF-8 character
        for (const s of this.o.stop ?? []) {
          for (let k = Math.min(s.length - 1, full.length); k > 0; k--) {
            if (full.endsWith(s.slice(0, k))) {
              end = Math.min(end, full.length - k);
              break;
            }
          }
        }
        while (end > this.emitted && full.charCodeAt(end - 1) === 0xfffd) end--;
      }
      if (end > this.emitted) {
        ev.text = full.slice(this.emitted, end);
        this.emitted = end;
      }
      this.text = full.slice(0, this.done ? end : full.length);
    }
    if (!this.done && this.tokens.length >= (this.o.maxTokens ?? 64)) this.done = "length";
    return ev;
  }

  /** Text not yet released (at the end of generation). */
  flush(): string {
    const rest = this.text.slice(this.emitted);
    this.emitted = this.text.length;
    return rest;
  }

  result(promptTokens: number): GenerateResult {
    return {
      tokens: this.tokens,
      text: this.text,
      finishReason: this.done ?? "length",
      promptTokens,
      ...(this.o.logprobs !== undefined ? { logprobs: this.logprobs } : {}),
    };
  }
}

function checkPrompt(model: LlamaModel, prompt: ArrayLike<number>): void {
  if (prompt.length === 0) throw new ModelInputError("the prompt has no tokens");
  if (prompt.length > model.maxContext) {
    throw new ModelInputError(
      `the prompt has ${prompt.length} tokens; the context holds ${model.maxContext}`,
    );
  }
}

/** Positions a request can use: its prompt plus maxTokens, within the model's context. */
function cacheSize(model: LlamaModel, prompt: ArrayLike<number>, o: GenerateOptions): number {
  return Math.min(model.maxContext, prompt.length + (o.maxTokens ?? 64));
}

/** Streams generated tokens; the generator's return value is the full result. */
export async function* stream(
  model: LlamaModel,
  prompt: ArrayLike<number>,
  options: GenerateOptions = {},
): AsyncGenerator<GeneratedToken, GenerateResult> {
  checkPrompt(model, prompt);
  const dec = new Decoder(options);
  const cache = new KVCache(model, cacheSize(model, prompt, options));
  try {
    let logits = forward(model, [{ tokens: prompt, cache, adapter: options.adapter }])[0];
    for (;;) {
      const ev = dec.step(logits);
      if (ev) yield ev;
      if (dec.done) break;
      if (cache.length >= cache.capacity) {
        dec.done = "length";
        break;
      }
      await new Promise((r) => setImmediate(r));
      logits = forward(model, [{ tokens: [ev!.token], cache, adapter: options.adapter }])[0];
    }
    const rest = dec.flush();
    if (rest) yield { token: -1, text: rest };
    return dec.result(prompt.length);
  } finally {
    cache.free();
  }
}

export async function generate(
  model: LlamaModel,
  prompt: ArrayLike<number>,
  options: GenerateOptions = {},
): Promise<GenerateResult> {
  const it = stream(model, prompt, options);
  for (;;) {
    const r = await it.next();
    if (r.done) return r.value;
  }
}

export interface BatchRequest extends GenerateOptions {
  prompt: ArrayLike<number>;
}

/**
 * Generates for many requests at once: one batched prefill, then one batched decode step per token
 * for every unfinished request. Requests may use different adapters.
 */
export async function generateBatch(model: LlamaModel, requests: BatchRequest[]): Promise<GenerateResult[]> {
  for (const r of requests) checkPrompt(model, r.prompt);
  const decs = requests.map((r) => new Decoder(r));
  const caches = requests.map((r) => new KVCache(model, cacheSize(model, r.prompt, r)));
  try {
    let active = requests.map((_, i) => i);
    let logits = forward(
      model,
      requests.map((r, i) => ({ tokens: r.prompt, cache: caches[i], adapter: r.adapter })),
    );
    for (;;) {
      const next: number[] = [];
      const toks: number[] = [];
      active.forEach((i, k) => {
        const ev = decs[i].step(logits[k]);
        if (!decs[i].done && caches[i].length >= caches[i].capacity) decs[i].done = "length";
        if (!decs[i].done && ev) {
          next.push(i);
          toks.push(ev.token);
        }
      });
      active = next;
      if (active.length === 0) break;
      await new Promise((r) => setImmediate(r));
      logits = forward(
        model,
        active.map((i, k) => ({ tokens: [toks[k]], cache: caches[i], adapter: requests[i].adapter })),
      );
    }
    return decs.map((d, i) => {
      d.flush();
      return d.result(requests[i].prompt.length);
    });
  } finally {
    for (const c of caches) c.free();
  }
}
