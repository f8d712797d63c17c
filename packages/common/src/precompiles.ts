// The OpenLedger L2's precompiled contracts: their shape and their addresses. The node (chain) hosts
// them, the packages that compute them (attribution, merkle) define them, and the Solidity contracts
// call them; contracts/test/PrecompileAddresses.t.sol is generated from this file so the two agree.

/** A precompiled contract contributed by a package: pure, deterministic, integer-only. */
export interface PrecompileDefinition {
  address: `0x${string}`;
  name: string;
  /** Gas for this input; never throws. */
  gas(input: Uint8Array): bigint;
  /** The output; throwing reverts the call. */
  run(input: Uint8Array): Uint8Array;
}

/** `verify(root, leaves, proof, proofFlags)`: OpenZeppelin's multiProofVerify. */
export const MERKLE_MULTIPROOF_ADDRESS = "0x0000000000000000000000000000000000000800" as const;
/** span-v1 attribution (the SpanV1Verifier's `SPAN_V1_PRECOMPILE`). */
export const SPAN_V1_PRECOMPILE_ADDRESS = "0x0000000000000000000000000000000000000801" as const;

/** span-v2 attribution: the same input, output, limits and gas schedule as span-v1. */
export const SPAN_V2_PRECOMPILE_ADDRESS = "0x0000000000000000000000000000000000000802" as const;

/** Every assigned address by precompile name, for registries and the Solidity golden test. */
export const PRECOMPILE_ADDRESSES = {
  "merkle-multiproof-v1": MERKLE_MULTIPROOF_ADDRESS,
  "attribution-span-v1": SPAN_V1_PRECOMPILE_ADDRESS,
  "attribution-span-v2": SPAN_V2_PRECOMPILE_ADDRESS,
} as const;
