import type { LoraAdapter } from "../lora/adapter.ts";
import { ModelInputError } from "./errors.ts";
import { forwardPass, freeState, type PassInput } from "./forward.ts";
import type { KVCache, LlamaModel } from "./llama.ts";

export interface ForwardRequest {
  /** new tokens to append to the cache */
  tokens: ArrayLike<number>;
  cache: KVCache;
  /** LoRA adapter for this row (null/absent: the base model) */
  adapter?: LoraAdapter | null;
  /** logits for every new token instead of only the last one */
  allLogits?: boolean;
}

/** Prompts longer than this are prefilled in chunks, bounding the attention scratch. */
const PREFILL_CHUNK = 256;

function slice(t: ArrayLike<number>, a: number, b: number): number[] {
  return Array.from({ length: b - a }, (_, j) => t[a + j]);
}

/**
 * One batched step (prefill, decode, or a mix): every request's new tokens run through the model in
 * a single pass, rows with different adapters included. Returns logits per request: [V] for the last
 * token, or [n·V] with allLogits.
 */
export function forward(model: LlamaModel, requests: ForwardRequest[]): Float32Array[] {
  if (requests.length === 0) return [];
  const caches = new Set<KVCache>();
  const V = model.config.vocabSize;
  for (const r of requests) {
    if (caches.has(r.cache)) throw new ModelInputError("two requests in one batch share a KV cache");
    if (r.cache.model !== model) throw new ModelInputError("a KV cache belongs to a different model");
    caches.add(r.cache);
    const n = r.tokens.length;
    if (n === 0) throw new ModelInputError("a sequence in the batch has no tokens");
    if (r.cache.length + n > r.cache.capacity) {
      throw new ModelInputError(
        `${n} new tokens after ${r.cache.length} cached ones exceed the context of ${r.cache.capacity} positions; shorten the prompt or raise maxContext`,
      );
    }
    for (let i = 0; i < n; i++) {
      const t = r.tokens[i];
      if (!Number.isInteger(t) || t < 0 || t >= V)
        throw new ModelInputError(`token id ${t} outside the vocabulary of ${V}`);
    }
  }
  const lengths = requests.map((r) => r.cache.length);
  try {
    return chunkedStep(model, requests);
  } catch (err) {
    // all or nothing: a failed step leaves every cache as it was
    requests.forEach((r, i) => {
      r.cache.truncate(Math.min(lengths[i], r.cache.length));
    });
    throw err;
  }
}

function chunkedStep(model: LlamaModel, requests: ForwardRequest[]): Float32Array[] {
  const V = model.config.vocabSize;
  // long prompts: every chunk but the last runs on its own first
  const head: Float32Array[][] = requests.map(() => []);
  const tails = requests.map((r, i) => {
    const n = r.tokens.length;
    if (n <= PREFILL_CHUNK) return r;
    let off = 0;
    for (; n - off > PREFILL_CHUNK; off += PREFILL_CHUNK) {
      const [l] = batchStep(model, [{ ...r, tokens: slice(r.tokens, off, off + PREFILL_CHUNK) }]);
      if (r.allLogits) head[i].push(l);
    }
    return { ...r, tokens: slice(r.tokens, off, n) };
  });
  const out = batchStep(model, tails);
  return out.map((l, i) => {
    if (head[i].length === 0) return l;
    const all = new Float32Array(requests[i].tokens.length * V);
    let at = 0;
    for (const part of [...head[i], l]) {
      all.set(part, at);
      at += part.length;
    }
    return all;
  });
}

function batchStep(model: LlamaModel, requests: ForwardRequest[]): Float32Array[] {
  // group rows by adapter so each adapter's low-rank update runs once over a contiguous segment
  const group = new Map<LoraAdapter | null, number>();
  for (const r of requests) if (!group.has(r.adapter ?? null)) group.set(r.adapter ?? null, group.size);
  const order = requests
    .map((_, i) => i)
    .sort(
      (a, b) => group.get(requests[a].adapter ?? null)! - group.get(requests[b].adapter ?? null)! || a - b,
    );
  const inputs: PassInput[] = order.map((i) => ({
    tokens: requests[i].tokens,
    cache: requests[i].cache,
    adapter: requests[i].adapter ?? null,
  }));
  const state = forwardPass(model, inputs, false);
  const head = state.part; // the last part of a split model: final norm and output head
  const e = head.engine;
  const c = model.config;
  const D = c.hiddenSize;
  const V = c.vocabSize;
  try {
    const rowsOf = order.map((i, k) => {
      const s = state.seqs[k];
      return requests[i].allLogits ? { r0: s.r0, n: s.n } : { r0: s.r0 + s.n - 1, n: 1 };
    });
    const R = rowsOf.reduce((a, r) => a + r.n, 0);
    // each fully written below (copy, rmsnorm, linear), so not zeroed
    const xs = e.alloc(R * D, false);
    const xn = e.alloc(R * D, false);
    const logits = e.alloc(R * V, false);
    try {
      let at = 0;
      const xv = state.x.f32;
      const xsv = xs.f32;
      for (const r of rowsOf) {
        xsv.set(xv.subarray(r.r0 * D, (r.r0 + r.n) * D), at * D);
        at += r.n;
      }
      e.rmsnorm(xs, head.norm, xn, null, R, D, c.rmsNormEps);
      e.linear(xn, head.lmHead, logits, R, V, D);
      const out: Float32Array[] = new Array(requests.length);
      const lv = logits.f32;
      at = 0;
      order.forEach((i, k) => {
        const n = rowsOf[k].n;
        out[i] = lv.slice(at * V, (at + n) * V);
        at += n;
      });
      return out;
    } finally {
      xs.free();
      xn.free();
      logits.free();
    }
  } finally {
    freeState(state);
  }
}
