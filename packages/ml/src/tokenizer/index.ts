// Loading tokenizers from the files that carry them.
import { FormatError, UnsupportedModelError } from "../formats/errors.ts";
import type { GgufFile } from "../formats/gguf-read.ts";
import { readGgufSpmVocab, readGgufVocab } from "../formats/llama-gguf.ts";
import { BpeTokenizer } from "./bpe-tokenizer.ts";
import { parseJsonText } from "./hf-json.ts";
import { isSpmHfTokenizer, spmVocabFromHfTokenizer, vocabFromHfTokenizer } from "./hf-tokenizer.ts";
import { SpmTokenizer } from "./spm-tokenizer.ts";

/** The tokenizer of a tokenizer.json: byte-level BPE, or SentencePiece-style BPE when it uses byte fallback. */
export function tokenizerFromHfJson(input: string | Record<string, unknown>): BpeTokenizer | SpmTokenizer {
  const json = (typeof input === "string" ? parseJsonText(input) : input) as Record<string, unknown>;
  if (isSpmHfTokenizer(json)) return new SpmTokenizer(spmVocabFromHfTokenizer(json));
  const { vocab, ignoreMerges, normalization } = vocabFromHfTokenizer(json);
  return new BpeTokenizer(vocab, { ignoreMerges, normalization });
}

/** The tokenizer a GGUF file carries: byte-level BPE ("gpt2") or SentencePiece-style ("llama"). */
export function tokenizerFromGguf(file: GgufFile): BpeTokenizer | SpmTokenizer {
  const model = file.getString("tokenizer.ggml.model");
  if (model === undefined) throw new FormatError(`${file.label} has no tokenizer (tokenizer.ggml.model)`);
  if (model === "llama") return new SpmTokenizer(readGgufSpmVocab(file)!);
  if (model !== "gpt2") {
    throw new UnsupportedModelError(
      `${file.label}: tokenizer model '${model}' is not supported; supported: gpt2 (byte-level BPE), llama (SentencePiece BPE)`,
    );
  }
  const vocab = readGgufVocab(file)!;
  // llama.cpp applies the "ignore merges" rule for Llama 3 vocabularies.
  return new BpeTokenizer(vocab, { ignoreMerges: vocab.pre === "llama-bpe" || vocab.pre === "llama3" });
}
