import { InvalidParamsError } from "../errors.ts";
import type { AccountOverride, CallRequest, StateOverrides } from "../execution.ts";

/** Parameter readers: each throws -32602 with geth's "invalid argument N: ..." wording. */
export class Params {
  constructor(private readonly values: unknown[]) {}

  count(min: number, max: number): void {
    if (this.values.length < min) {
      throw new InvalidParamsError(`missing value for required argument ${this.values.length}`);
    }
    if (this.values.length > max) {
      throw new InvalidParamsError(`too many arguments, want at most ${max}`);
    }
  }

  raw(i: number): unknown {
    return this.values[i];
  }

  has(i: number): boolean {
    return this.values[i] !== undefined && this.values[i] !== null;
  }

  address(i: number): string {
    return address(this.values[i], i);
  }

  quantity(i: number): bigint {
    return quantity(this.values[i], i);
  }

  data(i: number): Uint8Array {
    return data(this.values[i], i);
  }

  hash(i: number): Uint8Array {
    const v = this.data(i);
    if (v.length !== 32)
      throw new InvalidParamsError(
        `invalid argument ${i}: hex string has length ${v.length * 2}, want 64 for common.Hash`,
      );
    return v;
  }

  bool(i: number, fallback = false): boolean {
    const v = this.values[i];
    if (v === undefined || v === null) return fallback;
    if (typeof v !== "boolean")
      throw new InvalidParamsError(
        `invalid argument ${i}: json: cannot unmarshal ${jsonType(v)} into Go value of type bool`,
      );
    return v;
  }

  string(i: number): string {
    const v = this.values[i];
    if (typeof v !== "string")
      throw new InvalidParamsError(
        `invalid argument ${i}: json: cannot unmarshal ${jsonType(v)} into Go value of type string`,
      );
    return v;
  }

  object(i: number): Record<string, unknown> {
    const v = this.values[i];
    if (typeof v !== "object" || v === null || Array.isArray(v)) {
      throw new InvalidParamsError(
        `invalid argument ${i}: json: cannot unmarshal ${jsonType(v)} into Go value of type object`,
      );
    }
    return v as Record<string, unknown>;
  }

  call(i: number): CallRequest {
    const o = this.object(i);
    const q = (k: string) => (o[k] === undefined || o[k] === null ? undefined : quantity(o[k], i, k));
    const input = o.input ?? o.data;
    if (o.input !== undefined && o.data !== undefined && o.input !== o.data) {
      throw new InvalidParamsError(
        `invalid argument ${i}: both "data" and "input" are set and not equal. Please use "input" to pass transaction call data`,
      );
    }
    const req: CallRequest = {
      from: o.from == null ? undefined : address(o.from, i, "from"),
      to: o.to == null ? undefined : address(o.to, i, "to"),
      gas: q("gas"),
      gasPrice: q("gasPrice"),
      maxFeePerGas: q("maxFeePerGas"),
      maxPriorityFeePerGas: q("maxPriorityFeePerGas"),
      value: q("value"),
      nonce: q("nonce"),
      data: input == null ? undefined : data(input, i, "input"),
    };
    if (Array.isArray(o.accessList)) req.accessList = o.accessList as CallRequest["accessList"];
    if (
      req.gasPrice !== undefined &&
      (req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined)
    ) {
      throw new InvalidParamsError("both gasPrice and (maxFeePerGas or maxPriorityFeePerGas) specified");
    }
    return req;
  }

  overrides(i: number): StateOverrides | undefined {
    if (!this.has(i)) return undefined;
    const o = this.object(i);
    const out: StateOverrides = {};
    for (const [addr, raw] of Object.entries(o)) {
      address(addr, i);
      if (typeof raw !== "object" || raw === null)
        throw new InvalidParamsError(`invalid argument ${i}: override for ${addr} is not an object`);
      const r = raw as Record<string, unknown>;
      if (r.state && r.stateDiff)
        throw new InvalidParamsError(`account ${addr} has both 'state' and 'stateDiff'`);
      const ov: AccountOverride = {};
      if (r.balance != null) ov.balance = quantity(r.balance, i, "balance");
      if (r.nonce != null) ov.nonce = quantity(r.nonce, i, "nonce");
      if (r.code != null) ov.code = data(r.code, i, "code");
      if (r.state != null) ov.state = slots(r.state, i);
      if (r.stateDiff != null) ov.stateDiff = slots(r.stateDiff, i);
      out[addr] = ov;
    }
    return out;
  }
}

