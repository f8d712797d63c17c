export { MerkleError } from "./errors.ts";
export type { Bytes32Like, Hex } from "./hex.ts";
export { chunkContentHash, chunkLeaf, settlementLeaf } from "./leaves.ts";
export type { MultiProof, MultiProofInput } from "./proof.ts";
export { hashPair, processMultiProof, processProof, verify, verifyMultiProof } from "./proof.ts";
export { type BuildOptions, MerkleTree } from "./tree.ts";
