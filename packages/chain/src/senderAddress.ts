import { Address } from "@ethereumjs/util";
import { wasmKeccak256 } from "./crypto.ts";
import { TxRejectedError } from "./errors.ts";

/**
 * The address of a 64-byte uncompressed public key (without its 0x04 prefix): the last 20 bytes of
 * its keccak-256. @ethereumjs's `publicToAddress` does the same with a pure-JS keccak, about a tenth
 * of admission's CPU per transaction on the bench; this one hashes in WebAssembly.
 */
export function senderAddress(publicKey: Uint8Array): Address {
  if (publicKey.length !== 64)
    throw new TxRejectedError(`invalid sender: a public key of ${publicKey.length} bytes, not 64`);
  return new Address(wasmKeccak256(publicKey).slice(12));
}
