import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { FormatError, UnsupportedModelError } from "../src/formats/errors.ts";
import { GgufFile } from "../src/formats/gguf-read.ts";
import { gguf } from "../src/formats/gguf-values.ts";
import { encodeGguf } from "../src/formats/gguf-write.ts";
import { ggufSpmVocabMetadata, ggufVocabMetadata } from "../src/formats/llama-gguf.ts";
import { BpeTokenizer } from "../src/tokenizer/bpe-tokenizer.ts";
import { BYTE_TO_CHAR, toByteLevel } from "../src/tokenizer/byte-level.ts";
import { vocabToHfTokenizer } from "../src/tokenizer/hf-tokenizer.ts";
import { tokenizerFromGguf, tokenizerFromHfJson } from "../src/tokenizer/index.ts";
import { preTokenizerRegexes, splitWords } from "../src/tokenizer/pretokenize.ts";
import { SpmTokenizer } from "../src/tokenizer/spm-tokenizer.ts";
import { trainBpe } from "../src/tokenizer/train-bpe.ts";
import { type BpeVocab, type SpmVocab, TokenType } from "../src/tokenizer/vocab.ts";
import { seeded } from "./formats-util.ts";

const isUtf8Clean = (s: string) => new TextDecoder().decode(new TextEncoder().encode(s)) === s;

function syntheticCorpus(lines: number, seed: number): string[] {
  const r = seeded(seed);
  const words = [
    "apple",
    "fruit",
    "tree",
    "red",
    "the",
    "of",
    "a",
    "round",
    "sweet",
    "noun",
    "verb",
    "to",
    "eat",
  ];
  return Array.from({ length: lines }, () => {
    const n = 3 + Math.floor(r() * 8);
    const ws = Array.from({ length: n }, () => words[Math.floor(r() * words.length)]);
    return `${ws.join(" ")}; ${Math.floor(r() * 1000)}.\n`;
  });
}

const trained = trainBpe(syntheticCorpus(400, 1), {
  vocabSize: 300,
  specialTokens: ["<|endoftext|>", "<|pad|>"],
});

describe("byte level alphabet and pre-tokenisation", () => {
  test("GPT-2 byte characters", () => {
    assert.equal(BYTE_TO_CHAR[0x20], "Ġ");
    assert.equal(BYTE_TO_CHAR[0x0a], "Ċ");
    assert.equal(BYTE_TO_CHAR[0x61], "a");
    assert.equal(BYTE_TO_CHAR[0xad], "Ń");
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    assert.equal(toByteLevel(" é"), "ĠÃ©");
  });

  test("GPT-2 and Llama 3 regexes split like the reference tokenizers", () => {
    assert.deepEqual(splitWords("Hello world's  test 123!!\n", preTokenizerRegexes("gpt-2")), [
      "Hello",
      " world",
      "'s",
      " ",
      " test",
      " 123",
      "!!",
      "\n",
    ]);
    assert.deepEqual(splitWords("I'LL pay 12345 now\n\n", preTokenizerRegexes("llama-bpe")), [
      "I",
      "'LL",
      " pay",
      " ",
      "123",
      "45",
      " now",
      "\n\n",
    ]);
    assert.deepEqual(splitWords("abc 2024!", preTokenizerRegexes("smollm")), [
      "abc",
      " ",
      "2",
      "0",
      "2",
      "4",
      "!",
    ]);
    assert.deepEqual(splitWords("x=12345;", preTokenizerRegexes("default")), ["x", "=", "123", "45", ";"]);
    assert.throws(() => preTokenizerRegexes("mystery"), UnsupportedModelError);
  });
});

