import type { CustomPrecompile, ExecResult, PrecompileInput } from "@ethereumjs/evm";
import { EVMError } from "@ethereumjs/evm";
import {
  MERKLE_MULTIPROOF_ADDRESS,
  type PrecompileDefinition,
  SPAN_V1_PRECOMPILE_ADDRESS,
} from "@openledger/common";
import { MerkleError, processMultiProof } from "@openledger/merkle";
import { encodeErrorResult, parseAbi, toBytes, toFunctionSelector } from "viem";
import { PrecompileError } from "./errors.ts";
import { toHex } from "./hex.ts";

// The definition's shape and the addresses live in @openledger/common (shared with attribution and
// generated into the Solidity golden test).
export type { PrecompileDefinition };
export { MERKLE_MULTIPROOF_ADDRESS, SPAN_V1_PRECOMPILE_ADDRESS as ATTRIBUTION_SPAN_V1_ADDRESS };

const errorAbi = parseAbi(["error Error(string)"]);

/** Maps precompile addresses to definitions; rejects duplicates, bad addresses and Ethereum's own range. */
export class PrecompileRegistry {
  private readonly defs = new Map<string, PrecompileDefinition>();

  constructor(defs: readonly PrecompileDefinition[] = []) {
    for (const d of defs) this.register(d);
  }

  register(def: PrecompileDefinition): void {
    if (!/^0x[0-9a-fA-F]{40}$/.test(def.address)) {
      throw new Error(`precompile ${def.name}: address ${def.address} is not a 20-byte hex address`);
    }
    const key = def.address.toLowerCase();
    if (BigInt(key) <= 0x100n) {
      throw new Error(
        `precompile ${def.name}: ${def.address} is in Ethereum's precompile range (0x01-0x100)`,
      );
    }
    const taken = this.defs.get(key);
    if (taken) throw new Error(`precompile ${def.name}: ${def.address} is already taken by ${taken.name}`);
    this.defs.set(key, def);
  }

  list(): PrecompileDefinition[] {
    return [...this.defs.values()];
  }

  /** The registry as @ethereumjs/evm `customPrecompiles`. */
  toEvm(): CustomPrecompile[] {
    return this.list().map((def) => ({ address: def.address, function: (opts) => execute(def, opts) }));
  }
}

/** Errors that depend on the machine (memory, stack), or throws that are not Errors at all. */
export function isResourceExhaustion(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  return (
    err instanceof RangeError &&
    /allocation failed|out of memory|Maximum call stack size exceeded/i.test(err.message)
  );
}

/** Runs a definition as an EVM precompile. A throwing `gas` is a bug in the definition: it is let out as a fault. */
function execute(def: PrecompileDefinition, opts: PrecompileInput): ExecResult {
  const gas = def.gas(opts.data);
  if (gas > opts.gasLimit) {
    return {
      returnValue: new Uint8Array(0),
      executionGasUsed: opts.gasLimit,
      exceptionError: new EVMError(EVMError.errorMessages.OUT_OF_GAS),
    };
  }
  try {
    return { returnValue: def.run(opts.data), executionGasUsed: gas };
  } catch (err) {
    // Running out of memory or stack is the machine's failure, not the call's result: let it out of
    // the EVM so block production drops the transaction instead of recording a revert.
    if (isResourceExhaustion(err)) throw err;
    const message = err instanceof Error ? err.message : String(err);
    const data =
      err instanceof PrecompileError && err.data
        ? err.data
        : toBytes(encodeErrorResult({ abi: errorAbi, errorName: "Error", args: [message] }));
    return {
      returnValue: data,
      executionGasUsed: gas,
      exceptionError: new EVMError(EVMError.errorMessages.REVERT),
    };
  }
}

/** Gas of the Merkle multiproof verifier: a base plus one keccak per proof flag plus calldata words. */
export const MERKLE_MULTIPROOF_GAS = { base: 1_000n, perHash: 50n, perWord: 3n } as const;

const INVALID_MULTIPROOF = toBytes(toFunctionSelector("MerkleProofInvalidMultiproof()"));

/**
 * `verify(bytes32 root, bytes32[] leaves, bytes32[] proof, bool[] proofFlags) -> bool` as plain
 * ABI-encoded calldata (no selector). Same result as OpenZeppelin `MerkleProof.multiProofVerify`,
 * including its `MerkleProofInvalidMultiproof()` revert for inconsistent lengths.
 */
export const merkleMultiproofPrecompile: PrecompileDefinition = {
  address: MERKLE_MULTIPROOF_ADDRESS,
  name: "merkle-multiproof-v1",
  gas(input) {
    const words = BigInt(Math.ceil(input.length / 32));
    const flags = input.length >= 128 ? arrayLengthAt(input, 3) : 0n;
    return (
      MERKLE_MULTIPROOF_GAS.base +
      MERKLE_MULTIPROOF_GAS.perHash * flags +
      MERKLE_MULTIPROOF_GAS.perWord * words
    );
  },
  run(input) {
    if (input.length < 128)
      throw new PrecompileError("merkle multiproof: input shorter than its 4 head words");
    const root = input.subarray(0, 32);
    const leaves = readWords(input, 1, "leaves");
    const proof = readWords(input, 2, "proof");
    const flagWords = readWords(input, 3, "proofFlags");
    const proofFlags = flagWords.map((w, i) => {
      for (let j = 0; j < 31; j++)
        if (w[j] !== 0) throw new PrecompileError(`merkle multiproof: proofFlags[${i}] is not a bool`);
      if (w[31] > 1) throw new PrecompileError(`merkle multiproof: proofFlags[${i}] is not a bool`);
      return w[31] === 1;
    });
    let computed: string;
    try {
      computed = processMultiProof({ leaves, proof, proofFlags });
    } catch (err) {
      if (err instanceof MerkleError)
        throw new PrecompileError("MerkleProofInvalidMultiproof()", INVALID_MULTIPROOF);
      throw err;
    }
    const out = new Uint8Array(32);
    out[31] = computed === toHex(root) ? 1 : 0;
    return out;
  },
};

function wordAsNumber(input: Uint8Array, offset: number, what: string): number {
  if (offset + 32 > input.length) throw new PrecompileError(`merkle multiproof: ${what} runs past the input`);
  for (let i = offset; i < offset + 24; i++)
    if (input[i] !== 0) throw new PrecompileError(`merkle multiproof: ${what} too large`);
  const view = new DataView(input.buffer, input.byteOffset + offset + 24, 8);
  const value = view.getBigUint64(0);
  if (value > BigInt(input.length))
    throw new PrecompileError(`merkle multiproof: ${what} runs past the input`);
  return Number(value);
}

function arrayLengthAt(input: Uint8Array, head: number): bigint {
  try {
    const offset = wordAsNumber(input, head * 32, "offset");
    return BigInt(wordAsNumber(input, offset, "length"));
  } catch {
    return 0n;
  }
}

function readWords(input: Uint8Array, head: number, what: string): Uint8Array[] {
  const offset = wordAsNumber(input, head * 32, `${what} offset`);
  const length = wordAsNumber(input, offset, `${what} length`);
  const start = offset + 32;
  if (start + length * 32 > input.length)
    throw new PrecompileError(`merkle multiproof: ${what} runs past the input`);
  const words: Uint8Array[] = [];
  for (let i = 0; i < length; i++) words.push(input.subarray(start + i * 32, start + (i + 1) * 32));
  return words;
}
