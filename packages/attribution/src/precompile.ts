import {
  type PrecompileDefinition,
  SPAN_V1_PRECOMPILE_ADDRESS,
  SPAN_V2_PRECOMPILE_ADDRESS,
} from "@openledger/common";
import { decodeAbiParameters, encodeAbiParameters, type Hex, parseAbiParameters, toBytes, toHex } from "viem";
import { computeSpanV1 } from "./attribute.ts";
import { AttributionError, PrecompileError } from "./errors.ts";
import { computeSpanV2 } from "./spanV2.ts";
import { nfcBytes, splitWords } from "./text.ts";

// The definition's shape and the address live in @openledger/common (shared with the node and
// generated into the Solidity golden test).
export type { PrecompileDefinition };
/** span-v2 (README): the same input, output, limits and gas schedule as span-v1, its own address. */
export { SPAN_V1_PRECOMPILE_ADDRESS, SPAN_V2_PRECOMPILE_ADDRESS };

/** Input: `abi.encode(bytes output, bytes32[] roots, (uint256 contributionId, uint32 chunkIndex, bytes text)[] chunks)`. */
export const SPAN_V1_PRECOMPILE_INPUT = parseAbiParameters(
  "bytes output, bytes32[] roots, (uint256 contributionId, uint32 chunkIndex, bytes text)[] chunks",
);
/** Output: `abi.encode(bytes32 commitment, uint256[] contributionIds, uint256[] shares)`. */
export const SPAN_V1_PRECOMPILE_OUTPUT = parseAbiParameters(
  "bytes32 commitment, uint256[] contributionIds, uint256[] shares",
);

/** Gas schedule: base + per input byte + per (output word x chunk word) pair, rounded down. */
export const SPAN_V1_GAS = { base: 20_000n, perInputByte: 12n, perWordPairDivisor: 16n } as const;
export const SPAN_V1_PRECOMPILE_LIMITS = { maxChunks: 256, maxChunkBytes: 262_144 } as const;

interface DecodedInput {
  output: Uint8Array;
  roots: Hex[];
  chunks: { contributionId: bigint; chunkIndex: number; text: Uint8Array }[];
}

function decodeInput(input: Uint8Array, label = "span-v1"): DecodedInput {
  let decoded: readonly [
    Hex,
    readonly Hex[],
    readonly { contributionId: bigint; chunkIndex: number; text: Hex }[],
  ];
  try {
    decoded = decodeAbiParameters(SPAN_V1_PRECOMPILE_INPUT, input);
  } catch {
    throw new PrecompileError(
      `${label}: input is not abi.encode(bytes output, bytes32[] roots, (uint256,uint32,bytes)[] chunks)`,
    );
  }
  const [output, roots, chunks] = decoded;
  if (chunks.length > SPAN_V1_PRECOMPILE_LIMITS.maxChunks) {
    throw new PrecompileError(
      `${label}: ${chunks.length} chunks; at most ${SPAN_V1_PRECOMPILE_LIMITS.maxChunks}`,
    );
  }
  let total = 0;
  const texts = chunks.map((c) => toBytes(c.text));
  for (const t of texts) total += t.length;
  if (total > SPAN_V1_PRECOMPILE_LIMITS.maxChunkBytes) {
    throw new PrecompileError(
      `${label}: ${total} bytes of chunk text; at most ${SPAN_V1_PRECOMPILE_LIMITS.maxChunkBytes}`,
    );
  }
  return {
    output: toBytes(output),
    roots: [...roots],
    chunks: chunks.map((c, k) => ({
      contributionId: c.contributionId,
      chunkIndex: c.chunkIndex,
      text: texts[k],
    })),
  };
}

function requireNfc(bytes: Uint8Array, what: string, label: string): void {
  const canonical = nfcBytes(bytes, what);
  if (canonical.length !== bytes.length || canonical.some((b, i) => b !== bytes[i])) {
    throw new PrecompileError(`${label}: ${what} is not in Unicode NFC`);
  }
}

type Compute = typeof computeSpanV1 | typeof computeSpanV2;

function runSpanPrecompile(input: Uint8Array, label: string, compute: Compute): Uint8Array {
  try {
    const { output, roots, chunks } = decodeInput(input, label);
    requireNfc(output, "output", label);
    for (const [k, c] of chunks.entries()) requireNfc(c.text, `chunk ${k}`, label);
    const result = compute(output, chunks, roots);
    return toBytes(
      encodeAbiParameters(SPAN_V1_PRECOMPILE_OUTPUT, [
        result.commitment,
        result.credits.map((c) => c.contributionId),
        result.credits.map((c) => BigInt(c.share)),
      ]),
    );
  } catch (err) {
    if (err instanceof PrecompileError) throw err;
    if (err instanceof AttributionError) throw new PrecompileError(`${label}: ${err.message}`);
    throw err;
  }
}

/** span-v1 as a precompile: decodes, checks NFC, computes and returns the commitment and shares. */
export function runSpanV1Precompile(input: Uint8Array): Uint8Array {
  return runSpanPrecompile(input, "span-v1", computeSpanV1);
}

/** span-v2 as a precompile: the same input and output encodings as span-v1. */
export function runSpanV2Precompile(input: Uint8Array): Uint8Array {
  return runSpanPrecompile(input, "span-v2", computeSpanV2);
}

/** Gas: 20,000 + 12 per input byte + (output words x chunk words) / 16. Never throws. */
export function spanV1PrecompileGas(input: Uint8Array): bigint {
  const linear = SPAN_V1_GAS.base + SPAN_V1_GAS.perInputByte * BigInt(input.length);
  try {
    const { output, chunks } = decodeInput(input);
    const outputWordCount = BigInt(splitWords(output).words.length);
    let chunkWords = 0n;
    for (const c of chunks) chunkWords += BigInt(splitWords(c.text).words.length);
    return linear + (outputWordCount * chunkWords) / SPAN_V1_GAS.perWordPairDivisor;
  } catch {
    return linear;
  }
}

export const spanV1Precompile: PrecompileDefinition = {
  address: SPAN_V1_PRECOMPILE_ADDRESS,
  name: "attribution-span-v1",
  gas: spanV1PrecompileGas,
  run: runSpanV1Precompile,
};

export const spanV2Precompile: PrecompileDefinition = {
  address: SPAN_V2_PRECOMPILE_ADDRESS,
  name: "attribution-span-v2",
  gas: spanV1PrecompileGas,
  run: runSpanV2Precompile,
};

/** Encodes precompile input (for callers and tests; the same for span-v1 and span-v2). */
export function encodeSpanV1PrecompileInput(
  output: string | Uint8Array,
  roots: readonly Hex[],
  chunks: readonly { contributionId: bigint; chunkIndex: number; text: string | Uint8Array }[],
): Uint8Array {
  return toBytes(
    encodeAbiParameters(SPAN_V1_PRECOMPILE_INPUT, [
      toHex(nfcBytes(output, "output")),
      roots,
      chunks.map((c) => ({
        contributionId: c.contributionId,
        chunkIndex: c.chunkIndex,
        text: toHex(nfcBytes(c.text, "chunk")),
      })),
    ]),
  );
}

/** Decodes precompile output. */
export function decodeSpanV1PrecompileOutput(data: Uint8Array): {
  commitment: Hex;
  contributionIds: bigint[];
  shares: bigint[];
} {
  const [commitment, contributionIds, shares] = decodeAbiParameters(SPAN_V1_PRECOMPILE_OUTPUT, data);
  return { commitment, contributionIds: [...contributionIds], shares: [...shares] };
}
