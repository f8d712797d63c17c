import { randomBytes } from "node:crypto";
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
import { InvalidKeyBindingError } from "./errors.ts";

/** API keys look like `olk_` + 64 hex characters (32 random bytes). */
const KEY_PATTERN = /^olk_[0-9a-f]{64}$/;

/** The EIP-712 domain key bindings are signed under: bound to the chain and the settlement contract. */
export function keyBindingDomain(chainId: number, settlement: Address) {
  return {
    name: "OpenLedger API key",
    version: "1",
    chainId,
    verifyingContract: getAddress(settlement),
  } as const;
}

export const KEY_BINDING_TYPES = {
  ApiKeyBinding: [
    { name: "keyHash", type: "bytes32" },
    { name: "payer", type: "address" },
    { name: "issuedAt", type: "uint256" },
  ],
} as const;

/** A signed statement by `payer` that requests bearing the key with hash `keyHash` draw on its escrow. */
export interface KeyBinding {
  keyHash: Hex;
  payer: Address;
  issuedAt: bigint;
  signature: Hex;
}

export function newApiKey(): string {
  return `olk_${randomBytes(32).toString("hex")}`;
}

/** The key's hash: the server stores only this, never the key. */
export function apiKeyHash(key: string): Hex {
  return keccak256(toHex(key));
}

export function isApiKey(key: string): boolean {
  return KEY_PATTERN.test(key);
}

/** Creates a key and the payer's signature binding it (the key never leaves the caller). */
export async function createKeyBinding(
  account: LocalAccount,
  o: { chainId: number; settlement: Address; issuedAt: bigint },
): Promise<{ key: string; binding: KeyBinding }> {
  const key = newApiKey();
  const message = { keyHash: apiKeyHash(key), payer: account.address, issuedAt: o.issuedAt };
  const signature = await account.signTypedData({
    domain: keyBindingDomain(o.chainId, o.settlement),
    types: KEY_BINDING_TYPES,
    primaryType: "ApiKeyBinding",
    message,
  });
  return { key, binding: { ...message, signature } };
}

/** Parses a binding from JSON (strings) and checks that its payer signed it; throws InvalidKeyBindingError. */
export async function verifyKeyBinding(
  input: unknown,
  o: { chainId: number; settlement: Address },
): Promise<KeyBinding> {
  const b = input as Record<string, unknown> | null;
  if (!b || typeof b !== "object") throw new InvalidKeyBindingError("a key binding must be a JSON object");
  const { keyHash, payer, issuedAt, signature } = b;
  if (typeof keyHash !== "string" || !isHex(keyHash) || keyHash.length !== 66)
    throw new InvalidKeyBindingError("'keyHash' must be a 32-byte hex string");
  if (typeof payer !== "string" || !isAddress(payer))
    throw new InvalidKeyBindingError("'payer' must be an address");
  if (typeof issuedAt !== "string" || !/^\d{1,20}$/.test(issuedAt))
    throw new InvalidKeyBindingError("'issuedAt' must be a decimal string of unix seconds");
  if (typeof signature !== "string" || !isHex(signature) || signature.length !== 132)
    throw new InvalidKeyBindingError("'signature' must be a 65-byte hex signature");
  const binding: KeyBinding = {
    keyHash: keyHash.toLowerCase() as Hex,
    payer: getAddress(payer),
    issuedAt: BigInt(issuedAt),
    signature,
  };
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      domain: keyBindingDomain(o.chainId, o.settlement),
      types: KEY_BINDING_TYPES,
      primaryType: "ApiKeyBinding",
      message: { keyHash: binding.keyHash, payer: binding.payer, issuedAt: binding.issuedAt },
      signature,
    });
  } catch {
    throw new InvalidKeyBindingError("the signature does not recover to any address");
  }
  if (signer !== binding.payer)
    throw new InvalidKeyBindingError(`the binding is signed by ${signer}, not by its payer ${binding.payer}`);
  return binding;
}
