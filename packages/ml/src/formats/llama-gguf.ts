// LLaMA-family models in GGUF: metadata <-> LlamaConfig, tensors <-> Hugging Face-named weights, vocabulary.
import type { BpeVocab, SpmVocab } from "../tokenizer/vocab.ts";
import { FormatError, UnsupportedModelError } from "./errors.ts";
import { blockSize, type GgufWriteType } from "./ggml-types.ts";
import { GgufFile } from "./gguf-read.ts";
import { type GgufMetadata, GgufValueType, gguf } from "./gguf-values.ts";
import { type GgufTensorInput, writeGguf } from "./gguf-write.ts";
import {
  checkArchitecture,
  checkConfig,
  expectedShapes,
  type LlamaConfig,
  type Weights,
} from "./model-config.ts";
import {
  ggufToHfName,
  hfToGgufName,
  permuteRowsForGguf,
  unpermuteRowsFromGguf,
  usesPairwiseRope,
} from "./tensor-names.ts";

export function llamaConfigFromGguf(file: GgufFile): LlamaConfig {
  const arch = checkArchitecture(file.getString("general.architecture"), file.label);
  const num = (key: string, fallback?: number): number => {
    const v = file.getNumber(`${arch}.${key}`) ?? fallback;
    if (v === undefined) throw new FormatError(`${file.label}: metadata '${arch}.${key}' is missing`);
    return v;
  };
  const hiddenSize = num("embedding_length");
  const numHeads = num("attention.head_count");
  const vocabSize =
    file.getNumber(`${arch}.vocab_size`) ??
    file.getArray("tokenizer.ggml.tokens")?.length ??
    (file.has("token_embd.weight") ? file.tensor("token_embd.weight").shape[0] : undefined);
  if (vocabSize === undefined) throw new FormatError(`${file.label}: cannot tell the vocabulary size`);
  return checkConfig(
    {
      architecture: arch,
      vocabSize,
      hiddenSize,
      intermediateSize: num("feed_forward_length"),
      numLayers: num("block_count"),
      numHeads,
      numKvHeads: num("attention.head_count_kv", numHeads),
      headDim: num("attention.key_length", num("rope.dimension_count", hiddenSize / numHeads)),
      contextLength: num("context_length"),
      ropeTheta: num("rope.freq_base", 10000),
      rmsNormEps: num("attention.layer_norm_rms_epsilon", 1e-5),
      tieWordEmbeddings: !file.has("output.weight"),
      attentionBias: file.has("blk.0.attn_q.bias"),
    },
    file.label,
  );
}

function checkShape(name: string, actual: number[], expected: number[] | undefined, source: string) {
  if (!expected) throw new UnsupportedModelError(`${source}: unexpected tensor '${name}'`);
  if (actual.length !== expected.length || actual.some((n, i) => n !== expected[i])) {
    throw new FormatError(
      `${source}: tensor '${name}' has shape [${actual.join(", ")}], expected [${expected.join(", ")}] from the config`,
    );
  }
}

/**
 * Read a LLaMA-family GGUF: config, float32 weights under Hugging Face names (q/k rows in HF order), and the
 * byte-level BPE vocabulary when it has one (use tokenizerFromGguf for any supported tokenizer).
 */
export function readLlamaGguf(pathOrFile: string | GgufFile): {
  config: LlamaConfig;
  weights: Weights;
  vocab: BpeVocab | undefined;
  file: GgufFile;
} {
  const file = typeof pathOrFile === "string" ? GgufFile.open(pathOrFile) : pathOrFile;
  try {
    const config = llamaConfigFromGguf(file);
    const shapes = expectedShapes(config);
    const weights: Weights = new Map();
    for (const t of file.tensors) {
      if (t.name === "rope_freqs.weight") continue; // llama 3.1 rope scaling factors: not used by this engine
      const hf = ggufToHfName(t.name);
      if (!hf)
        throw new UnsupportedModelError(`${file.label}: tensor '${t.name}' is not part of a LLaMA decoder`);
      checkShape(t.name, t.shape, shapes.get(hf), file.label);
      let { data } = file.readTensor(t.name);
      if (usesPairwiseRope(config.architecture) && /self_attn\.[qk]_proj/.test(hf)) {
        data = unpermuteRowsFromGguf(data, t.shape[0], config.headDim);
      }
      weights.set(hf, { shape: t.shape, data });
    }
    for (const name of shapes.keys()) {
      if (!weights.has(name))
        throw new FormatError(`${file.label}: tensor '${hfToGgufName(name)}' is missing`);
    }
    const bpe = file.getString("tokenizer.ggml.model") === "gpt2";
    return { config, weights, vocab: bpe ? readGgufVocab(file) : undefined, file };
  } finally {
    if (typeof pathOrFile === "string") file.close();
  }
}

