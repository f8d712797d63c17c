import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  chunkContentHash,
  chunkLeaf,
  hashPair,
  MerkleError,
  MerkleTree,
  processMultiProof,
  processProof,
  settlementLeaf,
  verify,
  verifyMultiProof,
} from "../src/index.ts";

// Expected values computed independently with foundry's `cast keccak` / `cast abi-encode`.
const A = `0x${"11".repeat(32)}` as const;
const B = `0x${"22".repeat(32)}` as const;
const C = `0x${"33".repeat(32)}` as const;
const HASH_AB = "0x3e92e0db88d6afea9edc4eedf62fffa4d92bcdfc310dccbe943747fe8302e871";
const ROOT_ABC = "0x87fbd8dad686d9536b2ef65757c3415df1b7a4664deb34eda3d91234936eb5fe";

describe("hand-checked vectors", () => {
  test("hashPair is keccak256 of the sorted pair, in either order", () => {
    assert.equal(hashPair(A, B), HASH_AB);
    assert.equal(hashPair(B, A), HASH_AB);
  });

  test("settlementLeaf matches keccak256(keccak256(abi.encode(address,uint256)))", () => {
    assert.equal(
      settlementLeaf("0x70997970C51812dc3A010C7d01b50e0d17dc79C8", 10n ** 18n),
      "0x48b89d46ac36bc91cff52fda8f367663966eeb47da22a76a3f52c1ed976504ee",
    );
  });

  test("chunkLeaf matches keccak256(keccak256(abi.encode(uint256,uint32,bytes32)))", () => {
    const content = chunkContentHash("hello world");
    assert.equal(content, "0x47173285a8d7341e5e972fc677286384f802f8ef42a5ec5f03bbfa254cb01fad");
    assert.equal(
      chunkLeaf(42n, 7, content),
      "0x68c41e9362e0f238e45a0a570b187a9eda48d12bd8caeb3d1dec1b312a025357",
    );
  });

  test("chunkContentHash normalises to NFC", () => {
    assert.equal(chunkContentHash("e\u0301"), chunkContentHash("\u00e9"));
  });

  test("three leaves: OpenZeppelin array layout, root and proofs", () => {
    const tree = MerkleTree.build([A, B, C]);
    assert.deepEqual(tree.nodes(), [ROOT_ABC, HASH_AB, C, B, A]);
    assert.equal(tree.root, ROOT_ABC);
    assert.deepEqual(tree.proof(0), [B, C]);
    assert.deepEqual(tree.proof(2), [HASH_AB]);
    assert.equal(processProof([B, C], A), ROOT_ABC);
    assert.ok(verify(tree.proof(1), ROOT_ABC, B));
  });

  test("one leaf: the root is the leaf and the proof is empty", () => {
    const tree = MerkleTree.build([A]);
    assert.equal(tree.root, A);
    assert.deepEqual(tree.proof(0), []);
    assert.ok(verify([], A, A));
    const multi = tree.multiProof([0]);
    assert.deepEqual(multi, { leaves: [A], proof: [], proofFlags: [] });
    assert.ok(verifyMultiProof(multi, A));
  });

  test("two leaves", () => {
    const tree = MerkleTree.build([A, B]);
    assert.equal(tree.root, HASH_AB);
    assert.deepEqual(tree.proof(0), [B]);
    assert.deepEqual(tree.proof(1), [A]);
    assert.deepEqual(tree.multiProof([1, 0]), { leaves: [A, B], proof: [], proofFlags: [true] });
  });

  test("multiproof of the empty set carries the root", () => {
    const tree = MerkleTree.build([A, B, C]);
    const multi = tree.multiProof([]);
    assert.deepEqual(multi, { leaves: [], proof: [ROOT_ABC], proofFlags: [] });
    assert.equal(processMultiProof(multi), ROOT_ABC);
  });

  test("sortLeaves sorts ascending, indexOf finds leaves", () => {
    const tree = MerkleTree.build([C, A, B], { sortLeaves: true });
    assert.equal(tree.leaf(0), A);
    assert.equal(tree.root, ROOT_ABC);
    assert.equal(tree.indexOf(C), 2);
    assert.equal(tree.indexOf(`0x${"44".repeat(32)}`), -1);
    assert.equal(MerkleTree.build([C, A, B]).indexOf(C), 0);
  });

  test("hex input is case-insensitive, output is lower case; Uint8Array leaves work", () => {
    const upper = `0x${"AB".repeat(32)}` as const;
    const tree = MerkleTree.build([upper, new Uint8Array(32).fill(0xcd)]);
    assert.equal(tree.leaf(0), `0x${"ab".repeat(32)}`);
    assert.equal(tree.leaf(1), `0x${"cd".repeat(32)}`);
  });
});