function slots(v: unknown, i: number): Record<string, string> {
  if (typeof v !== "object" || v === null)
    throw new InvalidParamsError(`invalid argument ${i}: state must be an object`);
  for (const [k, val] of Object.entries(v)) {
    if (data(k, i).length !== 32 || typeof val !== "string" || data(val, i).length !== 32) {
      throw new InvalidParamsError(`invalid argument ${i}: storage keys and values must be 32-byte hex`);
    }
  }
  return v as Record<string, string>;
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

function where(i: number, field?: string): string {
  return field
    ? `invalid argument ${i}: json: cannot unmarshal into field ${field}:`
    : `invalid argument ${i}:`;
}

export function address(v: unknown, i: number, field?: string): string {
  if (typeof v !== "string")
    throw new InvalidParamsError(`${where(i, field)} cannot unmarshal ${jsonType(v)} into address`);
  if (!v.startsWith("0x") && !v.startsWith("0X"))
    throw new InvalidParamsError(`${where(i, field)} hex string without 0x prefix`);
  if (!/^0[xX][0-9a-fA-F]{40}$/.test(v))
    throw new InvalidParamsError(
      `${where(i, field)} hex string has length ${v.length - 2}, want 40 for common.Address`,
    );
  return v.toLowerCase();
}

export function quantity(v: unknown, i: number, field?: string): bigint {
  if (typeof v !== "string")
    throw new InvalidParamsError(`${where(i, field)} cannot unmarshal ${jsonType(v)} into quantity`);
  if (!v.startsWith("0x")) throw new InvalidParamsError(`${where(i, field)} hex string without 0x prefix`);
  if (v.length === 2) throw new InvalidParamsError(`${where(i, field)} hex string "0x"`);
  if (v.length > 66) throw new InvalidParamsError(`${where(i, field)} hex number > 256 bits`);
  if (!/^0x[0-9a-fA-F]+$/.test(v)) throw new InvalidParamsError(`${where(i, field)} invalid hex string`);
  if (v.length > 3 && v[2] === "0")
    throw new InvalidParamsError(`${where(i, field)} hex number with leading zero digits`);
  return BigInt(v);
}

export function data(v: unknown, i: number, field?: string): Uint8Array {
  if (typeof v !== "string")
    throw new InvalidParamsError(`${where(i, field)} cannot unmarshal ${jsonType(v)} into bytes`);
  if (!v.startsWith("0x")) throw new InvalidParamsError(`${where(i, field)} hex string without 0x prefix`);
  if (v.length % 2 !== 0) throw new InvalidParamsError(`${where(i, field)} hex string of odd length`);
  if (!/^0x[0-9a-fA-F]*$/.test(v)) throw new InvalidParamsError(`${where(i, field)} invalid hex string`);
  return decodeHex(v);
}

/**
 * Bytes of a hex string already checked to be 0x-prefixed, even-length and hex: decoded by Node's
 * native decoder into a plain Uint8Array (@ethereumjs's hexToBytes checks the string again with a
 * RegExp and decodes it a character pair at a time, which shows in profiles of raw transactions).
 */
function decodeHex(v: string): Uint8Array {
  const out = new Uint8Array((v.length - 2) / 2);
  Buffer.from(out.buffer, out.byteOffset, out.length).write(v.slice(2), "hex");
  return out;
}

/** A storage slot as geth's decodeHash reads it: 0x-prefixed hex of up to 32 bytes, left-padded. */
export function storageKey(v: unknown, i: number): Uint8Array {
  if (typeof v !== "string")
    throw new InvalidParamsError(`invalid argument ${i}: cannot unmarshal ${jsonType(v)} into storage key`);
  if (!/^0[xX][0-9a-fA-F]{0,64}$/.test(v))
    throw new InvalidParamsError(`invalid argument ${i}: hex string invalid or longer than 32 bytes`);
  const hex = v.slice(2).padStart(64, "0");
  return decodeHex(`0x${hex}`);
}
