import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import type { Hex } from "viem";
import {
  attributeSpanV1,
  computeSpanV1,
  IndexFormatError,
  InvalidChunkError,
  InvalidTextError,
  OutputTooLargeError,
  type SpanChunk,
  SpanIndex,
  spanV1Reference,
  splitWords,
  wordCost,
} from "../src/index.ts";
import { sectionLayout } from "../src/indexFile.ts";

const ROOT_A = `0x${"aa".repeat(32)}` as Hex;
const ROOT_B = `0x${"0b".repeat(32)}` as Hex;
const utf8 = new TextEncoder();
const words = (text: string) =>
  splitWords(utf8.encode(text.normalize("NFC"))).words.map((w) => new TextDecoder().decode(w));

describe("span-v1 words", () => {
  test("ASCII case folding, punctuation and Unicode separators split words; other Unicode joins them", () => {
    assert.deepEqual(words("Hello, WORLD! it’s café—naïve “quoted” x×y 3.14"), [
      "hello",
      "world",
      "it",
      "s",
      "café",
      "naïve",
      "quoted",
      "x",
      "y",
      "3",
      "14",
    ]);
    assert.deepEqual(words("ÉCOLE Straße"), ["École", "straße"]);
  });
  test("NFC: decomposed and composed forms give the same words", () => {
    assert.deepEqual(words("cafe\u0301"), words("caf\u00e9"));
  });
  test("costs come from the fixed table, other words cost 12", () => {
    const cost = (w: string) => wordCost(utf8.encode(w));
    assert.deepEqual(["the", "is", "over", "important", "zebras"].map(cost), [4, 5, 6, 8, 12]);
  });
});

describe("span-v1 hand-computed vectors", () => {
  test("earliest contribution is credited, a later copy earns nothing, shares by largest remainder", () => {
    const chunks: SpanChunk[] = [
      { contributionId: 2n, chunkIndex: 0, text: "Copy: zebras graze quietly near the river." },
      { contributionId: 1n, chunkIndex: 0, text: "Zebras graze quietly near the river." },
      { contributionId: 5n, chunkIndex: 3, text: "Kangaroos jump over fences at dawn." },
    ];
    const output = "Zebras graze quietly near the river; kangaroos jump over fences!";
    const r = computeSpanV1(output, chunks, [ROOT_A]);
    // zebras graze quietly near the river = 12+12+12+12+4+12 = 64; kangaroos jump over fences = 12+12+6+12 = 42
    assert.deepEqual(
      r.spans.map((s) => [
        s.wordStart,
        s.wordEnd,
        s.contributionId,
        s.chunkIndex,
        s.chunkWordOffset,
        s.weight,
      ]),
      [
        [0, 6, 1n, 0, 0, 64],
        [6, 10, 5n, 3, 0, 42],
      ],
    );
    // 64e6/106 = 603773 r 62, 42e6/106 = 396226 r 44: the one unit left goes to the larger remainder.
    assert.deepEqual(
      r.credits.map((c) => [c.contributionId, c.weight, c.share]),
      [
        [1n, 64, 603774],
        [5n, 42, 396226],
      ],
    );
    assert.equal(output.slice(r.spans[1].byteStart, r.spans[1].byteEnd), "kangaroos jump over fences");
    assert.deepEqual(r.witnesses, [
      { contributionId: 1n, chunkIndex: 0 },
      { contributionId: 5n, chunkIndex: 3 },
    ]);
    assert.deepEqual(r.roots, [ROOT_A]);
  });

  test("a common phrase earns nothing: no credits at all", () => {
    const chunks = [
      { contributionId: 7n, chunkIndex: 0, text: "It is one of the most important things in life." },
    ];
    // one of the most important things = 5+4+4+6+8+8 = 35 < 40
    const r = computeSpanV1("That was one of the most important things.", chunks, []);
    assert.deepEqual(r.credits, []);
    assert.deepEqual(r.spans, []);
    assert.deepEqual(r.witnesses, []);
  });

  test("overlapping maximal spans: overlap is paid once, to the earlier span", () => {
    const chunks = [
      { contributionId: 3n, chunkIndex: 0, text: "alpha beta gamma delta epsilon" },
      { contributionId: 4n, chunkIndex: 0, text: "gamma delta epsilon zeta eta theta" },
    ];
    const r = computeSpanV1("Alpha beta gamma delta epsilon zeta eta theta", chunks, []);
    assert.deepEqual(
      r.spans.map((s) => [s.wordStart, s.wordEnd, s.contributionId, s.weight]),
      [
        [0, 5, 3n, 60],
        [2, 8, 4n, 36],
      ],
    );
    assert.deepEqual(
      r.credits.map((c) => c.share),
      [625000, 375000],
    );
  });

  test("three words are below the minimum span length", () => {
    const r = computeSpanV1(
      "xylophones zeppelins quasars",
      [{ contributionId: 1n, chunkIndex: 0, text: "Xylophones, zeppelins, quasars!" }],
      [],
    );
    assert.equal(r.spans.length, 0);
  });
});

