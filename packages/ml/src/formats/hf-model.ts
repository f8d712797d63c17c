// Hugging Face model folders: config.json -> LlamaConfig, and weights from (possibly sharded) safetensors.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  isSpmHfTokenizer,
  spmVocabFromHfTokenizer,
  vocabFromHfTokenizer,
} from "../tokenizer/hf-tokenizer.ts";
import { type BpeVocab, type SpmVocab, TokenType } from "../tokenizer/vocab.ts";
import { FormatError, UnsupportedModelError } from "./errors.ts";
import type { GgufWriteType } from "./ggml-types.ts";
import { writeLlamaGguf } from "./llama-gguf.ts";
import {
  type Architecture,
  checkConfig,
  expectedShapes,
  type LlamaConfig,
  type Weights,
} from "./model-config.ts";
import { SafetensorsFile } from "./safetensors.ts";

const modelTypes: Record<string, Architecture> = { llama: "llama", mistral: "llama", qwen2: "qwen2" };

/** Map a Hugging Face config.json object onto LlamaConfig. */
export function llamaConfigFromHf(json: Record<string, unknown>, source = "config.json"): LlamaConfig {
  const type = String(json.model_type);
  const architecture = modelTypes[type];
  if (!architecture) {
    throw new UnsupportedModelError(
      `${source}: model_type '${type}' is not supported; supported: ${Object.keys(modelTypes).join(", ")}`,
    );
  }
  const int = (key: string, fallback?: number): number => {
    const v = json[key] ?? fallback;
    if (typeof v !== "number") throw new FormatError(`${source}: '${key}' is missing or not a number`);
    return v;
  };
  const hiddenSize = int("hidden_size");
  const numHeads = int("num_attention_heads");
  return checkConfig(
    {
      architecture,
      vocabSize: int("vocab_size"),
      hiddenSize,
      intermediateSize: int("intermediate_size"),
      numLayers: int("num_hidden_layers"),
      numHeads,
      numKvHeads: int("num_key_value_heads", numHeads),
      headDim: typeof json.head_dim === "number" ? json.head_dim : hiddenSize / numHeads,
      contextLength: int("max_position_embeddings", 2048),
      ropeTheta: int("rope_theta", 10000),
      rmsNormEps: int("rms_norm_eps", 1e-6),
      tieWordEmbeddings: json.tie_word_embeddings === true,
      attentionBias: architecture === "qwen2" || json.attention_bias === true,
    },
    source,
  );
}

/** The config.json object for a LlamaConfig (enough for transformers to rebuild the model). */
export function llamaConfigToHf(c: LlamaConfig): Record<string, unknown> {
  const qwen = c.architecture === "qwen2";
  return {
    architectures: [qwen ? "Qwen2ForCausalLM" : "LlamaForCausalLM"],
    model_type: c.architecture,
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.numLayers,
    num_attention_heads: c.numHeads,
    num_key_value_heads: c.numKvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.contextLength,
    rope_theta: c.ropeTheta,
    rms_norm_eps: c.rmsNormEps,
    tie_word_embeddings: c.tieWordEmbeddings,
    ...(qwen ? {} : { attention_bias: c.attentionBias }),
    hidden_act: "silu",
    torch_dtype: "float32",
  };
}

/** Load config.json and the weights of a Hugging Face model folder (model.safetensors or an index of shards). */
export function readHfModel(dir: string): { config: LlamaConfig; weights: Weights } {
  const configPath = join(dir, "config.json");
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(readFileSync(configPath, "utf8"));
  } catch (err) {
    throw new FormatError(`${configPath}: cannot read config (${(err as Error).message})`);
  }
  const config = llamaConfigFromHf(json, configPath);
  const indexPath = join(dir, "model.safetensors.index.json");
  const shards = existsSync(indexPath)
    ? [
        ...new Set(
          Object.values(JSON.parse(readFileSync(indexPath, "utf8")).weight_map as Record<string, string>),
        ),
      ]
    : ["model.safetensors"];
  const shapes = expectedShapes(config);
  const weights: Weights = new Map();
  for (const shard of shards) {
    const file = SafetensorsFile.open(join(dir, shard));
    try {
      for (const t of file.tensors) {
        const expected = shapes.get(t.name);
        if (!expected) {
          if (
            t.name.endsWith("rotary_emb.inv_freq") ||
            (t.name === "lm_head.weight" && config.tieWordEmbeddings)
          ) {
            continue;
          }
          throw new UnsupportedModelError(
            `${file.label}: unexpected tensor '${t.name}' for a ${config.architecture} model`,
          );
        }
        if (t.shape.join() !== expected.join()) {
          throw new FormatError(
            `${file.label}: tensor '${t.name}' has shape [${t.shape.join(", ")}], expected [${expected.join(", ")}]`,
          );
        }
        weights.set(t.name, file.readTensor(t.name));
      }
    } finally {
      file.close();
    }
  }
  for (const name of shapes.keys())
    if (!weights.has(name)) throw new FormatError(`${dir}: tensor '${name}' is missing`);
  return { config, weights };
}

/** Convert a Hugging Face folder (config.json, safetensors, optional tokenizer.json) into one GGUF file. */
export function convertHfToGguf(
  dir: string,
  outPath: string,
  options: { tensorType?: GgufWriteType; name?: string } = {},
): { config: LlamaConfig; vocab: BpeVocab | SpmVocab | undefined } {
  const { config, weights } = readHfModel(dir);
  const tokenizerPath = join(dir, "tokenizer.json");
  let vocab: BpeVocab | SpmVocab | undefined;
  if (existsSync(tokenizerPath)) {
    const json = JSON.parse(readFileSync(tokenizerPath, "utf8")) as Record<string, unknown>;
    vocab = isSpmHfTokenizer(json) ? spmVocabFromHfTokenizer(json) : vocabFromHfTokenizer(json).vocab;
  }
  if (vocab && vocab.tokens.length > config.vocabSize) {
    throw new FormatError(
      `${tokenizerPath}: ${vocab.tokens.length} tokens, more than the model's ${config.vocabSize}`,
    );
  }
  if (vocab) {
    // llama.cpp wants one token per embedding row: pad with unused tokens as its converter does.
    const scores = "scores" in vocab ? vocab.scores : undefined;
    for (let i = vocab.tokens.length; i < config.vocabSize; i++) {
      vocab.tokens.push(`[PAD${i}]`);
      vocab.tokenTypes.push(TokenType.UNUSED);
      scores?.push(0);
    }
  }
  writeLlamaGguf(outPath, { config, weights, vocab, name: options.name, tensorType: options.tensorType });
  return { config, vocab };
}
