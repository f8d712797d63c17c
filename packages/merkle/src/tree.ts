import { MerkleError } from "./errors.ts";
import { compare32, hashPairInto } from "./hash.ts";
import { type Bytes32Like, type Hex, toHex, writeBytes32 } from "./hex.ts";
import type { MultiProof } from "./proof.ts";

export interface BuildOptions {
  /** Sort the leaves ascending (as @openzeppelin/merkle-tree does by default). Off: caller's order. */
  sortLeaves?: boolean;
}

/**
 * A sorted-pair keccak256 Merkle tree in OpenZeppelin's array layout: a complete binary tree of
 * `2n - 1` nodes where node `i` has children `2i + 1` and `2i + 2`, the root is node 0 and leaf `k`
 * sits at node `2n - 2 - k` (leaves at the end, in reverse order). All nodes live in one flat buffer.
 */
export class MerkleTree {
  /** Number of leaves. */
  readonly leafCount: number;
  readonly #nodes: Uint8Array;

  private constructor(nodes: Uint8Array, leafCount: number) {
    this.#nodes = nodes;
    this.leafCount = leafCount;
  }

  /** Builds a tree over bytes32 leaves (hex or 32-byte arrays), kept in the given order. */
  static build(leaves: readonly Bytes32Like[], options: BuildOptions = {}): MerkleTree {
    if (!Array.isArray(leaves)) throw new MerkleError("leaves must be an array of bytes32 values");
    const packed = new Uint8Array(leaves.length * 32);
    for (let i = 0; i < leaves.length; i++) writeBytes32(leaves[i], packed, i * 32, `leaf ${i}`);
    return MerkleTree.fromPackedLeaves(packed, options);
  }

  /** Builds a tree from leaves packed back to back (`32 * n` bytes); the fast path for large trees. */
  static fromPackedLeaves(packed: Uint8Array, options: BuildOptions = {}): MerkleTree {
    if (!(packed instanceof Uint8Array) || packed.length % 32 !== 0) {
      throw new MerkleError("packed leaves must be a Uint8Array whose length is a multiple of 32");
    }
    const n = packed.length / 32;
    if (n === 0) throw new MerkleError("cannot build a Merkle tree from zero leaves");
    const order = options.sortLeaves ? sortedOrder(packed, n) : null;
    const nodes = new Uint8Array((2 * n - 1) * 32);
    for (let k = 0; k < n; k++) {
      const src = (order ? order[k] : k) * 32;
      nodes.set(packed.subarray(src, src + 32), (2 * n - 2 - k) * 32);
    }
    for (let i = n - 2; i >= 0; i--) {
      hashPairInto(nodes, (2 * i + 1) * 32, nodes, (2 * i + 2) * 32, nodes, i * 32);
    }
    return new MerkleTree(nodes, n);
  }

  get root(): Hex {
    return toHex(this.#nodes, 0, 32);
  }

  /** The root as a fresh 32-byte array. */
  rootBytes(): Uint8Array {
    return this.#nodes.slice(0, 32);
  }

  /** Leaf `index` (in tree order) as hex. */
  leaf(index: number): Hex {
    const node = this.#leafNode(index);
    return toHex(this.#nodes, node * 32, node * 32 + 32);
  }

  /** Index of the first leaf equal to `leaf`, or -1. Linear scan. */
  indexOf(leaf: Bytes32Like): number {
    const probe = new Uint8Array(32);
    writeBytes32(leaf, probe, 0, "leaf");
    for (let k = 0; k < this.leafCount; k++) {
      if (compare32(this.#nodes, (2 * this.leafCount - 2 - k) * 32, probe, 0) === 0) return k;
    }
    return -1;
  }

  /** Sibling hashes from leaf `index` up to the root, as `MerkleProof.verify` expects. */
  proof(index: number): Hex[] {
    const proof: Hex[] = [];
    for (let i = this.#leafNode(index); i > 0; i = (i - 1) >> 1) {
      const s = i % 2 === 1 ? i + 1 : i - 1;
      proof.push(toHex(this.#nodes, s * 32, s * 32 + 32));
    }
    return proof;
  }

  /**
   * A multiproof for the given leaf indices, as `MerkleProof.multiProofVerify` expects. The returned
   * `leaves` come in ascending leaf-index order (the order the verifier must receive them in).
   */
  multiProof(indices: readonly number[]): MultiProof {
    const nodesIdx = indices.map((k) => this.#leafNode(k)).sort((a, b) => b - a);
    for (let p = 1; p < nodesIdx.length; p++) {
      if (nodesIdx[p] === nodesIdx[p - 1]) {
        throw new MerkleError(
          `cannot prove leaf ${2 * this.leafCount - 2 - nodesIdx[p]} twice in one multiproof`,
        );
      }
    }
    // A FIFO over tree nodes, consumed from `head`; parents are appended as they are reached.
    const queue = nodesIdx.slice();
    let head = 0;
    const proof: Hex[] = [];
    const proofFlags: boolean[] = [];
    while (head < queue.length && queue[head] > 0) {
      const j = queue[head++];
      const s = j % 2 === 1 ? j + 1 : j - 1;
      if (head < queue.length && queue[head] === s) {
        proofFlags.push(true);
        head++;
      } else {
        proofFlags.push(false);
        proof.push(this.#hexAt(s));
      }
      queue.push((j - 1) >> 1);
    }
    if (nodesIdx.length === 0) proof.push(this.#hexAt(0));
    return { leaves: nodesIdx.map((i) => this.#hexAt(i)), proof, proofFlags };
  }

  /** Every node in OpenZeppelin's array layout (`tree` in @openzeppelin/merkle-tree dumps). */
  nodes(): Hex[] {
    return Array.from({ length: 2 * this.leafCount - 1 }, (_, i) => this.#hexAt(i));
  }

  #hexAt(node: number): Hex {
    return toHex(this.#nodes, node * 32, node * 32 + 32);
  }

  #leafNode(index: number): number {
    if (!Number.isInteger(index) || index < 0 || index >= this.leafCount) {
      throw new MerkleError(`leaf index ${index} is out of range: the tree has ${this.leafCount} leaves`);
    }
    return 2 * this.leafCount - 2 - index;
  }
}

function sortedOrder(packed: Uint8Array, n: number): Uint32Array {
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  return order.sort((a, b) => compare32(packed, a * 32, packed, b * 32));
}
