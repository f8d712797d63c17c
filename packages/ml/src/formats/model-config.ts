// Hyperparameters of a LLaMA-family decoder, as read from GGUF metadata or a Hugging Face config.json.
import { UnsupportedModelError } from "./errors.ts";

/** GGUF general.architecture names this decoder runs: "llama" covers Llama 2/3, Mistral, SmolLM, TinyLlama. */
export const SUPPORTED_ARCHITECTURES = ["llama", "qwen2"] as const;
export type Architecture = (typeof SUPPORTED_ARCHITECTURES)[number];

export interface LlamaConfig {
  architecture: Architecture;
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  contextLength: number;
  ropeTheta: number;
  rmsNormEps: number;
  tieWordEmbeddings: boolean;
  /** Biases on the q, k and v projections (Qwen2). */
  attentionBias: boolean;
}

/** Tensors by Hugging Face name ("model.layers.0.self_attn.q_proj.weight"), float32, row-major shape. */
export type Weights = Map<string, { shape: number[]; data: Float32Array }>;

export function checkArchitecture(arch: string | undefined, source: string): Architecture {
  if (!SUPPORTED_ARCHITECTURES.includes(arch as Architecture)) {
    throw new UnsupportedModelError(
      `${source}: architecture '${arch}' is not supported; supported: llama (Llama 2/3, Mistral, SmolLM, ` +
        "TinyLlama) and qwen2 (Qwen2, Qwen2.5)",
    );
  }
  return arch as Architecture;
}

export function checkConfig(c: LlamaConfig, source: string): LlamaConfig {
  const positive = [
    "vocabSize",
    "hiddenSize",
    "intermediateSize",
    "numLayers",
    "numHeads",
    "numKvHeads",
    "headDim",
  ];
  for (const k of positive) {
    const v = c[k as keyof LlamaConfig];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new UnsupportedModelError(`${source}: ${k} must be a positive integer, got ${String(v)}`);
    }
  }
  if (c.numHeads % c.numKvHeads !== 0) {
    throw new UnsupportedModelError(
      `${source}: ${c.numHeads} heads is not a multiple of ${c.numKvHeads} KV heads`,
    );
  }
  if (c.headDim % 2 !== 0) throw new UnsupportedModelError(`${source}: head dimension ${c.headDim} is odd`);
  return c;
}

/** Expected shape of each tensor of a model with this configuration. */
export function expectedShapes(c: LlamaConfig): Map<string, number[]> {
  const shapes = new Map<string, number[]>();
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  shapes.set("model.embed_tokens.weight", [c.vocabSize, c.hiddenSize]);
  shapes.set("model.norm.weight", [c.hiddenSize]);
  if (!c.tieWordEmbeddings) shapes.set("lm_head.weight", [c.vocabSize, c.hiddenSize]);
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    shapes.set(`${p}input_layernorm.weight`, [c.hiddenSize]);
    shapes.set(`${p}post_attention_layernorm.weight`, [c.hiddenSize]);
    shapes.set(`${p}self_attn.q_proj.weight`, [q, c.hiddenSize]);
    shapes.set(`${p}self_attn.k_proj.weight`, [kv, c.hiddenSize]);
    shapes.set(`${p}self_attn.v_proj.weight`, [kv, c.hiddenSize]);
    shapes.set(`${p}self_attn.o_proj.weight`, [c.hiddenSize, q]);
    if (c.attentionBias) {
      shapes.set(`${p}self_attn.q_proj.bias`, [q]);
      shapes.set(`${p}self_attn.k_proj.bias`, [kv]);
      shapes.set(`${p}self_attn.v_proj.bias`, [kv]);
    }
    shapes.set(`${p}mlp.gate_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    shapes.set(`${p}mlp.up_proj.weight`, [c.intermediateSize, c.hiddenSize]);
    shapes.set(`${p}mlp.down_proj.weight`, [c.hiddenSize, c.intermediateSize]);
  }
  return shapes;
}
