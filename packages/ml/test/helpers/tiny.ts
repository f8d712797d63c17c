import type { LlamaConfig } from "../../src/formats/model-config.ts";

/** A tiny config exercising GQA (4 query heads on 2 kv heads). */
export function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    architecture: "llama",
    vocabSize: 37,
    hiddenSize: 16,
    intermediateSize: 24,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    contextLength: 64,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
    ...over,
  };
}

import type { Weights } from "../../src/formats/model-config.ts";
import { Rng } from "../../src/kernels/rng.ts";
import { initWeights } from "../../src/model/llama.ts";

/** Random weights large enough that logits are far from uniform (unlike a fresh training init). */
export function tinyWeights(c: LlamaConfig, seed: number): Weights {
  const w = initWeights(c, seed);
  const rng = new Rng(seed + 1);
  for (const [name, t] of w) {
    if (name.endsWith("norm.weight"))
      for (let i = 0; i < t.data.length; i++) t.data[i] = 1 + 0.3 * rng.normal();
    else if (name.endsWith(".bias")) for (let i = 0; i < t.data.length; i++) t.data[i] = 0.3 * rng.normal();
    else for (let i = 0; i < t.data.length; i++) t.data[i] = rng.normal() / Math.sqrt(t.shape[1]);
  }
  return w;
}