/** The tokenizer.ggml.* vocabulary of a GGUF file (byte-level BPE, model "gpt2"), if it has one. */
export function readGgufVocab(file: GgufFile): BpeVocab | undefined {
  const model = file.getString("tokenizer.ggml.model");
  if (model === undefined) return undefined;
  if (model !== "gpt2") {
    throw new UnsupportedModelError(
      `${file.label}: tokenizer model '${model}' is not supported; only byte-level BPE ("gpt2") is`,
    );
  }
  const tokens = (file.getArray("tokenizer.ggml.tokens") ?? []).map(String);
  const merges = (file.getArray("tokenizer.ggml.merges") ?? []).map((m, i) => {
    const parts = String(m).split(" ");
    if (parts.length !== 2)
      throw new FormatError(`${file.label}: merge #${i} '${String(m)}' is not two tokens`);
    return parts as [string, string];
  });
  const types = file.getArray("tokenizer.ggml.token_type")?.map(Number) ?? tokens.map(() => 1);
  if (types.length !== tokens.length) {
    throw new FormatError(`${file.label}: ${types.length} token types for ${tokens.length} tokens`);
  }
  const vocab: BpeVocab = {
    tokens,
    merges,
    tokenTypes: types,
    pre: file.getString("tokenizer.ggml.pre") ?? "default",
    addBos: file.getBool("tokenizer.ggml.add_bos_token") ?? false,
  };
  const ids = {
    bosId: "bos_token_id",
    eosId: "eos_token_id",
    padId: "padding_token_id",
    unkId: "unknown_token_id",
  };
  for (const [field, key] of Object.entries(ids)) {
    const v = file.getNumber(`tokenizer.ggml.${key}`);
    if (v !== undefined) vocab[field as keyof typeof ids] = v;
  }
  return vocab;
}

/** The tokenizer.ggml.* vocabulary of a SentencePiece-style GGUF (model "llama"), if it has one. */
export function readGgufSpmVocab(file: GgufFile): SpmVocab | undefined {
  const model = file.getString("tokenizer.ggml.model");
  if (model === undefined) return undefined;
  if (model !== "llama")
    throw new UnsupportedModelError(`${file.label}: tokenizer model '${model}' is not "llama"`);
  const tokens = (file.getArray("tokenizer.ggml.tokens") ?? []).map(String);
  const scores = file.getArray("tokenizer.ggml.scores")?.map(Number) ?? tokens.map(() => 0);
  const types = file.getArray("tokenizer.ggml.token_type")?.map(Number) ?? tokens.map(() => 1);
  if (types.length !== tokens.length || scores.length !== tokens.length) {
    throw new FormatError(
      `${file.label}: ${tokens.length} tokens, ${scores.length} scores, ${types.length} types`,
    );
  }
  const vocab: SpmVocab = {
    tokens,
    scores,
    tokenTypes: types,
    addBos: file.getBool("tokenizer.ggml.add_bos_token") ?? true,
    addSpacePrefix: file.getBool("tokenizer.ggml.add_space_prefix") ?? true,
  };
  const ids = {
    bosId: "bos_token_id",
    eosId: "eos_token_id",
    padId: "padding_token_id",
    unkId: "unknown_token_id",
  };
  for (const [field, key] of Object.entries(ids)) {
    const v = file.getNumber(`tokenizer.ggml.${key}`);
    if (v !== undefined) vocab[field as keyof typeof ids] = v;
  }
  return vocab;
}

export function ggufSpmVocabMetadata(vocab: SpmVocab): GgufMetadata {
  const md: GgufMetadata = new Map();
  md.set("tokenizer.ggml.model", gguf.str("llama"));
  md.set("tokenizer.ggml.pre", gguf.str("default"));
  md.set("tokenizer.ggml.tokens", gguf.array(GgufValueType.STRING, vocab.tokens));
  md.set("tokenizer.ggml.scores", gguf.array(GgufValueType.FLOAT32, vocab.scores));
  md.set("tokenizer.ggml.token_type", gguf.array(GgufValueType.INT32, vocab.tokenTypes));
  const ids: [string, number | undefined][] = [
    ["bos_token_id", vocab.bosId],
    ["eos_token_id", vocab.eosId],
    ["padding_token_id", vocab.padId],
    ["unknown_token_id", vocab.unkId],
  ];
  for (const [key, v] of ids) if (v !== undefined) md.set(`tokenizer.ggml.${key}`, gguf.u32(v));
  md.set("tokenizer.ggml.add_bos_token", gguf.bool(vocab.addBos));
  md.set("tokenizer.ggml.add_space_prefix", gguf.bool(vocab.addSpacePrefix));
  return md;
}

