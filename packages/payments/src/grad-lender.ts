// grad-v1 on the model OpenLoRA already serves: its embedded engine lends the loaded base model and
// adapter, so the paid model's base sits in memory once.
import {
  EmbeddedBackend,
  ModelNotFoundError,
  type OpenLora,
  type PublishedModel,
} from "@openledger/openlora";
import type { GradModelLender } from "./grad-attribution.ts";

/**
 * Borrows from OpenLoRA's embedded backend the base and adapter a model version is served with. null
 * (the attributor loads its own) for a model another backend serves (llama.cpp, remote workers), a
 * version OpenLoRA no longer serves, or an adapter other than the gradient store's.
 */
export function openLoraLender(lora: OpenLora): GradModelLender {
  return async ({ modelId, version }, adapterHash) => {
    let m: PublishedModel;
    try {
      m = await lora.catalog.resolve(modelId.toString());
    } catch (err) {
      if (err instanceof ModelNotFoundError) return null;
      throw err;
    }
    if (m.version !== version || m.adapter?.hash.toLowerCase() !== adapterHash.toLowerCase()) return null;
    const backend = lora.backendFor(m);
    if (!(backend instanceof EmbeddedBackend)) return null;
    const { base, lease } = await backend.borrow(m);
    return {
      model: base.model,
      adapter: lease.adapter,
      tokenizer: base.tokenizer,
      release: () => lease.release(),
    };
  };
}