const VOCAB = ["the", "of", "and", "zeta", "kappa", "omicron", "sigma", "tau", "upsilon", "phi"];
const SEPARATORS = [" ", ", ", "\n", " — ", ". "];

function renderWords(ws: string[], seps: number[], upper: boolean[]): string {
  return ws
    .map((w, k) => (upper[k] ? w.toUpperCase() : w) + SEPARATORS[seps[k] % SEPARATORS.length])
    .join("");
}

const arbCase = fc
  .record({
    chunks: fc.array(
      fc.record({
        contributionId: fc.integer({ min: 1, max: 6 }),
        chunkIndex: fc.integer({ min: 0, max: 2 }),
        words: fc.array(fc.integer({ min: 0, max: VOCAB.length - 1 }), { maxLength: 40 }),
      }),
      { minLength: 1, maxLength: 7 },
    ),
    pieces: fc.array(
      fc.record({
        chunk: fc.nat(),
        from: fc.nat(),
        length: fc.integer({ min: 1, max: 12 }),
        noise: fc.array(fc.integer({ min: 0, max: VOCAB.length - 1 }), { maxLength: 3 }),
      }),
      { maxLength: 6 },
    ),
    seps: fc.array(fc.nat(), { minLength: 200, maxLength: 200 }),
    upper: fc.array(fc.boolean(), { minLength: 200, maxLength: 200 }),
  })
  .map(({ chunks, pieces, seps, upper }) => {
    const seen = new Set<string>();
    const unique = chunks.filter((c) => {
      const key = `${c.contributionId}:${c.chunkIndex}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    const spanChunks: SpanChunk[] = unique.map((c) => ({
      contributionId: BigInt(c.contributionId),
      chunkIndex: c.chunkIndex,
      text: renderWords(
        c.words.map((w) => VOCAB[w]),
        seps,
        upper,
      ),
    }));
    const out: string[] = [];
    for (const p of pieces) {
      const src = unique[p.chunk % unique.length].words;
      const from = src.length ? p.from % src.length : 0;
      out.push(...src.slice(from, from + p.length).map((w) => VOCAB[w]), ...p.noise.map((w) => VOCAB[w]));
    }
    return { chunks: spanChunks, output: renderWords(out, seps.slice(7), upper.slice(3)) };
  });

describe("span-v1 indexed equals the brute-force reference", () => {
  test("random corpora with planted copies (seeded)", () => {
    let credited = 0;
    fc.assert(
      fc.property(arbCase, ({ chunks, output }) => {
        const fast = computeSpanV1(output, chunks, [ROOT_A]);
        const slow = spanV1Reference(output, chunks, [ROOT_A]);
        assert.deepEqual(fast, slow);
        if (fast.credits.length) credited++;
        const shareSum = fast.credits.reduce((a, c) => a + c.share, 0);
        assert.ok(shareSum === 0 || shareSum === 1_000_000);
      }),
      { seed: 20261127, numRuns: 300 },
    );
    assert.ok(credited > 50, `only ${credited} random cases credited anything`);
  });

  test("chunks split over several persisted snapshots give the union's spans and credits", () => {
    fc.assert(
      fc.property(
        arbCase,
        fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
        ({ chunks, output }, side) => {
          const a = chunks.filter((_, k) => side[k]);
          const b = chunks.filter((_, k) => !side[k]);
          const indexes = [SpanIndex.build(a, ROOT_A), SpanIndex.build(b, ROOT_B)].map((x) =>
            SpanIndex.load(x.toBuffer()),
          );
          const together = attributeSpanV1(output, indexes);
          const reference = spanV1Reference(output, chunks, [ROOT_B, ROOT_A]);
          assert.deepEqual(together, reference);
        },
      ),
      { seed: 7, numRuns: 150 },
    );
  });
});

describe("span-v1 determinism and the index file", () => {
  const chunks: SpanChunk[] = [
    { contributionId: 9n, chunkIndex: 1, text: "Glaciers carve fjords slowly over millennia." },
    {
      contributionId: 4n,
      chunkIndex: 0,
      text: "Volcanic islands emerge from hotspots beneath oceanic plates.",
    },
  ];
  const output = "Volcanic islands emerge from hotspots, and glaciers carve fjords slowly.";

  test("rebuilding gives a byte-identical file and an identical result", () => {
    const one = SpanIndex.build(chunks, ROOT_A).toBuffer();
    const two = SpanIndex.build([...chunks].reverse(), ROOT_A).toBuffer();
    assert.deepEqual(one, two);
    const r1 = attributeSpanV1(output, [SpanIndex.load(one)]);
    const r2 = attributeSpanV1(utf8.encode(output), [SpanIndex.load(two.slice())]);
    assert.deepEqual(r1, r2);
    assert.equal(r1.credits.length, 2);
  });

  test("loads from an unaligned buffer", () => {
    const file = SpanIndex.build(chunks, ROOT_A).toBuffer();
    const padded = new Uint8Array(file.length + 3);
    padded.set(file, 3);
    const idx = SpanIndex.load(padded.subarray(3));
    assert.equal(idx.root, ROOT_A);
    assert.equal(
      attributeSpanV1(output, [idx]).commitment,
      computeSpanV1(output, chunks, [ROOT_A]).commitment,
    );
  });

  test("rejects truncated, foreign and future-version files", () => {
    const file = SpanIndex.build(chunks, ROOT_A).toBuffer();
    assert.throws(() => SpanIndex.load(file.subarray(0, file.length - 1)), IndexFormatError);
    assert.throws(
      () => SpanIndex.load(utf8.encode("not an index at all, just some text here".padEnd(100, "."))),
      /bad magic/,
    );
    const future = file.slice();
    future[8] = 4;
    assert.throws(() => SpanIndex.load(future), /version 4/);
    const idx = SpanIndex.load(file);
    // Point one suffix-array entry past the last position.
    const view = new DataView(file.buffer, file.byteOffset);
    const layout = sectionLayout({
      chunks: idx.chunkCount,
      words: idx.wordCount,
      vocabSize: idx.vocabularySize,
      vocabBytes: view.getUint32(56, true),
    });
    const corrupt = file.slice();
    new DataView(corrupt.buffer).setUint32(layout.suffixes + 4, idx.wordCount + idx.chunkCount, true);
    assert.throws(() => SpanIndex.load(corrupt), /corrupt index \(suffix array\)/);
  });
});

describe("span-v1 hostile input", () => {
  const chunks = [{ contributionId: 1n, chunkIndex: 0, text: "some text" }];
  test("invalid UTF-8 and lone surrogates are rejected", () => {
    assert.throws(() => computeSpanV1(Uint8Array.from([0x61, 0xff, 0x62]), chunks, []), InvalidTextError);
    assert.throws(() => computeSpanV1(Uint8Array.from([0xc0, 0x80]), chunks, []), /not valid UTF-8/);
    assert.throws(() => computeSpanV1("a\ud800b", chunks, []), /lone UTF-16 surrogate/);
    assert.throws(
      () =>
        computeSpanV1(
          "ok",
          [{ contributionId: 1n, chunkIndex: 0, text: Uint8Array.from([0xed, 0xa0, 0x80]) }],
          [],
        ),
      /chunk 0 .* not valid UTF-8/,
    );
  });
  test("oversized outputs are rejected", () => {
    assert.throws(() => computeSpanV1("x".repeat(32_769), chunks, []), OutputTooLargeError);
    assert.throws(() => computeSpanV1("a ".repeat(4_097), chunks, []), /4097 words/);
  });
  test("malformed and conflicting chunks are rejected", () => {
    assert.throws(
      () => computeSpanV1("x", [{ contributionId: 0n, chunkIndex: 0, text: "a" }], []),
      InvalidChunkError,
    );
    assert.throws(
      () => computeSpanV1("x", [{ contributionId: 1n, chunkIndex: -1, text: "a" }], []),
      /chunkIndex/,
    );
    assert.throws(
      () =>
        computeSpanV1(
          "x",
          [
            { contributionId: 1n, chunkIndex: 0, text: "a" },
            { contributionId: 1n, chunkIndex: 0, text: "b" },
          ],
          [],
        ),
      /given twice with different text/,
    );
  });
});
