// Where a published model's grad-v1 inputs live: ModelRegistry names the version's adapter, the
// model's metadata blob names ModelFactory's training manifest, and the manifest names the gradient
// store and the seed and sequence length it was written with; every file comes from the content store
// (the weights only when no loaded copy is lent).
import {
  cidOfUri,
  MANIFEST_SCHEMA,
  type RegistryContext,
  resolveModelRecord,
  type TrainingManifest,
} from "@openledger/factory";
import { getModelVersion } from "@openledger/sdk";
import type { GradModelSource } from "./grad-attribution.ts";

/**
 * grad-v1 inputs of a model version from the registry and content store. null (no grad-v1) for a model
 * whose metadata names no training manifest, a manifest with no grad-v1 store, or a version whose
 * adapter is not the one that manifest's run produced (a store scores only its own adapter).
 */
export function registryGradSource(ctx: RegistryContext): GradModelSource {
  return async ({ modelId, version }) => {
    const record = await resolveModelRecord(ctx, modelId);
    if (!record.metadata.manifest) return null;
    const manifest = (await blobJson(ctx.blobs, record.metadata.manifest)) as TrainingManifest;
    if (manifest.schema !== MANIFEST_SCHEMA || manifest.gradients?.format !== "grad-v1") return null;
    const v = await getModelVersion(ctx.client, { registry: ctx.modelRegistry, modelId, version });
    if (cidOfUri(v.adapterURI) !== cidOfUri(manifest.adapter.gguf.uri)) return null;
    return {
      adapterHash: v.adapterHash,
      gradientStore: await ctx.blobs.get(cidOfUri(manifest.gradients.uri)),
      seed: manifest.config.seed,
      maxSeqLen: manifest.config.maxSeqLen,
      weights: async () => {
        const [baseGguf, tokenizer, adapterGguf] = await Promise.all([
          ctx.blobs.get(record.published.baseModel.cid),
          ctx.blobs.get(record.published.tokenizerCid),
          ctx.blobs.get(cidOfUri(v.adapterURI)),
        ]);
        return { baseGguf, tokenizerJson: new TextDecoder().decode(tokenizer), adapterGguf };
      },
    };
  };
}

async function blobJson(blobs: RegistryContext["blobs"], uri: string): Promise<unknown> {
  return JSON.parse(new TextDecoder().decode(await blobs.get(cidOfUri(uri))));
}