describe("BPE encode/decode", () => {
  const hand: BpeVocab = {
    tokens: [...BYTE_TO_CHAR, "he", "ll", "hell", "hello", "Ġw", "<eos>"],
    merges: [
      ["h", "e"],
      ["l", "l"],
      ["he", "ll"],
      ["hell", "o"],
      ["Ġ", "w"],
    ],
    tokenTypes: [...BYTE_TO_CHAR.map(() => TokenType.NORMAL), 1, 1, 1, 1, 1, TokenType.CONTROL],
    pre: "gpt-2",
    eosId: 261,
    bosId: 261,
    addBos: false,
  };
  const tok = new BpeTokenizer(hand);

  test("hand vector", () => {
    assert.deepEqual(tok.encode("hello world<eos>"), [259, 260, 0x6f, 0x72, 0x6c, 0x64, 261]);
    assert.deepEqual(tok.encode("hello<eos>", { allowSpecial: false, addBos: true }), [
      261,
      259,
      ...[..."<eos>"].map((c) => c.charCodeAt(0)),
    ]);
    assert.equal(tok.decode([259, 260, 261]), "hello w<eos>");
    assert.equal(tok.decode([259, 261], { skipSpecial: true }), "hello");
  });

  test("decode of a cut multi-byte character gives U+FFFD, bytes stay exact", () => {
    const ids = tok.encode("é");
    assert.deepEqual(ids, [0xc3, 0xa9]); // byte tokens have the byte value as id in this vocabulary
    assert.equal(tok.decode(ids.slice(0, 1)), "\ufffd");
    assert.deepEqual([...tok.decodeBytes(ids)], [0xc3, 0xa9]);
  });

  test("bad ids and vocabularies are errors", () => {
    assert.throws(() => tok.decode([9999]), /outside the vocabulary/);
    assert.throws(() => new BpeTokenizer({ ...hand, tokenTypes: [1] }), FormatError);
    assert.throws(() => new BpeTokenizer({ ...hand, bosId: 5000 }), /outside the vocabulary/);
    const noBytes = new BpeTokenizer({
      ...hand,
      tokens: ["a"],
      tokenTypes: [1],
      merges: [],
      eosId: undefined,
      bosId: undefined,
    });
    assert.throws(() => noBytes.encode("b"), /not in the vocabulary/);
  });

  test("decode(encode(x)) == x for arbitrary UTF-8 text (trained vocabulary)", () => {
    const t = new BpeTokenizer(trained);
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 60 }), (s) => {
        fc.pre(isUtf8Clean(s));
        assert.equal(t.decode(t.encode(s)), s);
      }),
      { seed: 7, numRuns: 400 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom("apple", " tree", "<|pad|>", "ë", " ", "\n", "12", "🍎")),
        (parts) => {
          const s = parts.join("");
          assert.equal(t.decode(t.encode(s)), s);
        },
      ),
      { seed: 8, numRuns: 200 },
    );
  });
});

describe("BPE training", () => {
  test("ties are broken by token strings: hand vector", () => {
    const v = trainBpe(["ab cd"], { vocabSize: 260, minFrequency: 1 });
    assert.deepEqual(v.merges, [
      ["a", "b"],
      ["c", "d"],
      ["Ġ", "cd"],
    ]);
    assert.deepEqual(v.tokens.slice(256), ["ab", "cd", "Ġcd", "<|endoftext|>"]);
    assert.equal(v.tokenTypes[259], TokenType.CONTROL);
    assert.equal(v.eosId, 259);
  });

  test("most frequent pair wins and training is deterministic", () => {
    const v = trainBpe(["xy xy xy ab"], { vocabSize: 258, minFrequency: 1 });
    assert.deepEqual(v.merges[0], ["x", "y"]);
    const again = trainBpe(syntheticCorpus(400, 1), {
      vocabSize: 300,
      specialTokens: ["<|endoftext|>", "<|pad|>"],
    });
    assert.deepEqual(again, trained);
    assert.equal(trained.tokens.length, 300);
    assert.equal(new Set(trained.tokens).size, 300);
  });

  test("stops below minFrequency and rejects impossible sizes", () => {
    const v = trainBpe(["ab"], { vocabSize: 400, minFrequency: 2 });
    assert.equal(v.merges.length, 0);
    assert.throws(() => trainBpe(["x"], { vocabSize: 100 }), RangeError);
  });

  test("a trained tokenizer compresses its corpus", () => {
    const t = new BpeTokenizer(trained);
    const text = syntheticCorpus(50, 2).join("");
    assert.ok(t.encode(text).length < new TextEncoder().encode(text).length / 2);
  });
});

