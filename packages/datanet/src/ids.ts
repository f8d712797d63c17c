import { InvalidInputError } from "./errors.ts";

// Ids in paths, queries and bodies are canonical decimals: "0x1", "1e1", " 1" or "01" are refused
// rather than read as numbers, so one resource has one spelling.
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
export function toId(value: unknown, what: string): number {
  return parse(value, what, POSITIVE, "a positive integer");
}

/** A position from 0 (a leaf or chunk index). */
export function toIndex(value: unknown, what: string): number {
  return parse(value, what, NON_NEGATIVE, "a non-negative integer");
}