describe("malformed input", () => {
  test("empty leaf list is a clear error", () => {
    assert.throws(() => MerkleTree.build([]), { name: "MerkleError", message: /zero leaves/ });
    assert.throws(() => MerkleTree.fromPackedLeaves(new Uint8Array(0)), MerkleError);
  });

  test("bad leaves name the offending index", () => {
    assert.throws(() => MerkleTree.build([A, "0x1234" as `0x${string}`]), { message: /leaf 1 must be 0x/ });
    assert.throws(() => MerkleTree.build([`0x${"zz".repeat(32)}`]), { message: /non-hex/ });
    assert.throws(() => MerkleTree.build([new Uint8Array(31)]), { message: /32 bytes/ });
    assert.throws(() => MerkleTree.build("nope" as never), MerkleError);
    assert.throws(() => MerkleTree.fromPackedLeaves(new Uint8Array(33)), { message: /multiple of 32/ });
  });

  test("out-of-range and duplicate indices", () => {
    const tree = MerkleTree.build([A, B, C]);
    for (const bad of [-1, 3, 1.5, Number.NaN]) {
      assert.throws(() => tree.proof(bad), { message: /out of range/ });
      assert.throws(() => tree.multiProof([bad]), { message: /out of range/ });
    }
    assert.throws(() => tree.multiProof([1, 1]), { message: /twice/ });
  });

  test("leaf encoders reject out-of-range values", () => {
    assert.throws(() => settlementLeaf("0x1234", 1n), { message: /account/ });
    assert.throws(() => settlementLeaf(`0x${"00".repeat(20)}`, -1n), { message: /amount/ });
    assert.throws(() => settlementLeaf(`0x${"00".repeat(20)}`, 1n << 256n), { message: /amount/ });
    assert.throws(() => settlementLeaf(`0x${"00".repeat(20)}`, 5 as never), { message: /amount/ });
    assert.throws(() => chunkLeaf(1n, 2 ** 32, A), { message: /chunkIndex/ });
    assert.throws(() => chunkLeaf(1n, -1, A), { message: /chunkIndex/ });
    assert.throws(() => chunkLeaf(1n, 0, "0x12"), { message: /contentHash/ });
    assert.doesNotThrow(() => settlementLeaf(`0x${"ff".repeat(20)}`, (1n << 256n) - 1n));
  });

  test("structurally invalid multiproofs are rejected the way Solidity reverts", () => {
    // length rule: leaves + proof = flags + 1
    assert.throws(() => processMultiProof({ leaves: [A], proof: [B], proofFlags: [] }), {
      message: /must equal/,
    });
    assert.equal(verifyMultiProof({ leaves: [A], proof: [B], proofFlags: [] }, A), false);
    // flag asks for a proof element that is missing (the length rule still holds)
    assert.throws(() => processMultiProof({ leaves: [A, B, C], proof: [], proofFlags: [false, false] }), {
      message: /more proof elements/,
    });
    // queue runs past the produced hashes
    assert.equal(verifyMultiProof({ leaves: [A, B], proof: [C], proofFlags: [true, true] }, A), false);
    // no leaves, no proof
    assert.throws(() => processMultiProof({ leaves: [], proof: [], proofFlags: [] }), {
      message: /must equal/,
    });
  });
});
