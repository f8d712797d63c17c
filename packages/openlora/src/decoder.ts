import { logSoftmax, Rng, sampleToken, topIndices } from "@openledger/ml";
import type { FinishReason, SamplingParams, TokenLogprob } from "./types.ts";

export interface DecodeStep {
  token: number;
  /** text released by this token (a suffix that could start a stop string is held back) */
  text: string;
  logprob?: TokenLogprob;
}

/**
 * One sequence's decoding state: seeded sampling exactly as @openledger/ml's generate does it (one
 * Rng per request seeded with `seed`, temperature → top-p → draw), the stop token, stop strings
 * and log-probabilities. The scheduler feeds it the logits of each batched step.
 */
export class SequenceDecoder {
  readonly tokens: number[] = [];
  readonly logprobs: TokenLogprob[] = [];
  private readonly rng: Rng;
  private emitted = 0;
  text = "";
  done: FinishReason | null = null;

  constructor(
    private readonly params: SamplingParams,
    private readonly decode: (ids: number[]) => string,
    private readonly stopTokens: number[],
  ) {
    this.rng = new Rng(params.seed);
  }

  get maxTokens(): number {
    return this.params.maxTokens;
  }

  step(logits: Float32Array): DecodeStep | null {
    const p = this.params;
    const token = sampleToken(logits, { temperature: p.temperature, topP: p.topP }, this.rng);
    if (this.stopTokens.includes(token)) {
      this.done = "stop";
      return null;
    }
    this.tokens.push(token);
    const ev: DecodeStep = { token, text: "" };
    if (p.logprobs !== undefined) {
      const lp = logSoftmax(logits);
      ev.logprob = { token: this.decode([token]), logprob: lp[token] };
      if (p.logprobs > 0) {
        ev.logprob.top = topIndices(lp, p.logprobs).map((t) => ({ token: this.decode([t]), logprob: lp[t] }));
      }
      this.logprobs.push(ev.logprob);
    }
    const full = this.decode(this.tokens);
    let end = full.length;
    let hit = -1;
    for (const s of p.stop) {
      const i = full.indexOf(s);
      if (i >= 0 && (hit < 0 || i < hit)) hit = i;
    }
    if (hit >= 0) {
      end = hit;
      this.done = "stop";
    } else {
      for (const s of p.stop) {
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
    if (!this.done && this.tokens.length >= p.maxTokens) this.done = "length";
    return ev;
  }

  /** Text held back so far, released at the end. */
  flush(): string {
    const rest = this.text.slice(this.emitted);
    this.emitted = this.text.length;
    return rest;
  }
}
