// Hugging Face tokenizer.json (byte-level BPE models) <-> BpeVocab.
import { UnsupportedModelError } from "../formats/errors.ts";
import { type HfStep, type HfTokenizerJson, parseHfTokenizerJson } from "./hf-json.ts";
import { hfRegexFor, hfRegexToJs, PRE_TOKENIZERS, preTokenizerName } from "./pretokenize.ts";
import { type BpeVocab, type SpmVocab, TokenType } from "./vocab.ts";

const SPM_SPACE = "\u2581";

type Json = Record<string, unknown>;

/**
 * The llama.cpp pre-tokenizer name equal to a tokenizer.json pre_tokenizer: ByteLevel with its GPT-2 regex
 * ("gpt-2"), one regex Split then ByteLevel without regex (named by the regex), or individual Digits then
 * ByteLevel with regex ("smollm").
 */
function preTokenizerOf(pre: HfStep | null): string {
  if (!pre)
    throw new UnsupportedModelError("tokenizer.json has no pre_tokenizer; byte-level BPE needs ByteLevel");
  const steps = pre.type === "Sequence" ? (pre.steps ?? []) : [pre];
  const kinds: string[] = [];
  let regex: string | undefined;
  for (const p of steps) {
    if (p.type === "ByteLevel") kinds.push(p.use_regex === false ? "bytes" : "gpt2");
    else if (p.type === "Digits" && p.individual_digits === true) kinds.push("digits");
    else if (p.type === "Split" && p.pattern?.Regex !== undefined) {
      regex = p.pattern.Regex;
      kinds.push("regex");
    } else
      throw new UnsupportedModelError(`tokenizer.json: pre-tokenizer '${String(p.type)}' is not supported`);
  }
  const shape = kinds.join(",");
  if (shape === "gpt2") return "gpt-2";
  if (shape === "digits,gpt2") return "smollm";
  const named = shape === "regex,bytes" && regex !== undefined ? preTokenizerName(regex) : undefined;
  if (!named) {
    throw new UnsupportedModelError(
      `tokenizer.json pre-tokenizer (${shape}${regex ? ` ${JSON.stringify(hfRegexToJs(regex))}` : ""}) is not one of ` +
        `${Object.keys(PRE_TOKENIZERS).join(", ")}, smollm`,
    );
  }
  return named;
}

function parse(input: string | Json): { json: HfTokenizerJson; model: HfTokenizerJson["model"] } {
  const json = parseHfTokenizerJson(input);
  const model = json.model;
  if (model.type !== "BPE") {
    throw new UnsupportedModelError(`tokenizer.json model '${model.type}' is not supported; only BPE is`);
  }
  return { json, model };
}

/** Token strings and types by id, with the special ids named by the file. */
function tokenTable(json: HfTokenizerJson, model: HfTokenizerJson["model"]) {
  const vocabMap = model.vocab;
  const added = json.added_tokens;
  let size = 0;
  for (const id of Object.values(vocabMap)) size = Math.max(size, id + 1);
  for (const a of added) size = Math.max(size, a.id + 1);
  const tokens: string[] = new Array(size);
  const tokenTypes: number[] = new Array(size).fill(TokenType.NORMAL);
  for (const [t, id] of Object.entries(vocabMap)) tokens[id] = t;
  for (const a of added) {
    tokens[a.id] = a.content;
    tokenTypes[a.id] = a.special === false ? TokenType.USER_DEFINED : TokenType.CONTROL;
  }
  for (let i = 0; i < size; i++) {
    if (tokens[i] === undefined) {
      tokens[i] = `[UNUSED_${i}]`;
      tokenTypes[i] = TokenType.UNUSED;
    }
  }
  const idOf = (content: string | null | undefined) =>
    typeof content === "string" ? tokens.indexOf(content) : -1;
  // BOS comes from the post-processor template when it starts with a special token (Llama style).
  const bos = idOf(json.template_first_special);
  const unk = idOf(model.unk_token);
  const eos = ["<|endoftext|>", "<|end_of_text|>", "</s>", "<|im_end|>"].map(idOf).find((i) => i >= 0);
  const ids: { bosId?: number; eosId?: number; unkId?: number } = {};
  if (bos >= 0) ids.bosId = bos;
  if (eos !== undefined) ids.eosId = eos;
  if (unk >= 0) ids.unkId = unk;
  return { tokens, tokenTypes, ids, merges: model.merges, addBos: bos >= 0 };
}

/** Whether a tokenizer.json is SentencePiece-style BPE (Llama 2, TinyLlama): "▁" for spaces, byte fallback. */
export function isSpmHfTokenizer(input: string | Json): boolean {
  const { model } = parse(input);
  return model.byte_fallback === true;
}

