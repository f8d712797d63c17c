// Validation of OpenAI request bodies: each bad field gets a 400 naming it and its allowed range.
import { randomInt } from "node:crypto";
import type { ChatMessage } from "./chat-template.ts";
import { InvalidRequestError } from "./errors.ts";
import type { SamplingParams } from "./types.ts";

export type Body = Record<string, unknown>;

export const LIMITS = {
  maxTokens: 32_768,
  stopStrings: 4,
  stopLength: 256,
  completionLogprobs: 5,
  chatTopLogprobs: 20,
  messages: 256,
  ensembleAdapters: 8,
  ensembleWeight: 10,
};

function num(body: Body, key: string, lo: number, hi: number, fallback: number, openLo = false): number {
  const v = body[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || v > hi || (openLo && v === lo))
    throw new InvalidRequestError(
      `'${key}' must be a number in ${openLo ? "(" : "["}${lo}, ${hi}], got ${JSON.stringify(v)}`,
      key,
    );
  return v;
}

function int(body: Body, key: string, lo: number, hi: number): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi)
    throw new InvalidRequestError(
      `'${key}' must be an integer in [${lo}, ${hi}], got ${JSON.stringify(v)}`,
      key,
    );
  return v;
}

export function requireModel(body: Body): string {
  const m = body.model;
  if (typeof m !== "string" || m.length === 0 || m.length > 256)
    throw new InvalidRequestError(
      "'model' must be a non-empty string naming a model from GET /v1/models",
      "model",
    );
  return m;
}

function stops(body: Body): string[] {
  const s = body.stop;
  if (s === undefined || s === null) return [];
  const list = typeof s === "string" ? [s] : s;
  if (
    !Array.isArray(list) ||
    list.length > LIMITS.stopStrings ||
    list.some((x) => typeof x !== "string" || x.length === 0 || x.length > LIMITS.stopLength)
  )
    throw new InvalidRequestError(
      `'stop' must be a string or up to ${LIMITS.stopStrings} non-empty strings of at most ${LIMITS.stopLength} characters`,
      "stop",
    );
  return list as string[];
}

function unsupported(body: Body): void {
  const n = body.n;
  if (n !== undefined && n !== null && n !== 1)
    throw new InvalidRequestError("only 'n': 1 is supported", "n");
  for (const k of ["presence_penalty", "frequency_penalty"]) {
    const v = body[k];
    if (v !== undefined && v !== null && v !== 0)
      throw new InvalidRequestError(`'${k}' is not supported; leave it 0`, k);
  }
  if (body.best_of !== undefined && body.best_of !== null && body.best_of !== 1)
    throw new InvalidRequestError("only 'best_of': 1 is supported", "best_of");
  if (body.echo === true) throw new InvalidRequestError("'echo' is not supported", "echo");
  if (body.suffix !== undefined && body.suffix !== null)
    throw new InvalidRequestError("'suffix' is not supported", "suffix");
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean")
    throw new InvalidRequestError("'stream' must be a boolean", "stream");
}

/** Sampling fields shared by both routes; `logprobs` is resolved by the caller. */
function common(body: Body, defaultMaxTokens: number): Omit<SamplingParams, "logprobs"> {
  unsupported(body);
  const maxTokens =
    int(body, "max_completion_tokens", 1, LIMITS.maxTokens) ??
    int(body, "max_tokens", 1, LIMITS.maxTokens) ??
    defaultMaxTokens;
  const seed = body.seed;
  if (seed !== undefined && seed !== null && (typeof seed !== "number" || !Number.isSafeInteger(seed)))
    throw new InvalidRequestError(`'seed' must be an integer, got ${JSON.stringify(seed)}`, "seed");
  return {
    maxTokens,
    temperature: num(body, "temperature", 0, 2, 1),
    topP: num(body, "top_p", 0, 1, 1, true),
    seed: typeof seed === "number" ? seed : randomInt(2 ** 32),
    stop: stops(body),
  };
}

export function completionParams(body: Body): { prompt: string; params: SamplingParams } {
  let prompt = body.prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === "string") prompt = prompt[0];
  if (typeof prompt !== "string")
    throw new InvalidRequestError(
      "'prompt' must be a string (token-id and multi-prompt arrays are not supported)",
      "prompt",
    );
  if (prompt.length === 0) throw new InvalidRequestError("'prompt' is empty", "prompt");
  const logprobs = int(body, "logprobs", 0, LIMITS.completionLogprobs);
  return { prompt, params: { ...common(body, 16), ...(logprobs !== undefined ? { logprobs } : {}) } };
}

export function chatParams(
  body: Body,
  defaultMaxTokens: number,
): { messages: ChatMessage[]; params: SamplingParams } {
  const raw = body.messages;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > LIMITS.messages)
    throw new InvalidRequestError(
      `'messages' must be a list of 1 to ${LIMITS.messages} messages`,
      "messages",
    );
  const messages = raw.map((m, i): ChatMessage => {
    const role = (m as Body | null)?.role;
    let content = (m as Body | null)?.content;
    if (
      Array.isArray(content) &&
      content.every((p) => (p as Body)?.type === "text" && typeof (p as Body).text === "string")
    )
      content = content.map((p) => (p as Body).text).join("");
    if (typeof role !== "string" || !["system", "developer", "user", "assistant"].includes(role))
      throw new InvalidRequestError(
        `messages[${i}].role must be system, developer, user or assistant`,
        `messages[${i}].role`,
      );
    if (typeof content !== "string")
      throw new InvalidRequestError(`messages[${i}].content must be text`, `messages[${i}].content`);
    return { role, content };
  });
  let logprobs: number | undefined;
  if (body.logprobs !== undefined && body.logprobs !== null && typeof body.logprobs !== "boolean")
    throw new InvalidRequestError("'logprobs' must be a boolean", "logprobs");
  const top = int(body, "top_logprobs", 0, LIMITS.chatTopLogprobs);
  if (body.logprobs === true) logprobs = top ?? 0;
  else if (top !== undefined)
    throw new InvalidRequestError("'top_logprobs' needs 'logprobs': true", "top_logprobs");
  return {
    messages,
    params: { ...common(body, defaultMaxTokens), ...(logprobs !== undefined ? { logprobs } : {}) },
  };
}

/** The `openledger.adapters` ensemble field: [{ model, weight }]. */
export function ensembleField(body: Body): { model: string; weight: number }[] | undefined {
  const ext = body.openledger;
  if (ext === undefined || ext === null) return undefined;
  const list = (ext as Body).adapters;
  if (
    typeof ext !== "object" ||
    !Array.isArray(list) ||
    list.length === 0 ||
    list.length > LIMITS.ensembleAdapters
  )
    throw new InvalidRequestError(
      `'openledger.adapters' must list 1 to ${LIMITS.ensembleAdapters} { model, weight } entries`,
      "openledger.adapters",
    );
  return list.map((a, i) => {
    const model = (a as Body | null)?.model;
    const weight = (a as Body | null)?.weight ?? 1;
    if (typeof model !== "string" || model.length === 0)
      throw new InvalidRequestError(
        `openledger.adapters[${i}].model must name a published adapter`,
        `openledger.adapters[${i}].model`,
      );
    if (typeof weight !== "number" || !Number.isFinite(weight) || Math.abs(weight) > LIMITS.ensembleWeight)
      throw new InvalidRequestError(
        `openledger.adapters[${i}].weight must be a number in [-${LIMITS.ensembleWeight}, ${LIMITS.ensembleWeight}]`,
        `openledger.adapters[${i}].weight`,
      );
    return { model, weight };
  });
}
