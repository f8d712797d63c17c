import { MerkleError } from "./errors.ts";
import { compare32, hashPairInto } from "./hash.ts";
import { type Bytes32Like, type Hex, toHex, writeBytes32 } from "./hex.ts";

/** A multiproof in the shape `MerkleProof.multiProofVerify(proof, proofFlags, root, leaves)` takes. */
export interface MultiProof {
  leaves: Hex[];
  proof: Hex[];
  proofFlags: boolean[];
}

/** The same, accepting hex or byte leaves and proof elements. */
export interface MultiProofInput {
  leaves: readonly Bytes32Like[];
  proof: readonly Bytes32Like[];
  proofFlags: readonly boolean[];
}

/** `keccak256(min(a, b) ++ max(a, b))`: OpenZeppelin's `Hashes.commutativeKeccak256`. */
export function hashPair(a: Bytes32Like, b: Bytes32Like): Hex {
  const buf = new Uint8Array(64);
  writeBytes32(a, buf, 0, "a");
  writeBytes32(b, buf, 32, "b");
  hashPairInto(buf, 0, buf, 32, buf, 0);
  return toHex(buf, 0, 32);
}

/** The root implied by `leaf` and its `proof` (OpenZeppelin `MerkleProof.processProof`). */
export function processProof(proof: readonly Bytes32Like[], leaf: Bytes32Like): Hex {
  const acc = new Uint8Array(64);
  writeBytes32(leaf, acc, 0, "leaf");
  for (let i = 0; i < proof.length; i++) {
    writeBytes32(proof[i], acc, 32, `proof[${i}]`);
    hashPairInto(acc, 0, acc, 32, acc, 0);
  }
  return toHex(acc, 0, 32);
}

/** True when `proof` proves `leaf` is in the tree with `root` (OpenZeppelin `MerkleProof.verify`). */
export function verify(proof: readonly Bytes32Like[], root: Bytes32Like, leaf: Bytes32Like): boolean {
  const expected = new Uint8Array(32);
  writeBytes32(root, expected, 0, "root");
  const actual = new Uint8Array(32);
  writeBytes32(processProof(proof, leaf), actual, 0, "root");
  return compare32(expected, 0, actual, 0) === 0;
}

/**
 * The root implied by a multiproof, step for step as OpenZeppelin's `MerkleProof.processMultiProof`
 * computes it (including reading not-yet-computed queue slots as zero). Throws MerkleError where
 * Solidity would revert.
 */
export function processMultiProof(multi: MultiProofInput): Hex {
  const { leaves, proof, proofFlags } = multi;
  const leavesLen = leaves.length;
  const flagsLen = proofFlags.length;
  if (leavesLen + proof.length !== flagsLen + 1) {
    throw new MerkleError(
      `invalid multiproof: leaves (${leavesLen}) + proof (${proof.length}) must equal proofFlags (${flagsLen}) + 1`,
    );
  }
  const words = new Uint8Array((leavesLen + proof.length + flagsLen) * 32);
  for (let i = 0; i < leavesLen; i++) writeBytes32(leaves[i], words, i * 32, `leaves[${i}]`);
  const proofBase = leavesLen;
  for (let i = 0; i < proof.length; i++) writeBytes32(proof[i], words, (proofBase + i) * 32, `proof[${i}]`);
  if (flagsLen === 0) return toHex(words, 0, 32);
  const hashBase = leavesLen + proof.length;
  let leafPos = 0;
  let hashPos = 0;
  let proofPos = 0;
  const nextFromQueue = (): number => (leafPos < leavesLen ? leafPos++ : hashBase + hashPos++);
  for (let i = 0; i < flagsLen; i++) {
    const a = nextFromQueue();
    let b: number;
    if (proofFlags[i]) b = nextFromQueue();
    else if (proofPos < proof.length) b = proofBase + proofPos++;
    else throw new MerkleError("invalid multiproof: proofFlags ask for more proof elements than given");
    if (b >= hashBase + flagsLen || a >= hashBase + flagsLen) {
      throw new MerkleError("invalid multiproof: proofFlags consume more hashes than are produced");
    }
    hashPairInto(words, a * 32, words, b * 32, words, (hashBase + i) * 32);
  }
  if (proofPos !== proof.length)
    throw new MerkleError("invalid multiproof: not every proof element was used");
  return toHex(words, (hashBase + flagsLen - 1) * 32, (hashBase + flagsLen) * 32);
}

/** True when the multiproof proves all its leaves against `root`; false for any invalid multiproof. */
export function verifyMultiProof(multi: MultiProofInput, root: Bytes32Like): boolean {
  const expected = new Uint8Array(32);
  writeBytes32(root, expected, 0, "root");
  let computed: Hex;
  try {
    computed = processMultiProof(multi);
  } catch (err) {
    if (err instanceof MerkleError && err.message.startsWith("invalid multiproof")) return false;
    throw err;
  }
  const actual = new Uint8Array(32);
  writeBytes32(computed, actual, 0, "root");
  return compare32(expected, 0, actual, 0) === 0;
}
