import { type OpenAIErrorBody, openAIError } from "@openledger/common";

/**
 * Every failure a user can cause is a DatanetError: a message saying what to do, a stable `code`
 * and the HTTP status the API answers with.
 */
export type DatanetErrorType =
  | "invalid_request_error"
  | "not_found_error"
  | "permission_error"
  | "conflict_error"
  | "rate_limit_error"
  | "payload_too_large_error"
  | "integrity_error"
  | "chain_error";

const STATUS: Record<DatanetErrorType, number> = {
  invalid_request_error: 400,
  not_found_error: 404,
  permission_error: 403,
  conflict_error: 409,
  rate_limit_error: 429,
  payload_too_large_error: 413,
  integrity_error: 500,
  chain_error: 502,
};

export class DatanetError extends Error {
  readonly type: DatanetErrorType;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(type: DatanetErrorType, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "DatanetError";
    this.type = type;
    this.code = code;
    this.details = details;
  }

  get httpStatus(): number {
    return STATUS[this.type];
  }

  toJSON(): OpenAIErrorBody {
    return openAIError(this.message, this.type, this.code);
  }
}

export class InvalidInputError extends DatanetError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super("invalid_request_error", code, message, details);
    this.name = "InvalidInputError";
  }
}

export class NotFoundError extends DatanetError {
  constructor(code: string, message: string) {
    super("not_found_error", code, message);
    this.name = "NotFoundError";
  }
}

export class DuplicateContentError extends DatanetError {
  constructor(code: "exact_duplicate" | "near_duplicate", message: string, details: Record<string, unknown>) {
    super("conflict_error", code, message, details);
    this.name = "DuplicateContentError";
  }
}

export class PayloadTooLargeError extends DatanetError {
  constructor(limitBytes: number) {
    super(
      "payload_too_large_error",
      "payload_too_large",
      `contribution exceeds the ${limitBytes}-byte limit; split it into smaller contributions`,
      { limitBytes },
    );
    this.name = "PayloadTooLargeError";
  }
}

export class RateLimitError extends DatanetError {
  constructor(message: string, details: Record<string, unknown>) {
    super("rate_limit_error", "rate_limited", message, details);
    this.name = "RateLimitError";
  }
}

export class BlobIntegrityError extends DatanetError {
  constructor(cid: string, message: string) {
    super("integrity_error", "blob_corrupt", `blob ${cid}: ${message}`, { cid });
    this.name = "BlobIntegrityError";
  }
}

export class PermissionError extends DatanetError {
  constructor(code: string, message: string) {
    super("permission_error", code, message);
    this.name = "PermissionError";
  }
}

export class ChainError extends DatanetError {
  constructor(code: string, message: string, details?: Record<string, unknown>) {
    super("chain_error", code, message, details);
    this.name = "ChainError";
  }
}
