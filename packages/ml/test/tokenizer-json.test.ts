// Malformed tokenizer.json files raise FormatError naming the field, never a TypeError from deep inside.
import assert from "node:assert/strict";
import { test } from "node:test";
import { mulberry32 } from "@openledger/common";
import { FormatError, UnsupportedModelError } from "../src/formats/errors.ts";
import { vocabToHfTokenizer } from "../src/tokenizer/hf-tokenizer.ts";
import { tokenizerFromHfJson } from "../src/tokenizer/index.ts";
import { trainBpe } from "../src/tokenizer/train-bpe.ts";

const vocab = trainBpe(["the sweet apple of a tree", "a river flows to the sea", "<|endoftext|>"], {
  vocabSize: 300,
  minFrequency: 1,
});
type Tree = { [key: string]: unknown } | unknown[];
const good = (): Tree =>
  JSON.parse(
    JSON.stringify(
      vocabToHfTokenizer({ ...vocab, pre: "llama-bpe", addBos: true, bosId: vocab.tokens.length - 1 }),
    ),
  );

/** A copy of the valid file with the value at `path` replaced (undefined: removed). */
function damaged(path: (string | number)[], value: unknown): Tree {
  const json = good();
  let node = json as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[path[path.length - 1]] = value;
  return json;
}

test("a valid tokenizer.json loads", () => {
  assert.ok(tokenizerFromHfJson(JSON.stringify(good())).encode("the apple").length > 0);
});

const cases: [string, unknown, RegExp][] = [
  ["text that is not JSON", "{not json", /not valid JSON/],
  ["a JSON array", [], /the file must be an object/],
  ["no model", damaged(["model"], undefined), /model must be an object, got missing/],
  ["a string token id", damaged(["model", "vocab", "the"], "7"), /model\.vocab\["the"\] must be a token id/],
  ["a negative token id", damaged(["model", "vocab", "the"], -1), /must be a token id/],
  ["merges not an array", damaged(["model", "merges"], "a b"), /model\.merges must be an array/],
  ["a three-part merge", damaged(["model", "merges", 0], "a b c"), /model\.merges\[0\] .* is not a pair/],
  [
    "a numeric added token",
    damaged(["added_tokens", 0, "content"], 5),
    /added_tokens\[0\]\.content must be a string/,
  ],
  ["added_tokens an object", damaged(["added_tokens"], {}), /added_tokens must be an array/],
  [
    "a Split regex that is a number",
    damaged(["pre_tokenizer", "pretokenizers", 0, "pattern", "Regex"], 3),
    /pattern\.Regex must be a string/,
  ],
  [
    "a Sequence without steps",
    damaged(["pre_tokenizer", "pretokenizers"], undefined),
    /pre_tokenizer\.normalizers must be an array/,
  ],
  [
    "use_regex as a string",
    damaged(["pre_tokenizer", "pretokenizers", 1, "use_regex"], "no"),
    /use_regex must be true or false/,
  ],
  [
    "byte_fallback as a number",
    damaged(["model", "byte_fallback"], 1),
    /model\.byte_fallback must be true or false/,
  ],
  [
    "a template special token id that is a number",
    damaged(["post_processor", "single", 0, "SpecialToken", "id"], 1),
    /SpecialToken\.id must be a string/,
  ],
];

for (const [what, input, message] of cases) {
  test(`FormatError for ${what}`, () => {
    assert.throws(
      () => tokenizerFromHfJson(input as Record<string, unknown>),
      (err: Error) => err instanceof FormatError && message.test(err.message),
    );
  });
}

test("random type damage to any field gives FormatError or UnsupportedModelError only", () => {
  const rand = mulberry32(5);
  const junk = [null, 7, -1, "x", [], {}, true, [1, 2, 3], { Regex: 1 }];
  for (let round = 0; round < 300; round++) {
    const json = good();
    // walk to a random field (skipping the big vocab/merges tables most of the time) and replace it
    let node = json as Record<string | number, unknown>;
    let key: string | number = "model";
    for (let depth = 0; depth < 4; depth++) {
      const keys = Array.isArray(node) ? node.map((_, i) => i) : Object.keys(node);
      if (keys.length === 0) break;
      key = keys[Math.floor(rand() * keys.length)];
      const next = node[key];
      if (typeof next !== "object" || next === null || rand() < 0.3) break;
      node = next as Record<string | number, unknown>;
    }
    node[key] = junk[Math.floor(rand() * junk.length)];
    try {
      tokenizerFromHfJson(json as Record<string, unknown>);
    } catch (err) {
      assert.ok(
        err instanceof FormatError || err instanceof UnsupportedModelError,
        `round ${round}: ${(err as Error).name}: ${(err as Error).message}`,
      );
    }
  }
});
