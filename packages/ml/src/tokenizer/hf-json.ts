// The one reader of Hugging Face tokenizer.json structure: checks every field this package uses and
// returns it typed, so a malformed file raises FormatError naming the field instead of failing later.
import { FormatError } from "../formats/errors.ts";

/** A normalizer or pre-tokenizer step: its type and the fields the tokenizers read. */
export interface HfStep {
  type: string;
  /** Sequence */
  steps?: HfStep[];
  /** ByteLevel */
  use_regex?: boolean;
  /** Digits */
  individual_digits?: boolean;
  /** Split (pattern.Regex) or Replace (pattern.String) */
  pattern?: { Regex?: string; String?: string };
  /** Replace */
  content?: string;
  /** Prepend */
  prepend?: string;
}

export interface HfAddedToken {
  id: number;
  content: string;
  special?: boolean;
}

export interface HfTokenizerJson {
  model: {
    type: string;
    vocab: Record<string, number>;
    merges: [string, string][];
    unk_token?: string | null;
    byte_fallback?: boolean;
    ignore_merges?: boolean;
  };
  added_tokens: HfAddedToken[];
  normalizer: HfStep | null;
  pre_tokenizer: HfStep | null;
  /** content of the special token a TemplateProcessing post-processor puts first (BOS), if any */
  template_first_special?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function fail(path: string, want: string, got: unknown): never {
  const shown = got === undefined ? "missing" : JSON.stringify(got)?.slice(0, 60);
  throw new FormatError(`tokenizer.json: ${path} must be ${want}, got ${shown}`);
}

function object(v: unknown, path: string): Json {
  return isObject(v) ? v : fail(path, "an object", v);
}

function optional<T>(v: unknown, path: string, check: (v: unknown, path: string) => T): T | undefined {
  return v === undefined || v === null ? undefined : check(v, path);
}

function str(v: unknown, path: string): string {
  return typeof v === "string" ? v : fail(path, "a string", v);
}

function bool(v: unknown, path: string): boolean {
  return typeof v === "boolean" ? v : fail(path, "true or false", v);
}

function id(v: unknown, path: string): number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v < 2 ** 31
    ? v
    : fail(path, "a token id (integer >= 0)", v);
}

function array(v: unknown, path: string): unknown[] {
  return Array.isArray(v) ? v : fail(path, "an array", v);
}

function step(v: unknown, path: string, depth = 0): HfStep {
  const o = object(v, path);
  const out: HfStep = { type: str(o.type, `${path}.type`) };
  const nested = o.type === "Sequence" ? (o.pretokenizers ?? o.normalizers) : undefined;
  if (o.type === "Sequence") {
    if (depth > 4) throw new FormatError(`tokenizer.json: ${path} nests Sequences too deeply`);
    const key = o.pretokenizers !== undefined ? "pretokenizers" : "normalizers";
    out.steps = array(nested, `${path}.${key}`).map((s, i) => step(s, `${path}.${key}[${i}]`, depth + 1));
  }
  const useRegex = optional(o.use_regex, `${path}.use_regex`, bool);
  if (useRegex !== undefined) out.use_regex = useRegex;
  const digits = optional(o.individual_digits, `${path}.individual_digits`, bool);
  if (digits !== undefined) out.individual_digits = digits;
  if (o.pattern !== undefined) {
    const p = object(o.pattern, `${path}.pattern`);
    out.pattern = {};
    const regex = optional(p.Regex, `${path}.pattern.Regex`, str);
    const string = optional(p.String, `${path}.pattern.String`, str);
    if (regex !== undefined) out.pattern.Regex = regex;
    if (string !== undefined) out.pattern.String = string;
  }
  const content = optional(o.content, `${path}.content`, str);
  if (content !== undefined) out.content = content;
  const prepend = optional(o.prepend, `${path}.prepend`, str);
  if (prepend !== undefined) out.prepend = prepend;
  return out;
}

function merge(v: unknown, path: string): [string, string] {
  const pair = typeof v === "string" ? v.split(" ") : Array.isArray(v) ? v : fail(path, "a merge", v);
  if (pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") {
    throw new FormatError(`tokenizer.json: ${path} ${JSON.stringify(v)?.slice(0, 60)} is not a pair`);
  }
  return [pair[0], pair[1]];
}

/** JSON.parse of a tokenizer.json's text, with FormatError for text that is not JSON. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FormatError(`tokenizer.json is not valid JSON: ${(err as Error).message}`);
  }
}

/** Parses and checks a tokenizer.json (text or already-parsed object). */
export function parseHfTokenizerJson(input: unknown): HfTokenizerJson {
  const raw = typeof input === "string" ? parseJsonText(input) : input;
  const json = object(raw, "the file");
  const m = object(json.model, "model");
  const vocabIn = object(m.vocab ?? {}, "model.vocab");
  const vocab: Record<string, number> = Object.create(null);
  for (const [token, value] of Object.entries(vocabIn))
    vocab[token] = id(value, `model.vocab[${JSON.stringify(token)}]`);
  const model: HfTokenizerJson["model"] = {
    type: str(m.type, "model.type"),
    vocab,
    merges: array(m.merges ?? [], "model.merges").map((x, i) => merge(x, `model.merges[${i}]`)),
  };
  const unk = optional(m.unk_token, "model.unk_token", str);
  if (unk !== undefined) model.unk_token = unk;
  const fallback = optional(m.byte_fallback, "model.byte_fallback", bool);
  if (fallback !== undefined) model.byte_fallback = fallback;
  const ignore = optional(m.ignore_merges, "model.ignore_merges", bool);
  if (ignore !== undefined) model.ignore_merges = ignore;
  const added = array(json.added_tokens ?? [], "added_tokens").map((a, i) => {
    const o = object(a, `added_tokens[${i}]`);
    const t: HfAddedToken = {
      id: id(o.id, `added_tokens[${i}].id`),
      content: str(o.content, `added_tokens[${i}].content`),
    };
    const special = optional(o.special, `added_tokens[${i}].special`, bool);
    if (special !== undefined) t.special = special;
    return t;
  });
  const out: HfTokenizerJson = {
    model,
    added_tokens: added,
    normalizer: optional(json.normalizer, "normalizer", step) ?? null,
    pre_tokenizer: optional(json.pre_tokenizer, "pre_tokenizer", step) ?? null,
  };
  const post = optional(json.post_processor, "post_processor", object);
  if (post?.type === "TemplateProcessing" && post.single !== undefined) {
    const first = array(post.single, "post_processor.single")[0];
    if (isObject(first) && first.SpecialToken !== undefined) {
      const sp = object(first.SpecialToken, "post_processor.single[0].SpecialToken");
      out.template_first_special = str(sp.id, "post_processor.single[0].SpecialToken.id");
    }
  }
  return out;
}
