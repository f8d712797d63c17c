import { forward } from "./infer.ts";
import type { LlamaModel } from "./llama.ts";
import { type GeneratedToken, type GenerateOptions, type GenerateResult, Sequence } from "./sequence.ts";

const tick = () => new Promise<void>((r) => setImmediate(r));

/** Streams generated tokens; the generator's return value is the full result. */
export async function* stream(
  model: LlamaModel,
  prompt: ArrayLike<number>,
  options: GenerateOptions = {},
): AsyncGenerator<GeneratedToken, GenerateResult> {
  const seq = new Sequence(model, prompt, options);
  try {
    for (let first = true; !seq.done; first = false) {
      // let other work in between tokens
      if (!first) await tick();
      const ev = seq.step();
      if (ev) yield ev;
    }
    const rest = seq.flush();
    if (rest) yield { token: -1, text: rest };
    return seq.result();
  } finally {
    seq.free();
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
  const seqs: Sequence[] = [];
  try {
    for (const r of requests) seqs.push(new Sequence(model, r.prompt, r));
    for (let active = seqs; active.length > 0; active = active.filter((s) => !s.done)) {
      if (active !== seqs) await tick();
      const logits = forward(
        model,
        active.map((s) => s.input()),
      );
      active.forEach((s, k) => {
        s.accept(logits[k]);
      });
    }
    return seqs.map((s) => {
      s.flush();
      return s.result();
    });
  } finally {
    for (const s of seqs) s.free();
  }
}
