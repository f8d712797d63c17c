// Loading tokenizers from the files that carry them.

import { FormatError } from "../formats/errors.ts";
import type { GgufFile } from "../formats/gguf-read.ts";
import { readGgufVocab } from "../formats/llama-gguf.ts";
import { BpeTokenizer } from "./bpe-tokenizer.ts";
import { vocabFromHfTokenizer } from "./hf-tokenizer.ts";

export function tokenizerFromHfJson(json: string | Record<string, unknown>): BpeTokenizer {
  const { vocab, ignoreMerges, normalization } = vocabFromHfTokenizer(json);
  return new BpeTokenizer(vocab, { ignoreMerges, normalization });
}

export function tokenizerFromGguf(file: GgufFile): BpeTokenizer {
  const vocab = readGgufVocab(file);
  if (!vocab) throw new FormatError(`${file.label} has no tokenizer (tokenizer.ggml.model)`);
  // llama.cpp applies the "ignore merges" rule for Llama 3 vocabularies.
  return new BpeTokenizer(vocab, { ignoreMerges: vocab.pre === "llama-bpe" || vocab.pre === "llama3" });
}
