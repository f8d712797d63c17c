import { type OpenAIErrorBody, openAIError } from "@openledger/common";

/**
 * Errors a client can act on, each with the HTTP status and the OpenAI-style `type`/`code` the API
 * answers with (`{error:{message,type,param,code}}`).
 */
export class OpenLoraError extends Error {
  override name = "OpenLoraError";
  /** response headers the refusal carries (x402's `PAYMENT-REQUIRED` on a 402) */
  readonly headers?: Record<string, string>;
  constructor(
    message: string,
    readonly status: number,
    readonly type: string,
    readonly code: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export class ModelNotFoundError extends OpenLoraError {
  override name = "ModelNotFoundError";
  constructor(model: string) {
    super(
      `the model '${model}' does not exist or is not published; GET /v1/models lists the models served here`,
      404,
      "invalid_request_error",
      "model_not_found",
      "model",
    );
  }
}

export class InvalidRequestError extends OpenLoraError {
  override name = "InvalidRequestError";
  constructor(message: string, param: string | null = null, code = "invalid_value") {
    super(message, 400, "invalid_request_error", code, param);
  }
}

export class ContextLengthError extends OpenLoraError {
  override name = "ContextLengthError";
  constructor(promptTokens: number, limit: number, param: string) {
    super(
      `this model's maximum context length is ${limit} tokens; the prompt has ${promptTokens} tokens. Shorten the ${param}`,
      400,
      "invalid_request_error",
      "context_length_exceeded",
      param,
    );
  }
}

export class QueueFullError extends OpenLoraError {
  override name = "QueueFullError";
  constructor(
    readonly limit: number,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `the server's queue is full (${limit} requests waiting); retry after ${retryAfterSeconds} s`,
      429,
      "rate_limit_error",
      "queue_full",
    );
  }
}

/** The adapter's bytes in the content store do not hash to what ModelRegistry records. */
export class AdapterIntegrityError extends OpenLoraError {
  override name = "AdapterIntegrityError";
  constructor(model: string, detail: string) {
    super(
      `the adapter of '${model}' is refused: ${detail}; it is not served until the published bytes match ModelRegistry`,
      502,
      "api_error",
      "adapter_hash_mismatch",
      "model",
    );
  }
}

/** A blob (base model, tokenizer, adapter, metadata) the registry names is not in the content store. */
export class ContentUnavailableError extends OpenLoraError {
  override name = "ContentUnavailableError";
  constructor(what: string, cid: string) {
    super(`${what} (${cid}) is not in the content store`, 503, "api_error", "content_unavailable");
  }
}

export class BackendUnavailableError extends OpenLoraError {
  override name = "BackendUnavailableError";
  constructor(message: string) {
    super(message, 503, "api_error", "backend_unavailable");
  }
}

/** The OpenAI error body for any thrown value (unknown errors become 500 server_error). */
export function errorBody(err: unknown): { status: number; body: OpenAIErrorBody } {
  if (err instanceof OpenLoraError) {
    return { status: err.status, body: openAIError(err.message, err.type, err.code, err.param) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { status: 500, body: openAIError(message, "server_error", "internal_error") };
}
