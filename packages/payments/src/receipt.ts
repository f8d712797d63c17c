import {
  type Address,
  getAddress,
  type Hex,
  isAddress,
  isHex,
  keccak256,
  type LocalAccount,
  recoverTypedDataAddress,
  toHex,
} from "viem";
import { InvalidReceiptError } from "./errors.ts";

/** What the operator attests one request used and cost; the payer can audit and dispute it. */
export interface UsageReceipt {
  /** keccak256 of the request id as served (`cmpl-`/`chatcmpl-` less the prefix) */
  requestId: Hex;
  modelId: bigint;
  modelVersion: number;
  payer: Address;
  promptTokens: number;
  completionTokens: number;
  fee: bigint;
  /** the span-v2 commitment of the answer over the model's training snapshots (zero: not attributable) */
  attribution: Hex;
}

/** A receipt as it travels (header, `openledger` field, files): decimal strings for integers. */
export interface SignedReceipt {
  receipt: Record<keyof UsageReceipt, string | number>;
  operator: Address;
  chainId: number;
  settlement: Address;
  signature: Hex;
}

export const RECEIPT_TYPES = {
  UsageReceipt: [
    { name: "requestId", type: "bytes32" },
    { name: "modelId", type: "uint256" },
    { name: "modelVersion", type: "uint32" },
    { name: "payer", type: "address" },
    { name: "promptTokens", type: "uint32" },
    { name: "completionTokens", type: "uint32" },
    { name: "fee", type: "uint256" },
    { name: "attribution", type: "bytes32" },
  ],
} as const;

export function receiptDomain(chainId: number, settlement: Address) {
  return {
    name: "OpenLedger Usage Receipt",
    version: "1",
    chainId,
    verifyingContract: getAddress(settlement),
  } as const;
}

export function requestIdHash(id: string): Hex {
  return keccak256(toHex(id));
}

export async function signReceipt(
  operator: LocalAccount,
  r: UsageReceipt,
  o: { chainId: number; settlement: Address },
): Promise<SignedReceipt> {
  const signature = await operator.signTypedData({
    domain: receiptDomain(o.chainId, o.settlement),
    types: RECEIPT_TYPES,
    primaryType: "UsageReceipt",
    message: r,
  });
  return {
    receipt: {
      requestId: r.requestId,
      modelId: r.modelId.toString(),
      modelVersion: r.modelVersion,
      payer: r.payer,
      promptTokens: r.promptTokens,
      completionTokens: r.completionTokens,
      fee: r.fee.toString(),
      attribution: r.attribution,
    },
    operator: operator.address,
    chainId: o.chainId,
    settlement: getAddress(o.settlement),
    signature,
  };
}

/** The receipt header value: base64url of the signed receipt's JSON. */
export function encodeReceiptHeader(s: SignedReceipt): string {
  return Buffer.from(JSON.stringify(s)).toString("base64url");
}

export function decodeReceiptHeader(value: string): unknown {
  try {
    return JSON.parse(Buffer.from(value, "base64url").toString("utf8"));
  } catch {
    throw new InvalidReceiptError("the receipt header is not base64url JSON");
  }
}

const uint = (v: unknown, field: string, max: bigint): bigint => {
  if (
    !((typeof v === "string" && /^\d{1,78}$/.test(v)) || (typeof v === "number" && Number.isSafeInteger(v)))
  )
    throw new InvalidReceiptError(`'receipt.${field}' must be a non-negative integer`);
  const n = BigInt(v);
  if (n < 0n || n > max) throw new InvalidReceiptError(`'receipt.${field}' is out of range`);
  return n;
};
const bytes32 = (v: unknown, field: string): Hex => {
  if (typeof v !== "string" || !isHex(v) || v.length !== 66)
    throw new InvalidReceiptError(`'${field}' must be a 32-byte hex string`);
  return v;
};

/**
 * Checks a signed receipt: well-formed, signed by the operator it names, and (when given) by the
 * expected operator on the expected chain and settlement. Returns the typed receipt.
 */
export async function verifyReceipt(
  input: unknown,
  expect: { operator?: Address; chainId?: number; settlement?: Address } = {},
): Promise<UsageReceipt & { operator: Address }> {
  const s = input as Partial<SignedReceipt> | null;
  if (!s || typeof s !== "object" || !s.receipt || typeof s.receipt !== "object")
    throw new InvalidReceiptError(
      "a signed receipt is an object with 'receipt', 'operator', 'chainId', 'settlement', 'signature'",
    );
  if (typeof s.operator !== "string" || !isAddress(s.operator))
    throw new InvalidReceiptError("'operator' must be an address");
  if (typeof s.settlement !== "string" || !isAddress(s.settlement))
    throw new InvalidReceiptError("'settlement' must be an address");
  if (typeof s.chainId !== "number" || !Number.isSafeInteger(s.chainId) || s.chainId <= 0)
    throw new InvalidReceiptError("'chainId' must be a positive integer");
  if (typeof s.signature !== "string" || !isHex(s.signature) || s.signature.length !== 132)
    throw new InvalidReceiptError("'signature' must be a 65-byte hex signature");
  const r = s.receipt as Record<string, unknown>;
  if (typeof r.payer !== "string" || !isAddress(r.payer))
    throw new InvalidReceiptError("'receipt.payer' must be an address");
  const u32 = 2n ** 32n - 1n;
  const receipt: UsageReceipt = {
    requestId: bytes32(r.requestId, "receipt.requestId"),
    modelId: uint(r.modelId, "modelId", 2n ** 256n - 1n),
    modelVersion: Number(uint(r.modelVersion, "modelVersion", u32)),
    payer: getAddress(r.payer),
    promptTokens: Number(uint(r.promptTokens, "promptTokens", u32)),
    completionTokens: Number(uint(r.completionTokens, "completionTokens", u32)),
    fee: uint(r.fee, "fee", 2n ** 256n - 1n),
    attribution: bytes32(r.attribution, "receipt.attribution"),
  };
  const signer = await recoverTypedDataAddress({
    domain: receiptDomain(s.chainId, s.settlement),
    types: RECEIPT_TYPES,
    primaryType: "UsageReceipt",
    message: receipt,
    signature: s.signature,
  }).catch(() => {
    throw new InvalidReceiptError("the signature does not recover to any address");
  });
  if (signer !== getAddress(s.operator))
    throw new InvalidReceiptError(
      `the receipt is signed by ${signer}, not by the operator ${s.operator} it names`,
    );
  if (expect.operator && signer !== getAddress(expect.operator))
    throw new InvalidReceiptError(
      `the receipt is signed by ${signer}, not by the expected operator ${expect.operator}`,
    );
  if (expect.chainId !== undefined && s.chainId !== expect.chainId)
    throw new InvalidReceiptError(`the receipt is for chain ${s.chainId}, not ${expect.chainId}`);
  if (expect.settlement && getAddress(s.settlement) !== getAddress(expect.settlement))
    throw new InvalidReceiptError(`the receipt is for settlement ${s.settlement}, not ${expect.settlement}`);
  return { ...receipt, operator: signer };
}
