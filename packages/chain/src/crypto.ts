import type { CustomCrypto } from "@ethereumjs/common";
import { setLengthLeft } from "@ethereumjs/util";
import { createKeccak } from "hash-wasm";
import * as secp from "tiny-secp256k1";
import { kzgBackend } from "./kzg.ts";

const keccakHasher = await createKeccak(256);

/** keccak-256 in WebAssembly (hash-wasm): 3-7x the pure-JS default on trie nodes and hashes. */
export function wasmKeccak256(msg: Uint8Array): Uint8Array {
  keccakHasher.init();
  keccakHasher.update(msg);
  return keccakHasher.digest("binary");
}

/**
 * Sender recovery through libsecp256k1 compiled to WebAssembly (tiny-secp256k1): about six times
 * faster than the pure-JS default, and recovery is the hot path of accepting transactions.
 * Same contract as @ethereumjs/util `ecrecover`: the 64-byte public key without its 0x04 prefix.
 */
export function wasmEcrecover(
  msgHash: Uint8Array,
  v: bigint,
  r: Uint8Array,
  s: Uint8Array,
  chainId?: bigint,
): Uint8Array {
  const recovery = v === 0n || v === 1n ? v : chainId === undefined ? v - 27n : v - (chainId * 2n + 35n);
  if (recovery !== 0n && recovery !== 1n) throw new Error("Invalid signature v value");
  const sig = new Uint8Array(64);
  sig.set(setLengthLeft(r, 32), 0);
  sig.set(setLengthLeft(s, 32), 32);
  let pub: Uint8Array | null;
  try {
    pub = secp.recover(msgHash, sig, Number(recovery) as 0 | 1, false);
  } catch {
    pub = null;
  }
  if (!pub) throw new Error("Invalid signature: public key could not be recovered");
  return pub.subarray(1);
}

/**
 * Crypto primitives handed to @ethereumjs: transactions and the ecrecover precompile, and the KZG
 * backend of the point-evaluation precompile (without one @ethereumjs throws out of the EVM).
 */
export function fastCrypto(): CustomCrypto {
  return { ecrecover: wasmEcrecover, keccak256: wasmKeccak256, kzg: kzgBackend };
}
