import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, test } from "node:test";
import fc from "fast-check";
import { encodeAbiParameters, type Hex, hexToBytes, toHex } from "viem";
import {
  computeSpanV1,
  decodeSpanV1PrecompileOutput,
  encodeSpanV1PrecompileInput,
  PrecompileError,
  SPAN_V1_PRECOMPILE_INPUT,
  spanV1Precompile,
  spanV2Precompile,
} from "../src/index.ts";
import {
  buildSpanV2Vectors,
  SPAN_V2_SOLIDITY_TEST,
  SPAN_V2_VECTORS_FILE,
  type SpanV2Vector,
  withSpanV2Section,
} from "./vectors/spanV2Vectors.ts";
import {
  buildVectors,
  SOLIDITY_LIBRARY,
  SOLIDITY_TEST,
  VECTORS_FILE,
  type Vector,
  withCostTable,
  withGeneratedSection,
} from "./vectors/vectors.ts";

const stored: Vector[] = JSON.parse(readFileSync(VECTORS_FILE, "utf8")).vectors;

function input(v: Vector | SpanV2Vector): Uint8Array {
  return encodeSpanV1PrecompileInput(
    hexToBytes(v.output),
    v.roots,
    v.chunks.map((c) => ({
      contributionId: BigInt(c.contributionId),
      chunkIndex: c.chunkIndex,
      text: hexToBytes(c.text),
    })),
  );
}

describe("shared span-v1 vectors", () => {
  test("the committed vector file is what the library computes", () => {
    assert.deepEqual(stored, buildVectors());
    assert.ok(stored.length >= 20);
    assert.ok(stored.filter((v) => v.contributionIds.length > 0).length >= 10);
  });

  test("the Solidity library's cost table and the forge test's vectors are generated from the library", () => {
    const library = readFileSync(SOLIDITY_LIBRARY, "utf8");
    assert.equal(
      library,
      withCostTable(library),
      "run: node --import tsx packages/attribution/test/vectors/vectors.ts",
    );
    const forgeTest = readFileSync(SOLIDITY_TEST, "utf8");
    assert.equal(forgeTest, withGeneratedSection(forgeTest, stored));
  });

  test("the precompile returns the library's commitment and shares on every vector", () => {
    for (const v of stored) {
      const out = decodeSpanV1PrecompileOutput(spanV1Precompile.run(input(v)));
      assert.equal(out.commitment, v.commitment, v.name);
      assert.deepEqual(out.contributionIds.map(String), v.contributionIds, v.name);
      assert.deepEqual(out.shares.map(Number), v.shares, v.name);
    }
  });

  test("gas is deterministic and grows with the work", () => {
    const small = spanV1Precompile.gas(input(stored[0]));
    assert.equal(small, spanV1Precompile.gas(input(stored[0])));
    const v = stored[0];
    const bigger = {
      ...v,
      chunks: [...v.chunks, { contributionId: "99", chunkIndex: 0, text: toHex("word ".repeat(300)) as Hex }],
    };
    assert.ok(spanV1Precompile.gas(input(bigger)) > small);
    assert.equal(spanV1Precompile.address, "0x0000000000000000000000000000000000000801");
  });
});

describe("shared span-v2 vectors", () => {
  const storedV2: SpanV2Vector[] = JSON.parse(readFileSync(SPAN_V2_VECTORS_FILE, "utf8")).vectors;

  test("the committed span-v2 vector file and the forge test's vectors are what the library computes", () => {
    assert.deepEqual(storedV2, buildSpanV2Vectors());
    assert.ok(storedV2.filter((v) => v.contributionIds.length > 0).length >= 10);
    const forgeTest = readFileSync(SPAN_V2_SOLIDITY_TEST, "utf8");
    assert.equal(
      forgeTest,
      withSpanV2Section(forgeTest, storedV2),
      "run: node --import tsx packages/attribution/test/vectors/spanV2Vectors.ts",
    );
  });

  test("the span-v2 precompile returns the library's commitment and shares on every vector", () => {
    assert.equal(spanV2Precompile.address, "0x0000000000000000000000000000000000000802");
    for (const v of storedV2) {
      const out = decodeSpanV1PrecompileOutput(spanV2Precompile.run(input(v)));
      assert.equal(out.commitment, v.commitment, v.name);
      assert.deepEqual(out.contributionIds.map(String), v.contributionIds, v.name);
      assert.deepEqual(out.shares.map(Number), v.shares, v.name);
    }
  });

  test("the span-v2 precompile rejects malformed input with a span-v2 error", () => {
    assert.throws(
      () => spanV2Precompile.run(new Uint8Array([1, 2, 3])),
      (e: unknown) => {
        return e instanceof PrecompileError && e.message.startsWith("span-v2: input is not abi.encode");
      },
    );
    assert.equal(spanV2Precompile.gas(new Uint8Array(10)), 20_000n + 120n);
  });
});

