// A base model's sanity check before it is registered or trained: one short forward pass over a few
// tokens must give finite logits. Weights that overflow (a scaled norm, a poisoned embedding row read
// by every prompt) are refused up front instead of failing the first job that uses them.
import { forward, KVCache } from "@openledger/ml";
import { InvalidRequestError } from "./errors.ts";
import { loadBase } from "./train/embedded.ts";

/** A few ordinary words; what matters is that every position's logits are computed. */
const PROBE_TEXT = "The small brown dog runs across the field.";
const PROBE_TOKENS = 8;

/** The probe's token ids (BOS first where the vocabulary has one). */
export function probeTokens(tokenizer: {
  encode(text: string, o?: { addBos?: boolean }): number[];
}): number[] {
  return tokenizer.encode(PROBE_TEXT, { addBos: true }).slice(0, PROBE_TOKENS);
}

/** Throws `base_model_not_finite` (400) when the base's logits over a short probe are not all finite. */
export async function checkBaseLogits(ggufPath: string, tokenizerJson: string, name: string): Promise<void> {
  const { engine, model, tokenizer } = await loadBase(ggufPath, tokenizerJson, 1);
  try {
    const ids = probeTokens(tokenizer);
    const cache = new KVCache(model, Math.min(model.maxContext, ids.length));
    try {
      const [logits] = forward(model, [{ tokens: ids, cache, allLogits: true }]);
      const bad = logits.findIndex((x) => !Number.isFinite(x));
      if (bad >= 0) {
        throw new InvalidRequestError(
          "base_model_not_finite",
          `base model '${name}' gives non-finite logits (${logits[bad]} at position ${Math.floor(bad / model.config.vocabSize)}) on a ${ids.length}-token probe; its weights overflow, so training on it cannot work: fix or re-export the weights`,
          "model",
        );
      }
    } finally {
      cache.free();
    }
  } finally {
    model.free();
    await engine.close();
  }
}
