import { InvalidInputError } from "./errors.ts";

export function toId(value: unknown, what: string): number {
  const n = typeof value === "bigint" ? Number(value) : typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidInputError("invalid_id", `${what} must be a positive integer, got ${String(value)}`);
  }
  return n;
}