describe("span-v1 precompile on random inputs", () => {
  test("decoding the ABI input and encoding the output preserve the library's result (seeded)", () => {
    const words = ["the", "of", "zeta", "kappa", "Ωmega", "naïve", "sigma", "tau"];
    fc.assert(
      fc.property(
        fc.array(fc.array(fc.integer({ min: 0, max: words.length - 1 }), { maxLength: 30 }), {
          minLength: 1,
          maxLength: 5,
        }),
        fc.array(fc.integer({ min: 0, max: words.length - 1 }), { maxLength: 60 }),
        (chunkWords, outWords) => {
          const chunks = chunkWords.map((ws, k) => ({
            contributionId: BigInt(1 + (k % 3)),
            chunkIndex: k,
            text: ws.map((w) => words[w]).join(" "),
          }));
          const output = outWords.map((w) => words[w]).join(", ");
          const roots = [`0x${"cd".repeat(32)}` as Hex];
          const lib = computeSpanV1(output, chunks, roots);
          const out = decodeSpanV1PrecompileOutput(
            spanV1Precompile.run(encodeSpanV1PrecompileInput(output, roots, chunks)),
          );
          assert.equal(out.commitment, lib.commitment);
          assert.deepEqual(
            out.shares.map(Number),
            lib.credits.map((c) => c.share),
          );
        },
      ),
      { seed: 31337, numRuns: 200 },
    );
  });
});

describe("span-v1 precompile hostile input", () => {
  test("garbage input reverts with a clear message and gas still prices it", () => {
    const garbage = Uint8Array.from([1, 2, 3]);
    assert.throws(() => spanV1Precompile.run(garbage), PrecompileError);
    assert.throws(() => spanV1Precompile.run(garbage), /input is not abi.encode/);
    assert.equal(spanV1Precompile.gas(garbage), 20_036n);
  });
  test("invalid UTF-8, non-NFC text and oversized outputs revert", () => {
    const enc = (output: Hex, text: Hex) =>
      hexToBytes(
        encodeAbiParameters(SPAN_V1_PRECOMPILE_INPUT, [
          output,
          [],
          [{ contributionId: 1n, chunkIndex: 0, text }],
        ]),
      );
    assert.throws(() => spanV1Precompile.run(enc("0xff61", "0x61")), /not valid UTF-8/);
    assert.throws(
      () => spanV1Precompile.run(enc(toHex("cafe\u0301"), "0x61")),
      /output is not in Unicode NFC/,
    );
    assert.throws(() => spanV1Precompile.run(enc("0x61", toHex("e\u0301"))), /chunk 0 is not in Unicode NFC/);
    assert.throws(() => spanV1Precompile.run(enc(toHex("x".repeat(40_000)), "0x61")), /at most 32768/);
  });
  test("too many chunks revert", () => {
    const chunks = Array.from({ length: 257 }, (_, k) => ({
      contributionId: BigInt(k + 1),
      chunkIndex: 0,
      text: "0x61" as Hex,
    }));
    const data = hexToBytes(encodeAbiParameters(SPAN_V1_PRECOMPILE_INPUT, ["0x61", [], chunks]));
    assert.throws(() => spanV1Precompile.run(data), /257 chunks/);
  });
});
