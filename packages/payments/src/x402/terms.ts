import { tokenDomain } from "@openledger/sdk";
import type { Network, PaymentRequired, PaymentRequirements } from "@x402/core/types";
import { type Address, type Client, getAddress } from "viem";

/** x402 protocol version this server speaks (the HTTP transport's `PAYMENT-*` headers). */
export const X402_VERSION = 2;

/**
 * What every x402 payment to this server has in common: the `exact` scheme on this chain, in $OPEN
 * (EIP-3009 `transferWithAuthorization`, signed under the token's own EIP-712 domain), paid to the
 * operator. Only the amount differs from request to request.
 */
export interface X402Terms {
  /** CAIP-2: `eip155:<chainId>` */
  network: Network;
  /** the $OPEN token (checksummed) */
  asset: Address;
  /** the operator: receives every payment and sends the settling transaction */
  payTo: Address;
  /** the token's EIP-712 domain name and version (x402 puts them in the requirements' `extra`) */
  name: string;
  version: string;
  /** how long a signed payment stays valid (the client's `validBefore` = now + this) */
  maxTimeoutSeconds: number;
}

/** Reads the token's EIP-712 domain on chain and fixes the terms for `operator` on `chainId`. */
export async function loadX402Terms(
  client: Client,
  o: { chainId: number; token: Address; operator: Address; maxTimeoutSeconds?: number },
): Promise<X402Terms> {
  const domain = await tokenDomain(client, o.token);
  if (!domain.name || !domain.version)
    throw new Error(`the token ${o.token} has no EIP-712 name/version (ERC-5267); x402 needs both`);
  return {
    network: `eip155:${o.chainId}`,
    asset: getAddress(o.token),
    payTo: getAddress(o.operator),
    name: domain.name,
    version: domain.version,
    maxTimeoutSeconds: o.maxTimeoutSeconds ?? 300,
  };
}

/** The one requirement a request accepts: exactly `amount` wei of $OPEN to the operator. */
export function requirementsFor(terms: X402Terms, amount: bigint): PaymentRequirements {
  return {
    scheme: "exact",
    network: terms.network,
    asset: terms.asset,
    amount: amount.toString(),
    payTo: terms.payTo,
    maxTimeoutSeconds: terms.maxTimeoutSeconds,
    extra: { name: terms.name, version: terms.version },
  };
}

/** The x402 v2 `PaymentRequired` object a 402 carries (base64 JSON in the `PAYMENT-REQUIRED` header). */
export function paymentRequiredFor(
  terms: X402Terms,
  amount: bigint,
  resource: { url: string; description: string },
  error: string,
): PaymentRequired {
  return {
    x402Version: X402_VERSION,
    error,
    resource: { ...resource, mimeType: "application/json" },
    accepts: [requirementsFor(terms, amount)],
  };
}
