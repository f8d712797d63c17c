import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  attributeSpanV1,
  challengeSpanV1,
  ProofError,
  type SpanChunk,
  SpanIndex,
  verifySpanV1,
} from "../src/index.ts";
import { makeSnapshot } from "./snapshot.ts";

const chunks: SpanChunk[] = [
  { contributionId: 1n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
  { contributionId: 1n, chunkIndex: 1, text: "They can taste with the suckers on their arms." },
  {
    contributionId: 2n,
    chunkIndex: 0,
    text: "Honeybees communicate flower locations through a waggle dance.",
  },
  { contributionId: 3n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
  { contributionId: 4n, chunkIndex: 0, text: "Saturn's rings are made mostly of water ice particles." },
];
const output =
  "Fun facts: octopuses have three hearts and blue copper-based blood, and honeybees communicate flower locations through dancing.";
const snap = makeSnapshot(chunks);
const other = makeSnapshot([
  { contributionId: 9n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
]);
const byId = (cid: bigint, idx = 0) =>
  snap.proven.find((c) => c.contributionId === cid && c.chunkIndex === idx)!;

describe("verifySpanV1", () => {
  const committed = attributeSpanV1(output, [SpanIndex.build(chunks, snap.root)]);

  test("the witness chunks with proofs reproduce the committed result", () => {
    assert.deepEqual(
      committed.credits.map((c) => c.contributionId),
      [1n, 2n],
    );
    const witnesses = committed.witnesses.map((w) => byId(w.contributionId, w.chunkIndex));
    assert.equal(verifySpanV1(output, witnesses, [snap.root]).commitment, committed.commitment);
  });

  test("a forged proof is rejected", () => {
    const forged = { ...byId(1n), text: "Octopuses have three hearts and green blood." };
    assert.throws(() => verifySpanV1(output, [forged], [snap.root]), ProofError);
    const badPath = { ...byId(2n), proof: [...byId(2n).proof].reverse() };
    assert.throws(() => verifySpanV1(output, [byId(1n), badPath], [snap.root]), /forged or wrong proof/);
    const wrongId = { ...byId(1n), contributionId: 5n };
    assert.throws(() => verifySpanV1(output, [wrongId], [snap.root]), /forged or wrong proof/);
  });

  test("a chunk from another snapshot is rejected", () => {
    assert.throws(
      () => verifySpanV1(output, [byId(1n), other.proven[0]], [snap.root]),
      /not one of the snapshots/,
    );
  });

  test("malformed proofs and roots are rejected", () => {
    assert.throws(() => verifySpanV1(output, [{ ...byId(1n), proof: ["0x1234"] }], [snap.root]), /bytes32/);
    assert.throws(() => verifySpanV1(output, [byId(1n)], ["0xabc" as `0x${string}`]), /snapshot roots/);
  });
});

describe("challengeSpanV1", () => {
  const honest = attributeSpanV1(output, [SpanIndex.build(chunks, snap.root)]);
  const witnesses = honest.witnesses.map((w) => byId(w.contributionId, w.chunkIndex));

  test("adding an omitted chunk wins: a settlement that paid the later copy is overturned", () => {
    const settled = [byId(3n), byId(2n)]; // the copy (3) instead of the original (1)
    const dishonest = verifySpanV1(output, settled, [snap.root]);
    assert.deepEqual(
      dishonest.credits.map((c) => c.contributionId),
      [2n, 3n],
    );
    const outcome = challengeSpanV1(output, settled, [byId(1n)], [snap.root], dishonest.commitment);
    assert.equal(outcome.succeeds, true);
    assert.equal(outcome.recomputed.commitment, honest.commitment);
  });

  test("adding a chunk that was left out entirely wins", () => {
    const settled = [byId(1n)];
    const dishonest = verifySpanV1(output, settled, [snap.root]);
    assert.equal(
      challengeSpanV1(output, settled, [byId(2n)], [snap.root], dishonest.commitment).succeeds,
      true,
    );
  });

  test("adding irrelevant or already-credited chunks loses", () => {
    for (const added of [[byId(4n)], [byId(1n, 1)], [byId(3n)], snap.proven]) {
      assert.equal(challengeSpanV1(output, witnesses, added, [snap.root], honest.commitment).succeeds, false);
    }
  });

  test("a challenger cannot use chunks from another snapshot", () => {
    assert.throws(
      () => challengeSpanV1(output, witnesses, other.proven, [snap.root], honest.commitment),
      ProofError,
    );
  });
});
