// Random-weight GGUF files of real model shapes, written straight in their block formats (no f32 model in
// memory, so 8B-sized files take seconds), for the ml benchmarks.
import {
  BYTE_TO_CHAR,
  expectedShapes,
  f32ToF16,
  type GgufEncodedTensor,
  type GgufWriteType,
  ggufVocabMetadata,
  hfToGgufName,
  type LlamaConfig,
  llamaGgufMetadata,
  TokenType,
  writeGguf,
} from "@openledger/ml";

export const SHAPES: Record<string, LlamaConfig> = {
  "135m": {
    architecture: "llama",
    vocabSize: 49152,
    hiddenSize: 576,
    intermediateSize: 1536,
    numLayers: 30,
    numHeads: 9,
    numKvHeads: 3,
    headDim: 64,
    contextLength: 2048,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: true,
    attentionBias: false,
  },
  "0.5b": {
    architecture: "qwen2",
    vocabSize: 151936,
    hiddenSize: 896,
    intermediateSize: 4864,
    numLayers: 24,
    numHeads: 14,
    numKvHeads: 2,
    headDim: 64,
    contextLength: 32768,
    ropeTheta: 1000000,
    rmsNormEps: 1e-6,
    tieWordEmbeddings: true,
    attentionBias: true,
  },
  "1.5b": {
    architecture: "qwen2",
    vocabSize: 151936,
    hiddenSize: 1536,
    intermediateSize: 8960,
    numLayers: 28,
    numHeads: 12,
    numKvHeads: 2,
    headDim: 128,
    contextLength: 32768,
    ropeTheta: 1000000,
    rmsNormEps: 1e-6,
    tieWordEmbeddings: true,
    attentionBias: true,
  },
  "8b": {
    architecture: "llama",
    vocabSize: 128256,
    hiddenSize: 4096,
    intermediateSize: 14336,
    numLayers: 32,
    numHeads: 32,
    numKvHeads: 8,
    headDim: 128,
    contextLength: 8192,
    ropeTheta: 500000,
    rmsNormEps: 1e-5,
    tieWordEmbeddings: false,
    attentionBias: false,
  },
};

/** xorshift32 filling bytes quickly (the values only need to look like weights). */
function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(n / 4) * 4);
  const u = new Uint32Array(out.buffer);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < u.length; i++) {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    u[i] = s >>> 0;
  }
  return out.subarray(0, n);
}

const BLOCKS: Record<string, [number, number]> = {
  F16: [1, 2],
  Q8_0: [32, 34],
  Q4_0: [32, 18],
  Q4_K: [256, 144],
  Q6_K: [256, 210],
};

/** Random blocks of `type` for [rows, cols] with values of roughly `std`. */
function randomTensor(
  type: GgufWriteType,
  rows: number,
  cols: number,
  std: number,
  seed: number,
): Uint8Array {
  const [block, bytes] = BLOCKS[type];
  const nb = (rows * cols) / block;
  const out = randomBytes(nb * bytes, seed);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (type === "F16") {
    // uniform in ±std·√3 from the random 16-bit words: keep the bits as an index into a table
    const table = new Uint16Array(65536);
    for (let i = 0; i < 65536; i++) table[i] = f32ToF16(((i / 65535) * 2 - 1) * std * Math.sqrt(3));
    for (let i = 0; i < out.length; i += 2) view.setUint16(i, table[view.getUint16(i, true)], true);
    return out;
  }
  const scale = (q: number) => f32ToF16(std / q);
  for (let b = 0; b < nb; b++) {
    const at = b * bytes;
    if (type === "Q8_0") view.setUint16(at, scale(74), true);
    else if (type === "Q4_0") view.setUint16(at, scale(4.6), true);
    else if (type === "Q4_K") {
      view.setUint16(at, scale(4.6 * 40), true); // d: 6-bit sub-block scales are ~40 on average
      view.setUint16(at + 2, scale((40 * 4.6) / 7.5), true); // dmin: centres the unsigned nibbles
    } else if (type === "Q6_K") view.setUint16(at + 208, scale(18 * 30), true);
  }
  if (type === "Q6_K") for (let b = 0; b < nb; b++) for (let j = 0; j < 16; j++) out[b * 210 + 192 + j] &= 31;
  // llama.cpp's Q8_0 values are round(x / (amax / 127)): never -128
  if (type === "Q8_0") for (let i = 0; i < out.length; i++) if (out[i] === 0x80 && i % 34 > 1) out[i] = 0x81;
  return out;
}

export function writeModel(path: string, config: LlamaConfig, type: GgufWriteType): void {
  const tensors: GgufEncodedTensor[] = [];
  let seed = 1;
  for (const [name, shape] of expectedShapes(config)) {
    const s = seed++;
    const [rows, cols] = shape.length === 2 ? shape : [1, shape[0]];
    const packed = shape.length === 2 && cols % BLOCKS[type][0] === 0;
    // Q4_K files keep the output/embedding matrix in Q6_K, as llama.cpp's Q4_K_M does
    const t: GgufWriteType = !packed
      ? "F32"
      : type === "Q4_K" && /embed_tokens|lm_head/.test(name)
        ? "Q6_K"
        : type;
    tensors.push({
      name: hfToGgufName(name)!,
      shape,
      type: t,
      encode: () => {
        if (t !== "F32") return randomTensor(t, rows, cols, Math.sqrt(1 / cols), s);
        const v = new Float32Array(rows * cols).fill(name.endsWith(".bias") ? 0 : 1);
        return new Uint8Array(v.buffer);
      },
    });
  }
  const metadata = llamaGgufMetadata(config, "bench", type);
  const fill = Array.from({ length: config.vocabSize - 257 }, (_, i) => `<|unused_${i}|>`);
  const vocab = {
    tokens: [...BYTE_TO_CHAR, ...fill, "<|endoftext|>"],
    tokenTypes: [
      ...BYTE_TO_CHAR.map(() => TokenType.NORMAL),
      ...fill.map(() => TokenType.UNUSED),
      TokenType.CONTROL,
    ],
    merges: [] as [string, string][],
    pre: "gpt-2",
    bosId: config.vocabSize - 1,
    eosId: config.vocabSize - 1,
    addBos: false,
  };
  for (const [k, v] of ggufVocabMetadata(vocab)) metadata.set(k, v);
  writeGguf(path, { metadata, tensors });
}
