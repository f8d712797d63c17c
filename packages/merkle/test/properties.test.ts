import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { keccak_256 } from "@noble/hashes/sha3.js";
import fc from "fast-check";
import { type Hex, MerkleTree, processProof, verify, verifyMultiProof } from "../src/index.ts";

const SEED = 20261127;
const toHex = (b: Uint8Array): Hex => `0x${Buffer.from(b).toString("hex")}`;
const fromHex = (h: Hex): Uint8Array => Uint8Array.from(Buffer.from(h.slice(2), "hex"));

// A plain reference: OpenZeppelin's array layout built with noble's keccak over concatenated bytes.
function referenceNodes(leaves: Hex[]): Hex[] {
  const n = leaves.length;
  const tree: Hex[] = new Array(2 * n - 1);
  leaves.forEach((leaf, k) => {
    tree[2 * n - 2 - k] = leaf;
  });
  for (let i = n - 2; i >= 0; i--) {
    const [x, y] = [tree[2 * i + 1], tree[2 * i + 2]].sort();
    tree[i] = toHex(keccak_256(Uint8Array.from([...fromHex(x), ...fromHex(y)])));
  }
  return tree;
}

const leaf = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);
const leaves = fc.array(leaf, { minLength: 1, maxLength: 40 });
const flip = (h: Hex, bit: number): Hex => {
  const b = fromHex(h);
  b[bit >> 3] ^= 1 << (bit & 7);
  return toHex(b);
};

describe("properties", () => {
  test("the tree equals a plain reference implementation node for node", () => {
    fc.assert(
      fc.property(leaves, (ls) => {
        assert.deepEqual(MerkleTree.build(ls).nodes(), referenceNodes(ls));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  test("every proof verifies; a tampered leaf or proof element does not", () => {
    fc.assert(
      fc.property(leaves, fc.nat(), fc.nat(255), (ls, pick, bit) => {
        const tree = MerkleTree.build(ls);
        for (let k = 0; k < ls.length; k++) assert.ok(verify(tree.proof(k), tree.root, ls[k]));
        const k = pick % ls.length;
        const proof = tree.proof(k);
        assert.equal(verify(proof, tree.root, flip(ls[k], bit)), false);
        if (proof.length > 0) {
          const j = pick % proof.length;
          const tampered = proof.map((p, i) => (i === j ? flip(p, bit) : p));
          assert.equal(verify(tampered, tree.root, ls[k]), false);
          assert.notEqual(processProof(proof.slice(0, -1), ls[k]), tree.root);
        }
      }),
      { seed: SEED, numRuns: 150 },
    );
  });

  test("a multiproof of any subset verifies; tampering breaks it", () => {
    fc.assert(
      fc.property(leaves, fc.array(fc.nat()), fc.nat(255), (ls, picks, bit) => {
        const tree = MerkleTree.build(ls);
        const indices = [...new Set(picks.map((p) => p % ls.length))];
        const multi = tree.multiProof(indices);
        assert.ok(verifyMultiProof(multi, tree.root));
        assert.deepEqual(
          multi.leaves,
          [...indices].sort((a, b) => a - b).map((k) => ls[k]),
        );
        if (multi.leaves.length > 0 && new Set(ls).size === ls.length) {
          const tampered = { ...multi, leaves: multi.leaves.map((l, i) => (i === 0 ? flip(l, bit) : l)) };
          assert.equal(verifyMultiProof(tampered, tree.root), false);
        }
        if (multi.proof.length > 0) {
          const tampered = { ...multi, proof: multi.proof.map((p, i) => (i === 0 ? flip(p, bit) : p)) };
          assert.equal(verifyMultiProof(tampered, tree.root), false);
        }
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  test("packed and hex construction agree", () => {
    fc.assert(
      fc.property(leaves, (ls) => {
        const packed = Uint8Array.from(ls.flatMap((l) => [...fromHex(l)]));
        assert.equal(MerkleTree.fromPackedLeaves(packed).root, MerkleTree.build(ls).root);
      }),
      { seed: SEED, numRuns: 100 },
    );
  });

  test("a large tree (100k leaves) builds and proves", () => {
    const n = 100_000;
    const packed = new Uint8Array(n * 32);
    for (let i = 0; i < n; i++) new DataView(packed.buffer).setUint32(i * 32, i * 2654435761);
    const tree = MerkleTree.fromPackedLeaves(packed);
    for (const k of [0, 1, 65_535, n - 1]) assert.ok(verify(tree.proof(k), tree.root, tree.leaf(k)));
    assert.ok(verifyMultiProof(tree.multiProof([3, 77, 50_000, n - 1]), tree.root));
  });
});
