import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mulberry32 } from "@openledger/common";
import type { Hex } from "viem";
import {
  attributeSpanV2,
  computeSpanV1,
  computeSpanV2,
  type SpanChunk,
  SpanIndex,
  spanV2Reference,
} from "../src/index.ts";

const ROOT_A = `0x${"aa".repeat(32)}` as Hex;
const ROOT_B = `0x${"0b".repeat(32)}` as Hex;

const GLOSS = "a small burrowing marsupial with coarse brown fur and stubby legs";
const credits = (r: { credits: { contributionId: bigint; share: number }[] }) =>
  r.credits.map((c) => [c.contributionId, c.share]);

describe("span-v2: credit follows the words first contributed", () => {
  test("a copy extended by one word on each side earns nothing (span-v1 paid it everything)", () => {
    const chunks: SpanChunk[] = [
      { contributionId: 1n, chunkIndex: 0, text: `${GLOSS}.` },
      { contributionId: 9n, chunkIndex: 0, text: `and ${GLOSS}, while` },
    ];
    const output = `The wombat, and ${GLOSS}, while it digs.`;
    assert.deepEqual(credits(computeSpanV1(output, chunks, [ROOT_A])), [[9n, 1_000_000]]);
    const r = computeSpanV2(output, chunks, [ROOT_A]);
    assert.deepEqual(credits(r), [[1n, 1_000_000]]);
    assert.deepEqual(
      r.spans.map((s) => [s.wordStart, s.wordEnd, s.contributionId, s.chunkIndex, s.chunkWordOffset]),
      [[3, 14, 1n, 0, 0]],
    );
    // The copy's chunk is a witness: it is the first source of "and" and "while" (segments that earn nothing).
    assert.deepEqual(
      r.witnesses.map((w) => w.contributionId),
      [1n, 9n],
    );
  });

  test("a later contribution keeps the rare run it added; the shared part stays with the first", () => {
    const chunks: SpanChunk[] = [
      { contributionId: 3n, chunkIndex: 0, text: "alpha beta gamma delta epsilon" },
      { contributionId: 4n, chunkIndex: 0, text: "gamma delta epsilon zeta eta theta iota" },
    ];
    const r = computeSpanV2("Alpha beta gamma delta epsilon zeta eta theta iota", chunks, [ROOT_A]);
    assert.deepEqual(
      r.spans.map((s) => [s.wordStart, s.wordEnd, s.contributionId, s.weight]),
      [
        [0, 5, 3n, 60],
        [5, 9, 4n, 48],
      ],
    );
  });

  test("a common phrase earns nothing; an empty output has no credits", () => {
    const chunks: SpanChunk[] = [
      { contributionId: 7n, chunkIndex: 0, text: "It is one of the most important things in life." },
    ];
    assert.deepEqual(
      computeSpanV2("That was one of the most important things.", chunks, [ROOT_A]).credits,
      [],
    );
    assert.deepEqual(computeSpanV2("", chunks, [ROOT_A]).credits, []);
  });

  test("span-v2 commits under its own tag: same credits as span-v1, different commitment", () => {
    const chunks: SpanChunk[] = [{ contributionId: 1n, chunkIndex: 0, text: GLOSS }];
    const v1 = computeSpanV1(GLOSS, chunks, [ROOT_A]);
    const v2 = computeSpanV2(GLOSS, chunks, [ROOT_A]);
    assert.deepEqual(credits(v1), credits(v2));
    assert.notEqual(v1.commitment, v2.commitment);
    assert.equal(v2.algorithm, "span-v2");
  });
});

const VOCAB = ["the", "of", "and", "zeta", "kappa", "omicron", "sigma", "tau", "upsilon", "phi", "Ωmega"];

function randomCase(seed: number) {
  const rnd = mulberry32(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const chunkWords: string[][] = [];
  const chunks: SpanChunk[] = [];
  for (let c = 0, n = 1 + int(6); c < n; c++) {
    const ws = Array.from({ length: int(40) }, () => VOCAB[int(VOCAB.length)]);
    chunkWords.push(ws);
    chunks.push({
      contributionId: BigInt(1 + int(5)),
      chunkIndex: c,
      text: ws.join(rnd() < 0.5 ? " " : ", "),
    });
  }
  const out: string[] = [];
  for (let p = int(6); p > 0; p--) {
    const src = chunkWords[int(chunkWords.length)];
    const from = int(src.length + 1);
    out.push(...src.slice(from, from + 1 + int(14)));
    for (let k = int(3); k > 0; k--) out.push(VOCAB[int(VOCAB.length)]);
  }
  return { output: out.join(" "), chunks };
}

describe("span-v2 index = brute force", () => {
  test("300 seeded random cases, one index and the same chunks split over two indexes", () => {
    for (let seed = 1; seed <= 300; seed++) {
      const { output, chunks } = randomCase(seed);
      const expected = spanV2Reference(output, chunks, [ROOT_A, ROOT_B]);
      const whole = attributeSpanV2(output, [SpanIndex.build(chunks, ROOT_A), SpanIndex.build([], ROOT_B)]);
      assert.deepEqual(whole, expected, `seed ${seed}`);
      const split = attributeSpanV2(output, [
        SpanIndex.build(
          chunks.filter((_, k) => k % 2 === 0),
          ROOT_A,
        ),
        SpanIndex.build(
          chunks.filter((_, k) => k % 2 === 1),
          ROOT_B,
        ),
      ]);
      assert.equal(split.commitment, expected.commitment, `seed ${seed} (split)`);
    }
  });

  test("recomputing over the witnesses alone gives the same commitment", () => {
    for (let seed = 301; seed <= 400; seed++) {
      const { output, chunks } = randomCase(seed);
      const full = computeSpanV2(output, chunks, [ROOT_A]);
      const key = (c: { contributionId: bigint; chunkIndex: number }) =>
        `${c.contributionId}:${c.chunkIndex}`;
      const wanted = new Set(full.witnesses.map(key));
      const witnessChunks = chunks.filter((c) => wanted.has(key(c)));
      assert.equal(
        computeSpanV2(output, witnessChunks, [ROOT_A]).commitment,
        full.commitment,
        `seed ${seed}`,
      );
    }
  });
});
