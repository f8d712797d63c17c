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

/** Single-regex pre-tokenisers by llama.cpp's tokenizer.ggml.pre name (these also appear in tokenizer.json). */
export const PRE_TOKENIZERS: Record<string, string> = {
  "gpt-2": GPT2,
  "llama-bpe": LLAMA3,
  llama3: LLAMA3,
  qwen2: QWEN2,
};

/** llama.cpp pre-tokenisers that apply several regexes in turn, each splitting the previous pieces. */
const SEQUENCES: Record<string, string[]> = {
  default: [String.raw`[\p{P}\$\+<=>\^~\|]+`, GPT2, String.raw`\p{N}+`, "[0-9][0-9][0-9]"],
  smollm: [String.raw`\p{N}`, GPT2],
};

/** The regexes of a pre-tokeniser, applied in order by splitWords. */
export function preTokenizerRegexes(pre: string): RegExp[] {
  const sources = PRE_TOKENIZERS[pre] ? [PRE_TOKENIZERS[pre]] : SEQUENCES[pre];
  if (!sources) {
    const names = [...Object.keys(PRE_TOKENIZERS), ...Object.keys(SEQUENCES)];
    throw new UnsupportedModelError(
      `pre-tokenizer '${pre}' is not supported; supported: ${names.join(", ")}`,
    );
  }
  return sources.map((source) => new RegExp(source, "gu"));
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

/** Split by each regex in turn; text between matches stays as its own piece, so nothing is dropped. */
export function splitWords(text: string, regexes: RegExp[]): string[] {
  let pieces = [text];
  for (const regex of regexes) {
    const next: string[] = [];
    for (const piece of pieces) {
      let last = 0;
      for (const m of piece.matchAll(regex)) {
        if (m.index > last) next.push(piece.slice(last, m.index));
        if (m[0].length > 0) next.push(m[0]);
        last = m.index + m[0].length;
      }
      if (last < piece.length) next.push(piece.slice(last));
    }
    pieces = next;
  }
  return pieces;
}