describe("tokenizer files", () => {
  const t = new BpeTokenizer(trained);
  const sample = "the sweet apple of a tree; 42.\n<|endoftext|> é🍎";

  test("tokenizer.json export/import keeps ids and encodings", () => {
    const json = JSON.parse(JSON.stringify(vocabToHfTokenizer(trained)));
    const back = tokenizerFromHfJson(json);
    assert.ok(back instanceof BpeTokenizer);
    assert.deepEqual(back.vocab.tokens, trained.tokens);
    assert.deepEqual(back.vocab.merges, trained.merges);
    assert.deepEqual(back.encode(sample), t.encode(sample));
    assert.equal(back.vocab.eosId, trained.eosId);
  });

  test("tokenizer.json with a Llama 3 Split regex, array merges, BOS template and ignore_merges", () => {
    const json = vocabToHfTokenizer({
      ...trained,
      pre: "llama-bpe",
      addBos: true,
      bosId: trained.tokens.length - 2,
    });
    const model = json.model as Record<string, unknown>;
    model.merges = trained.merges;
    model.ignore_merges = true;
    const back = tokenizerFromHfJson(json);
    assert.ok(back instanceof BpeTokenizer);
    assert.equal(back.vocab.pre, "llama-bpe");
    assert.equal(back.ignoreMerges, true);
    const ids = back.encode("apple 12345");
    assert.equal(ids[0], trained.tokens.length - 2);
    assert.equal(back.decode(ids, { skipSpecial: true }), "apple 12345");
  });

  test("a SmolLM-style tokenizer.json (individual digits, then ByteLevel) maps to llama.cpp's smollm", () => {
    const json = vocabToHfTokenizer(trained);
    const digits = tokenizerFromHfJson({
      ...json,
      pre_tokenizer: {
        type: "Sequence",
        pretokenizers: [
          { type: "Digits", individual_digits: true },
          { type: "ByteLevel", add_prefix_space: false, use_regex: true },
        ],
      },
    });
    assert.ok(digits instanceof BpeTokenizer);
    assert.equal(digits.vocab.pre, "smollm");
    assert.equal(digits.encode("2024").length, 4);
  });

  test("an NFC normalizer composes characters before encoding", () => {
    const json = vocabToHfTokenizer(trained);
    const nfc = tokenizerFromHfJson({ ...json, normalizer: { type: "NFC" } });
    assert.deepEqual(nfc.encode("e\u0301"), t.encode("\u00e9"));
    assert.notDeepEqual(t.encode("e\u0301"), t.encode("\u00e9"));
  });

  test("unsupported tokenizer.json is named", () => {
    assert.throws(() => tokenizerFromHfJson({ model: { type: "Unigram" } }), /Unigram/);
    const json = vocabToHfTokenizer(trained);
    assert.throws(() => tokenizerFromHfJson({ ...json, normalizer: { type: "Lowercase" } }), /Lowercase/);
    assert.throws(
      () =>
        tokenizerFromHfJson({
          ...json,
          pre_tokenizer: {
            type: "Sequence",
            pretokenizers: [{ type: "Split", pattern: { Regex: "\\w+" } }, { type: "ByteLevel" }],
          },
        }),
      /is not one of/,
    );
  });

  test("GGUF vocabulary round-trips", () => {
    const f = GgufFile.fromBytes(encodeGguf({ metadata: ggufVocabMetadata(trained), tensors: [] }));
    const back = tokenizerFromGguf(f);
    assert.deepEqual(back.vocab, trained);
    assert.deepEqual(back.encode(sample), t.encode(sample));
    assert.throws(
      () => tokenizerFromGguf(GgufFile.fromBytes(encodeGguf({ metadata: new Map(), tensors: [] }))),
      /no tokenizer/,
    );
  });
});

