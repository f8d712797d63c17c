// Shared helpers for the formats, tokenizer and llama.cpp tests: a seeded generator and random models.
import { mulberry32 } from "@openledger/common";
import { expectedShapes, type LlamaConfig, type Weights } from "../src/formats/model-config.ts";

/** The project's seeded PRNG (mulberry32, from @openledger/common). */
export const seeded = mulberry32;

export function randomData(n: number, seed: number, scale = 1): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, () => (r() * 2 - 1) * scale);
}

/** Random weights for `config`: matrices scaled by 1/sqrt(fan-in), norms near 1. */
export function randomWeights(config: LlamaConfig, seed: number): Weights {
  const weights: Weights = new Map();
  let i = 0;
  for (const [name, shape] of expectedShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data =
      shape.length === 1
        ? randomData(n, seed * 1000 + i++, 0.2).map((v) => (name.endsWith("bias") ? v : 1 + v))
        : randomData(n, seed * 1000 + i++, Math.sqrt(3 / shape[1]));
    weights.set(name, { shape, data });
  }
  return weights;
}

export const tinyConfig: LlamaConfig = {
  architecture: "llama",
  vocabSize: 300,
  hiddenSize: 64,
  intermediateSize: 96,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  contextLength: 128,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  tieWordEmbeddings: false,
  attentionBias: false,
};