export function ggufVocabMetadata(vocab: BpeVocab): GgufMetadata {
  const md: GgufMetadata = new Map();
  md.set("tokenizer.ggml.model", gguf.str("gpt2"));
  md.set("tokenizer.ggml.pre", gguf.str(vocab.pre));
  md.set("tokenizer.ggml.tokens", gguf.array(GgufValueType.STRING, vocab.tokens));
  md.set("tokenizer.ggml.token_type", gguf.array(GgufValueType.INT32, vocab.tokenTypes));
  md.set(
    "tokenizer.ggml.merges",
    gguf.array(
      GgufValueType.STRING,
      vocab.merges.map(([a, b]) => `${a} ${b}`),
    ),
  );
  const ids: [string, number | undefined][] = [
    ["bos_token_id", vocab.bosId],
    ["eos_token_id", vocab.eosId],
    ["padding_token_id", vocab.padId],
    ["unknown_token_id", vocab.unkId],
  ];
  for (const [key, v] of ids) if (v !== undefined) md.set(`tokenizer.ggml.${key}`, gguf.u32(v));
  md.set("tokenizer.ggml.add_bos_token", gguf.bool(vocab.addBos));
  return md;
}

const fileTypes: Record<GgufWriteType, number> = {
  Q4_0: 2,
  Q4_1: 3,
  Q5_0: 8,
  Q5_1: 9,
  F32: 0,
  F16: 1,
  Q8_0: 7,
  Q4_K: 14,
  Q5_K: 16,
  Q6_K: 18,
  BF16: 32,
};

export function llamaGgufMetadata(
  config: LlamaConfig,
  name: string,
  tensorType: GgufWriteType,
): GgufMetadata {
  const a = config.architecture;
  const md: GgufMetadata = new Map();
  md.set("general.architecture", gguf.str(a));
  md.set("general.name", gguf.str(name));
  md.set("general.file_type", gguf.u32(fileTypes[tensorType]));
  md.set(`${a}.vocab_size`, gguf.u32(config.vocabSize));
  md.set(`${a}.context_length`, gguf.u32(config.contextLength));
  md.set(`${a}.embedding_length`, gguf.u32(config.hiddenSize));
  md.set(`${a}.block_count`, gguf.u32(config.numLayers));
  md.set(`${a}.feed_forward_length`, gguf.u32(config.intermediateSize));
  md.set(`${a}.attention.head_count`, gguf.u32(config.numHeads));
  md.set(`${a}.attention.head_count_kv`, gguf.u32(config.numKvHeads));
  md.set(`${a}.attention.key_length`, gguf.u32(config.headDim));
  md.set(`${a}.attention.value_length`, gguf.u32(config.headDim));
  md.set(`${a}.rope.dimension_count`, gguf.u32(config.headDim));
  md.set(`${a}.rope.freq_base`, gguf.f32(config.ropeTheta));
  md.set(`${a}.attention.layer_norm_rms_epsilon`, gguf.f32(config.rmsNormEps));
  return md;
}

export interface WriteLlamaGgufOptions {
  config: LlamaConfig;
  weights: Weights;
  /** Byte-level BPE ("gpt2") or SentencePiece-style ("llama") vocabulary. */
  vocab?: BpeVocab | SpmVocab;
  name?: string;
  /**
   * Storage type of the 2-D matrices whose rows are whole blocks; norms, biases and other matrices stay F32.
   * Default F32.
   */
  tensorType?: GgufWriteType;
}

/** The GGUF tensors for a model: llama.cpp names, q/k rows permuted where llama.cpp expects it. */
export function llamaGgufTensors(
  config: LlamaConfig,
  weights: Weights,
  tensorType: GgufWriteType,
): GgufTensorInput[] {
  checkConfig(config, "model config");
  const shapes = expectedShapes(config);
  const out: GgufTensorInput[] = [];
  for (const [name, shape] of shapes) {
    const w = weights.get(name);
    if (!w) throw new FormatError(`weights lack '${name}' required by the config`);
    checkShape(name, w.shape, shape, "weights");
    let data = w.data;
    if (usesPairwiseRope(config.architecture) && /self_attn\.[qk]_proj/.test(name)) {
      data = permuteRowsForGguf(data, shape[0], config.headDim);
    }
    const type = shape.length === 2 && shape[1] % blockSize(tensorType) === 0 ? tensorType : "F32";
    out.push({ name: hfToGgufName(name)!, shape, data, type });
  }
  for (const name of weights.keys()) {
    if (!shapes.has(name)) throw new FormatError(`weights have '${name}', which the config does not use`);
  }
  return out;
}

/** Write a LLaMA-family model (and optionally its vocabulary) as a GGUF file llama.cpp loads. */
export function writeLlamaGguf(path: string, options: WriteLlamaGgufOptions): void {
  const tensorType = options.tensorType ?? "F32";
  const metadata = llamaGgufMetadata(options.config, options.name ?? "openledger-model", tensorType);
  const vocab = options.vocab;
  if (vocab) {
    const md = "merges" in vocab ? ggufVocabMetadata(vocab) : ggufSpmVocabMetadata(vocab);
    for (const [k, v] of md) metadata.set(k, v);
  }
  writeGguf(path, { metadata, tensors: llamaGgufTensors(options.config, options.weights, tensorType) });
}
