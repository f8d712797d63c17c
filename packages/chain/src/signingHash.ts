import type { TypedTransaction } from "@ethereumjs/tx";
import { bigIntToUnpaddedBytes } from "@ethereumjs/util";
import { wasmKeccak256 } from "./crypto.ts";

/** Bytes an RLP string item takes for an unsigned integer (canonical, no leading zeros). */
function itemLength(value: bigint): number {
  const bytes = bigIntToUnpaddedBytes(value);
  if (bytes.length === 1 && bytes[0] < 0x80) return 1;
  return bytes.length <= 55 ? 1 + bytes.length : 1 + byteCount(bytes.length) + bytes.length;
}

function byteCount(n: number): number {
  let count = 0;
  for (; n > 0; n = Math.floor(n / 256)) count++;
  return count;
}

/** RLP list header for a payload of `length` bytes. */
function listHeader(length: number): Uint8Array {
  if (length <= 55) return Uint8Array.of(0xc0 + length);
  const count = byteCount(length);
  const out = new Uint8Array(1 + count);
  out[0] = 0xf7 + count;
  for (let i = count, n = length; i >= 1; i--, n = Math.floor(n / 256)) out[i] = n % 256;
  return out;
}

/**
 * The hash a typed (EIP-2718) transaction's signature signs, `keccak(type || rlp(fields without
 * v, r, s))`, cut out of its signed encoding (which admission keeps for the transaction's hash and
 * the block anyway) instead of RLP-encoding the fields a second time as @ethereumjs does. The
 * signed encoding is `type || rlp(fields ++ [v, r, s])`: the fields are its payload less the last
 * three items. Legacy transactions (EIP-155 signs other fields) return undefined.
 */
export function typedSigningHash(tx: TypedTransaction): Uint8Array | undefined {
  if (tx.type === 0 || tx.v === undefined || tx.r === undefined || tx.s === undefined) return undefined;
  const signed = tx.serialize();
  const first = signed[1];
  const headerLength = first <= 0xf7 ? 1 : 1 + (first - 0xf7);
  const end = signed.length - itemLength(tx.v) - itemLength(tx.r) - itemLength(tx.s);
  const fields = signed.subarray(1 + headerLength, end);
  const header = listHeader(fields.length);
  const message = new Uint8Array(1 + header.length + fields.length);
  message[0] = tx.type;
  message.set(header, 1);
  message.set(fields, 1 + header.length);
  return wasmKeccak256(message);
}
