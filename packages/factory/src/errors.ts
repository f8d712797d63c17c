import { type OpenAIErrorBody, openAIError } from "@openledger/common";

/** OpenAI-style error types used in `{ error: { message, type, code, param } }` bodies. */
export type FactoryErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "conflict_error"
  | "server_error";

/**
 * Every refusal and failure of the factory: an HTTP status, an OpenAI error type, a stable code and a
 * message that says what to do. The HTTP layer sends it as is; the CLI prints the message.
 */
export class FactoryError extends Error {
  override name = "FactoryError";
  constructor(
    readonly status: number,
    readonly type: FactoryErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  toBody(): OpenAIErrorBody {
    return openAIError(this.message, this.type, this.code, this.param);
  }
}

/** 400: the request is malformed or a value is out of range. */
export class InvalidRequestError extends FactoryError {
  constructor(code: string, message: string, param: string | null = null) {
    super(400, "invalid_request_error", code, message, param);
  }
}

/** 404: no such job, model or snapshot. */
export class NotFoundError extends FactoryError {
  constructor(code: string, message: string, param: string | null = null) {
    super(404, "not_found_error", code, message, param);
  }
}

/** 403: the caller lacks a training licence or may not act for an account. */
export class PermissionError extends FactoryError {
  constructor(code: string, message: string, param: string | null = null) {
    super(403, "permission_error", code, message, param);
  }
}

/** 409: the job or lease is not in a state that allows this. */
export class ConflictError extends FactoryError {
  constructor(code: string, message: string) {
    super(409, "conflict_error", code, message);
  }
}

/** 401: a worker route was called without the worker token. */
export class AuthenticationError extends FactoryError {
  constructor(message: string) {
    super(401, "authentication_error", "invalid_worker_token", message);
  }
}

/** A training run failed (diverged, bad data, trainer crashed); recorded as the job's error. */
export class TrainingError extends Error {
  override name = "TrainingError";
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
