import { DatanetError, InvalidInputError } from "./errors.ts";

// Ids in paths, queries and bodies are canonical decimals: "0x1", "1e1", " 1" or "01" are refused
// rather than read as numbers, so one resource has one spelling. Ids are bigint inside, but the HTTP
// API writes them as JSON numbers, so one beyond 2^53 - 1 (which a JSON number cannot carry exactly)
// is refused too.
const POSITIVE = /^[1-9][0-9]*$/;
const NON_NEGATIVE = /^(0|[1-9][0-9]*)$/;

function parse(value: unknown, what: string, pattern: RegExp, expected: string): number {
  const text =
    typeof value === "string"
      ? value
      : typeof value === "number" && Number.isInteger(value)
        ? String(value)
        : typeof value === "bigint"
          ? value.toString()
          : undefined;
  const n = text !== undefined && pattern.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n)) {
    throw new InvalidInputError(
      "invalid_id",
      `${what} must be ${expected} written in decimal digits, got ${JSON.stringify(String(value))}`,
    );
  }
  return n;
}

/** A positive integer id (1, 2, ...). */
export function toId(value: unknown, what: string): bigint {
  return BigInt(parse(value, what, POSITIVE, "a positive integer"));
}

/** A page cursor: the id after which a list continues (0 for the start). */
export function toCursor(value: unknown, what: string): bigint {
  return BigInt(parse(value, what, NON_NEGATIVE, "a non-negative integer"));
}

/** A positive count (a page size). */
export function toCount(value: unknown, what: string): number {
  return parse(value, what, POSITIVE, "a positive integer");
}

/** A position from 0 (a leaf or chunk index). */
export function toIndex(value: unknown, what: string): number {
  return parse(value, what, NON_NEGATIVE, "a non-negative integer");
}

/**
 * An id as a JSON number (the HTTP API's and the dataset manifest's form). Ids this far come from the
 * chain's counters, far below the limit; one beyond 2^53 - 1 would be rounded, so it is an error.
 */
export function idToNumber(id: bigint, what: string): number {
  if (id > BigInt(Number.MAX_SAFE_INTEGER) || id < 0n) {
    throw new DatanetError(
      "integrity_error",
      "id_out_of_range",
      `${what} ${id} is beyond 2^53 - 1 and cannot be written as a JSON number without rounding`,
    );
  }
  return Number(id);
}