/** Parse a byte-level BPE tokenizer.json (object or text); returns the tokenizer's options too. */
export function vocabFromHfTokenizer(input: string | Json): {
  vocab: BpeVocab;
  ignoreMerges: boolean;
  normalization: "NFC" | undefined;
} {
  const { json, model } = parse(input);
  if (model.byte_fallback === true) {
    throw new UnsupportedModelError(
      "tokenizer.json uses byte fallback: read it with spmVocabFromHfTokenizer",
    );
  }
  const normalizer = json.normalizer;
  if (normalizer && normalizer.type !== "NFC") {
    throw new UnsupportedModelError(
      `tokenizer.json normalizer '${String(normalizer.type)}' is not supported`,
    );
  }
  const pre = preTokenizerOf(json.pre_tokenizer);
  const { tokens, tokenTypes, ids, merges, addBos } = tokenTable(json, model);
  return {
    vocab: { tokens, merges, tokenTypes, pre, ...ids, addBos },
    ignoreMerges: model.ignore_merges === true,
    normalization: normalizer ? "NFC" : undefined,
  };
}

/**
 * Parse a SentencePiece-style tokenizer.json (BPE with byte_fallback). Each piece scores minus the rank of
 * the first merge that builds it, so merging highest score first replays the merge list.
 */
export function spmVocabFromHfTokenizer(input: string | Json): SpmVocab {
  const { json, model } = parse(input);
  if (model.byte_fallback !== true) {
    throw new UnsupportedModelError("tokenizer.json has no byte fallback: read it with vocabFromHfTokenizer");
  }
  if (json.pre_tokenizer) {
    throw new UnsupportedModelError(
      `tokenizer.json: pre-tokenizer '${json.pre_tokenizer.type}' is not supported with byte fallback`,
    );
  }
  const normalizer = json.normalizer;
  const steps = normalizer?.type === "Sequence" ? (normalizer.steps ?? []) : normalizer ? [normalizer] : [];
  let addSpacePrefix = false;
  for (const n of steps) {
    if (n.type === "Prepend" && n.prepend === SPM_SPACE) addSpacePrefix = true;
    else if (!(n.type === "Replace" && n.pattern?.String === " " && n.content === SPM_SPACE)) {
      throw new UnsupportedModelError(`tokenizer.json normalizer '${String(n.type)}' is not supported`);
    }
  }
  const { tokens, tokenTypes, ids, merges, addBos } = tokenTable(json, model);
  const scores = tokens.map(() => 0);
  const index = new Map(tokens.map((t, i) => [t, i]));
  for (let rank = merges.length - 1; rank >= 0; rank--) {
    const id = index.get(merges[rank][0] + merges[rank][1]);
    if (id !== undefined) scores[id] = -rank;
  }
  tokens.forEach((t, i) => {
    if (tokenTypes[i] === TokenType.NORMAL && /^<0x[0-9A-F]{2}>$/.test(t)) tokenTypes[i] = TokenType.BYTE;
  });
  if (ids.unkId !== undefined) tokenTypes[ids.unkId] = TokenType.UNKNOWN;
  return { tokens, scores, tokenTypes, ...ids, addBos, addSpacePrefix };
}

/** A minimal tokenizer.json for a vocabulary (GPT-2 style byte-level BPE). */
export function vocabToHfTokenizer(vocab: BpeVocab): Json {
  const regular: Record<string, number> = {};
  const added: Json[] = [];
  vocab.tokens.forEach((t, id) => {
    const type = vocab.tokenTypes[id];
    if (type === TokenType.CONTROL || type === TokenType.USER_DEFINED) {
      added.push({
        id,
        content: t,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: type === TokenType.CONTROL,
      });
    } else if (type !== TokenType.UNUSED) regular[t] = id;
  });
  const bos = vocab.addBos && vocab.bosId !== undefined ? vocab.tokens[vocab.bosId] : undefined;
  const byteLevel = (useRegex: boolean) => ({
    type: "ByteLevel",
    add_prefix_space: false,
    trim_offsets: true,
    use_regex: useRegex,
  });
  const regex = hfRegexFor(vocab.pre);
  return {
    version: "1.0",
    added_tokens: added,
    normalizer: null,
    pre_tokenizer:
      preTokenizerName(regex) === "gpt-2"
        ? byteLevel(true)
        : {
            type: "Sequence",
            pretokenizers: [
              { type: "Split", pattern: { Regex: regex }, behavior: "Isolated", invert: false },
              byteLevel(false),
            ],
          },
    post_processor: bos
      ? {
          type: "TemplateProcessing",
          single: [{ SpecialToken: { id: bos, type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }],
          pair: [{ Sequence: { id: "A", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } }],
          special_tokens: { [bos]: { id: bos, ids: [vocab.bosId], tokens: [bos] } },
        }
      : byteLevel(true),
    decoder: byteLevel(true),
    model: {
      type: "BPE",
      dropout: null,
      unk_token: vocab.unkId !== undefined ? vocab.tokens[vocab.unkId] : null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: regular,
      merges: vocab.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}
