import type { TransferAuthorization } from "@openledger/sdk";
import { decodePaymentSignatureHeader } from "@x402/core/http";
import { parsePaymentPayload } from "@x402/core/schemas";
import type { Network, PaymentPayload } from "@x402/core/types";
import { X402_VERSION } from "./terms.ts";

/** The EIP-3009 authorization an `exact` payment carries, with its fields range-checked. */
export type Eip3009Authorization = Omit<TransferAuthorization, "kind">;

/** A payment whose header or payload is not a well-formed x402 v2 EIP-3009 payment. */
export class MalformedPaymentError extends Error {
  override name = "MalformedPaymentError";
  constructor(
    readonly reason: "invalid_payload" | "invalid_x402_version",
    message: string,
  ) {
    super(message);
  }
}

const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
/** 65-byte ECDSA, or a longer ERC-1271 / ERC-6492 signature (bounded: a header is at most a few kB) */
const SIGNATURE = /^0x(?:[0-9a-fA-F]{2}){65,2048}$/;
const UINT = /^(0|[1-9][0-9]{0,77})$/;
const MAX_UINT256 = 2n ** 256n - 1n;

function uint(v: unknown, field: string): bigint {
  if (typeof v !== "string" || !UINT.test(v) || BigInt(v) > MAX_UINT256)
    throw new MalformedPaymentError(
      "invalid_payload",
      `authorization.${field} must be a uint256 decimal string`,
    );
  return BigInt(v);
}

function match<T extends string>(v: unknown, re: RegExp, field: string, what: string): T {
  if (typeof v !== "string" || !re.test(v))
    throw new MalformedPaymentError("invalid_payload", `${field} must be ${what}`);
  return v as T;
}

/** Decodes a `PAYMENT-SIGNATURE` (or `X-PAYMENT`) header value: base64 JSON of an x402 PaymentPayload. */
export function decodePaymentHeader(value: string): PaymentPayload {
  let json: unknown;
  try {
    json = decodePaymentSignatureHeader(value.trim());
  } catch {
    throw new MalformedPaymentError(
      "invalid_payload",
      "the PAYMENT-SIGNATURE header is not base64-encoded JSON of an x402 payment payload",
    );
  }
  return checkPaymentPayload(json);
}

/** Checks the shape of a PaymentPayload (from a header or a facilitator request body). */
export function checkPaymentPayload(json: unknown): PaymentPayload {
  const version = (json as { x402Version?: unknown } | null)?.x402Version;
  if (version !== X402_VERSION)
    throw new MalformedPaymentError(
      "invalid_x402_version",
      `x402Version ${JSON.stringify(version ?? null)} is not supported; this server speaks x402 v${X402_VERSION}`,
    );
  const parsed = parsePaymentPayload(json);
  if (!parsed.success)
    throw new MalformedPaymentError(
      "invalid_payload",
      `the payment payload is malformed: ${parsed.error.issues.map((i) => `${i.path.join(".") || "payload"}: ${i.message}`).join("; ")}`,
    );
  const d = parsed.data;
  if (d.x402Version !== X402_VERSION)
    throw new MalformedPaymentError("invalid_x402_version", "x402Version must be 2");
  const { resource, extensions } = d;
  return {
    x402Version: d.x402Version,
    ...(resource ? { resource } : {}),
    accepted: { ...d.accepted, network: d.accepted.network as Network, extra: d.accepted.extra ?? {} },
    payload: d.payload,
    ...(extensions ? { extensions } : {}),
  };
}

/** The EIP-3009 authorization inside an `exact` payment payload. */
export function eip3009Of(payment: PaymentPayload): Eip3009Authorization {
  const p = payment.payload as { authorization?: Record<string, unknown>; signature?: unknown };
  const a = p.authorization;
  if (!a || typeof a !== "object")
    throw new MalformedPaymentError(
      "invalid_payload",
      "payload.authorization is missing: this server takes EIP-3009 transferWithAuthorization payments",
    );
  return {
    from: match(a.from, ADDRESS, "authorization.from", "an address"),
    to: match(a.to, ADDRESS, "authorization.to", "an address"),
    value: uint(a.value, "value"),
    validAfter: uint(a.validAfter, "validAfter"),
    validBefore: uint(a.validBefore, "validBefore"),
    nonce: match(a.nonce, BYTES32, "authorization.nonce", "32 bytes of hex"),
    signature: match(p.signature, SIGNATURE, "payload.signature", "a hex signature of 65 bytes or more"),
  };
}
