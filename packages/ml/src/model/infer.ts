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

/**
 * One batched step (prefill, decode, or a mix): every request's new tokens run through the model in
 * a single pass, rows with different adapters included. Returns logits per request: [V] for the last
 * token, or [n·V] with allLogits.
 */
export function forward(model: LlamaModel, requests: ForwardRequest[]): Float32Array[] {
  if (requests.length === 0) return [];
  const caches = new Set<KVCache>();
  for (const r of requests) {
    if (caches.has(r.cache)) throw new ModelInputError("two requests in one batch share a KV cache");
    if (r.cache.model !== model) throw new ModelInputError("a KV cache belongs to a different model");
    caches.add(r.cache);
  }
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
  const e = model.engine;
  const c = model.config;
  const D = c.hiddenSize;
  const V = c.vocabSize;
  try {
    const rowsOf = order.map((i, k) => {
      const s = state.seqs[k];
      return requests[i].allLogits ? { r0: s.r0, n: s.n } : { r0: s.r0 + s.n - 1, n: 1 };
    });
    const R = rowsOf.reduce((a, r) => a + r.n, 0);
    const xs = e.alloc(R * D);
    const xn = e.alloc(R * D);
    const logits = e.alloc(R * V);
    try {
      let at = 0;
      const xv = state.x.f32;
      const xsv = xs.f32;
      for (const r of rowsOf) {
        xsv.set(xv.subarray(r.r0 * D, (r.r0 + r.n) * D), at * D);
        at += r.n;
      }
      e.rmsnorm(xs, model.norm, xn, null, R, D, c.rmsNormEps);
      e.matmulABt(xn, model.lmHead, logits, R, V, D);
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
