/** Raised for malformed input to the Merkle helpers (bad hex, empty trees, out-of-range indices, broken proofs). */
export class MerkleError extends Error {
  override name = "MerkleError";
}
