import { idToNumber } from "./ids.ts";

// Ids are bigint inside and JSON numbers outside (the HTTP API, the CLI's --json): every other bigint
// (prices, weights, bonds) is a decimal string.
const ID_KEYS = new Set(["id", "datanetId", "contributionId", "snapshotId", "next_after"]);

/** JSON text of Datanet records in their wire form: ids as numbers, other bigints as decimal strings. */
export function toWireJson(value: unknown, space?: number): string {
  return JSON.stringify(
    value,
    (key, v) => (typeof v !== "bigint" ? v : ID_KEYS.has(key) ? idToNumber(v, key) : v.toString()),
    space,
  );
}
