import { createHash } from "node:crypto";
import { type Hex, keccak256, toBytes } from "viem";

/** JSON with object keys sorted at every level and no spaces: the form that is hashed on-chain. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** keccak256 of the canonical JSON (the ModelRegistry `trainingConfigHash`). */
export function canonicalHash(value: unknown): Hex {
  return keccak256(toBytes(canonicalJson(value)));
}

/** sha256 of bytes as 0x-hex bytes32 (the registry's adapter and base model hashes). */
export function sha256Hex(bytes: Uint8Array): Hex {
  return `0x${createHash("sha256").update(bytes).digest("hex")}`;
}