/** A SentencePiece-style vocabulary: control tokens, 256 byte pieces, then scored pieces. */
function spmVocab(pieces: [string, number][]): SpmVocab {
  const bytes = Array.from({ length: 256 }, (_, b) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
  return {
    tokens: ["<unk>", "<s>", "</s>", ...bytes, ...pieces.map(([p]) => p)],
    scores: [0, 0, 0, ...bytes.map(() => 0), ...pieces.map(([, s]) => s)],
    tokenTypes: [
      TokenType.UNKNOWN,
      TokenType.CONTROL,
      TokenType.CONTROL,
      ...bytes.map(() => TokenType.BYTE),
      ...pieces.map(() => TokenType.NORMAL),
    ],
    unkId: 0,
    bosId: 1,
    eosId: 2,
    addBos: true,
    addSpacePrefix: true,
  };
}

describe("SentencePiece-style tokenizer (GGUF model llama)", () => {
  const pieces: [string, number][] = [
    ..."▁helowrd".split("").map((c) => [c, -10] as [string, number]),
    ["ll", -1],
    ["he", -2],
    ["▁he", -3],
    ["llo", -4],
    ["▁hello", -5],
    ["▁w", -6],
    ["or", -7],
  ];
  const vocab = spmVocab(pieces);
  const spm = new SpmTokenizer(vocab);
  const id = (p: string) => vocab.tokens.indexOf(p);

  test("hand vectors: highest score merges first, bytes for unknown characters", () => {
    assert.deepEqual(spm.encode("hello", { addBos: false }), [id("▁hello")]);
    assert.deepEqual(spm.encode("hex"), [1, id("▁he"), id("<0x78>")]);
    assert.deepEqual(spm.encode("hello world</s>", { addBos: false }), [
      id("▁hello"),
      id("▁w"),
      id("or"),
      id("l"),
      id("d"),
      2,
    ]);
    assert.deepEqual(spm.encode(""), [1]);
    assert.equal(spm.decode([1, id("▁hello"), id("▁w"), id("or")], { skipSpecial: true }), "hello wor");
    assert.equal(spm.decode(spm.encode("é", { addBos: false })), "é");
  });

  test("decode(encode(x)) == x for arbitrary UTF-8 text", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        fc.pre(isUtf8Clean(s) && !s.includes("<s>") && !s.includes("</s>"));
        assert.equal(spm.decode(spm.encode(s), { skipSpecial: true }), s);
      }),
      { seed: 9, numRuns: 300 },
    );
  });

  test("a Llama 2 style tokenizer.json (byte fallback) gives the same tokenizer", () => {
    const byTok = Object.fromEntries(vocab.tokens.map((t, i) => [t, i]));
    const json = {
      added_tokens: [0, 1, 2].map((i) => ({ id: i, content: vocab.tokens[i], special: true })),
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "Prepend", prepend: "▁" },
          { type: "Replace", pattern: { String: " " }, content: "▁" },
        ],
      },
      pre_tokenizer: null,
      post_processor: {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>" } }, { Sequence: { id: "A" } }],
      },
      model: {
        type: "BPE",
        unk_token: "<unk>",
        byte_fallback: true,
        vocab: byTok,
        // merges in score order, as HF's converter writes them
        merges: ["l l", "h e", "▁ he", "ll o", "▁he llo", "▁ w", "o r"],
      },
    };
    const fromJson = tokenizerFromHfJson(json);
    assert.ok(fromJson instanceof SpmTokenizer);
    assert.equal(fromJson.vocab.addSpacePrefix, true);
    assert.equal(fromJson.vocab.tokenTypes[id("<0x41>")], TokenType.BYTE);
    for (const text of ["hello world", "hex hello wor", " héllo\n"]) {
      assert.deepEqual(fromJson.encode(text), spm.encode(text));
    }
    assert.throws(() => tokenizerFromHfJson({ ...json, normalizer: { type: "Lowercase" } }), /Lowercase/);
  });

  test("GGUF round trip and bad vocabularies", () => {
    const f = GgufFile.fromBytes(encodeGguf({ metadata: ggufSpmVocabMetadata(vocab), tensors: [] }));
    const back = tokenizerFromGguf(f);
    assert.ok(back instanceof SpmTokenizer);
    assert.deepEqual(back.vocab, vocab);
    assert.throws(() => new SpmTokenizer({ ...vocab, scores: [1] }), FormatError);
    const md = ggufSpmVocabMetadata(vocab);
    md.set("tokenizer.ggml.model", gguf.str("bert"));
    assert.throws(
      () => tokenizerFromGguf(GgufFile.fromBytes(encodeGguf({ metadata: md, tensors: [] }))),
      /'bert'/,
    );
  });
});
