import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { chunkRecords } from "../src/chunking.ts";
import { InvalidInputError } from "../src/errors.ts";
import { extractText, formatFromFileName, parseCsv, parseFormat } from "../src/formats.ts";
import { decodeUtf8Strict, utf8Length } from "../src/text.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("UTF-8 and normalisation", () => {
  test("invalid UTF-8 is rejected with the offset of the first bad byte", () => {
    const bytes = new Uint8Array([0x61, 0x62, 0xc3, 0x28, 0x63]);
    assert.throws(() => decodeUtf8Strict(bytes), /not valid UTF-8 \(first bad byte at offset 2\)/);
    assert.throws(() => decodeUtf8Strict(new Uint8Array([0xed, 0xa0, 0x80])), /offset 0/);
    assert.throws(() => decodeUtf8Strict(new Uint8Array([0xe2, 0x82])), /offset 0/);
  });

  test("NUL bytes are rejected as binary", () => {
    assert.throws(() => decodeUtf8Strict(enc("a\u0000b")), /NUL/);
  });

  test("NFC, CRLF and BOM are normalised", () => {
    assert.equal(decodeUtf8Strict(enc("\uFEFFcafe\u0301\r\nx\ry")), "caf\u00e9\nx\ny");
  });
});

describe("formats", () => {
  test("names of rejected formats are in the error", () => {
    assert.throws(() => parseFormat("pdf"), /format "pdf" is not accepted/);
    assert.throws(() => formatFromFileName("book.docx"), /\.docx/);
    assert.equal(formatFromFileName("a.MD"), "markdown");
  });

  test("JSONL with a chosen field, chat records and bad lines", () => {
    const jsonl = '{"body":{"t":"first"}}\n\n{"body":{"t":"second"}}\n';
    const out = extractText(enc(jsonl), "jsonl", { field: "body.t" });
    assert.equal(out.text, "first\n\nsecond");
    assert.equal(out.records.length, 2);
    const chat = extractText(
      enc('{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yo"}]}'),
      "jsonl",
    );
    assert.equal(chat.text, "user: hi\nassistant: yo");
    assert.throws(() => extractText(enc('{"text":"a"}\n{oops}'), "jsonl"), /JSONL line 2 is not valid JSON/);
    assert.throws(() => extractText(enc('{"other":"a"}'), "jsonl"), /line 1 has no string field "text"/);
    assert.throws(() => extractText(enc('{"messages":[{"role":"user"}]}'), "jsonl"), /message 0 needs/);
  });

  test("CSV follows RFC 4180 quoting", () => {
    assert.deepEqual(parseCsv('a,b\r\n"x, ""y""",\n"multi\nline",z'.replace(/\r\n/g, "\n")), [
      ["a", "b"],
      ['x, "y"', ""],
      ["multi\nline", "z"],
    ]);
    const out = extractText(enc('id,text\n1,"Hello, world"\n2,Bye\n'), "csv", { column: "text" });
    assert.equal(out.text, "Hello, world\n\nBye");
    assert.throws(
      () => extractText(enc("id,body\n1,x\n"), "csv"),
      /no column "text"; columns are "id", "body"/,
    );
    assert.throws(() => parseCsv('a,"open'), /never closed/);
    assert.throws(() => parseCsv('a,b"c'), /quote inside an unquoted field/);
    assert.throws(() => extractText(enc("text,b\n1\n"), "csv"), /row 2 has 1 fields/);
  });

  test("empty content is rejected", () => {
    assert.throws(() => extractText(enc("  \n\n "), "text"), InvalidInputError);
  });
});

describe("chunking", () => {
  const chunk = (text: string, maxBytes: number, markdown = false) =>
    chunkRecords(text, [{ start: 0, end: text.length }], { maxBytes, markdown });

  test("chunks are exact slices within the byte limit, with correct byte offsets", () => {
    const text =
      "Alpha beta gamma. Delta épsilon zeta! Eta theta?\n\nIota kappa lambda.\n\n\nMu nu xi omicron pi rho sigma tau.";
    const bytes = enc(text);
    for (const max of [8, 16, 30, 64, 1024]) {
      const chunks = chunk(text, max);
      for (const c of chunks) {
        assert.ok(utf8Length(c.text) <= max, `chunk over ${max}: ${c.text}`);
        assert.equal(new TextDecoder().decode(bytes.subarray(c.byteStart, c.byteEnd)), c.text);
      }
      const joined = chunks
        .map((c) => c.text)
        .join(" ")
        .replace(/\s+/g, " ");
      assert.equal(joined, text.replace(/\s+/g, " "));
    }
  });

  test("paragraphs pack together up to the limit; sentences split long paragraphs", () => {
    const chunks = chunk("One two.\n\nThree four.\n\nFive six seven eight. Nine ten eleven twelve.", 24);
    assert.deepEqual(
      chunks.map((c) => c.text),
      ["One two.\n\nThree four.", "Five six seven eight.", "Nine ten eleven twelve."],
    );
  });

  test("a long word is cut at code points, never inside one", () => {
    const chunks = chunk("😀😀😀😀😀", 9);
    assert.deepEqual(
      chunks.map((c) => c.text),
      ["😀😀", "😀😀", "😀"],
    );
  });

  test("markdown headings start a new paragraph; records never share a chunk", () => {
    const md = chunk("# Title\nintro line\n## Part\nbody", 1024, true);
    assert.equal(md.length, 1);
    const small = chunk("# Title\nintro line\n## Part\nbody", 20, true);
    assert.deepEqual(
      small.map((c) => c.text),
      ["# Title\nintro line", "## Part\nbody"],
    );
    const text = "a b\n\nc d";
    const two = chunkRecords(text, [
      { start: 0, end: 3 },
      { start: 5, end: 8 },
    ]);
    assert.deepEqual(
      two.map((c) => c.text),
      ["a b", "c d"],
    );
  });

  test("chunking is deterministic", () => {
    const text = "Lorem ipsum dolor sit amet. ".repeat(200);
    assert.deepEqual(chunk(text, 100), chunk(text, 100));
  });
});
