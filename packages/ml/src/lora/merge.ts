import { QTensor } from "../kernels/qtensor.ts";
import { ModelInputError } from "../model/errors.ts";
import type { LlamaModel } from "../model/llama.ts";
import { TARGET_FIELD } from "../model/llama.ts";
import type { LoraAdapter } from "./adapter.ts";

/**
 * Folds an adapter into the base weights in place: W += sign·scale·B·A. With sign −1 it takes a
 * merged adapter back out (up to float rounding). For serving one adapter without the LoRA matmuls.
 */
export function mergeAdapter(model: LlamaModel, adapter: LoraAdapter, sign: 1 | -1 = 1): void {
  const e = model.engine;
  if (
    adapter.slots.length !== model.config.numLayers ||
    adapter.config.hiddenSize !== model.config.hiddenSize
  ) {
    throw new ModelInputError("the adapter was made for a base model of different shape");
  }
  adapter.slots.forEach((m, l) => {
    for (const [target, s] of m) {
      const W = model.layers[l][TARGET_FIELD[target]];
      if (W instanceof QTensor) {
        throw new ModelInputError(
          `cannot merge into ${W.typeName} weights kept packed; serve the adapter unmerged (forward with adapter) or load the base as float32`,
        );
      }
      const scaled = e.from(s.B.f32);
      const v = scaled.f32;
      for (let i = 0; i < v.length; i++) v[i] *= sign * s.scale;
      e.matmulAB(scaled, s.A, W, s.outDim, s.inDim, s.rank, { accumulate: true });
      scaled.free();
    }
  });
}
