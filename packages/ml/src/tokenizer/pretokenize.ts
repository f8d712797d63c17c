// Pre-tokenisation: split text into words before BPE, with the regexes llama.cpp and HF tokenizers use.
import { UnsupportedModelError } from "../formats/errors.ts";

// Case-insensitive contractions written out, since Node 20's RegExp lacks inline (?i:...) groups.
const CONTRACTIONS_I = "'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD]";

const GPT2 = String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`;
const LLAMA3 =
  CONTRACTIONS_I +
  String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;
const QWEN2 =
  CONTRACTIONS_I +
  String.raw`|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`;

/** Pre-tokeniser regexes by llama.cpp's tokenizer.ggml.pre name. */
export const PRE_TOKENIZERS: Record<string, string> = {
  "gpt-2": GPT2,
  default: GPT2,
  smollm: GPT2,
  "llama-bpe": LLAMA3,
  llama3: LLAMA3,
  qwen2: QWEN2,
};

export function preTokenizerRegex(pre: string): RegExp {
  const source = PRE_TOKENIZERS[pre];
  if (!source) {
    throw new UnsupportedModelError(
      `pre-tokenizer '${pre}' is not supported; supported: ${Object.keys(PRE_TOKENIZERS).join(", ")}`,
    );
  }
  return new RegExp(source, "gu");
}

/** Turn a tokenizer.json Split regex into a JS one, expanding (?i:...) contractions. */
export function hfRegexToJs(pattern: string): string {
  return pattern.replace("(?i:'s|'t|'re|'ve|'m|'ll|'d)", `(?:${CONTRACTIONS_I})`);
}

/** The llama.cpp pre-tokenizer name of a regex, if it is one of the known ones. */
export function preTokenizerName(pattern: string): string | undefined {
  const js = hfRegexToJs(pattern);
  if (js === GPT2) return "gpt-2";
  if (js === `(?:${CONTRACTIONS_I})${LLAMA3.slice(CONTRACTIONS_I.length)}`) return "llama-bpe";
  if (js === `(?:${CONTRACTIONS_I})${QWEN2.slice(CONTRACTIONS_I.length)}`) return "qwen2";
  return undefined;
}

/** The tokenizer.json form of a pre-tokenizer regex (with Rust's inline case-insensitive group). */
export function hfRegexFor(pre: string): string {
  const source = PRE_TOKENIZERS[pre];
  if (!source) throw new UnsupportedModelError(`pre-tokenizer '${pre}' is not supported`);
  return source.startsWith(CONTRACTIONS_I)
    ? `(?i:'s|'t|'re|'ve|'m|'ll|'d)${source.slice(CONTRACTIONS_I.length)}`
    : source;
}

export function splitWords(text: string, regex: RegExp): string[] {
  return text.match(regex) ?? [];
}
