import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { mulberry32 } from "@openledger/common";
import type { Hex } from "viem";
import {
  attributeSpanV1,
  attributeSpanV2,
  IndexFormatError,
  type SpanChunk,
  SpanIndex,
} from "../src/index.ts";

const ROOT = `0x${"5a".repeat(32)}` as Hex;
const dir = mkdtempSync(join(tmpdir(), "open-index-"));

/** ~300 KB of seeded text over a small vocabulary, so spans repeat across chunks. */
function corpus(): { chunks: SpanChunk[]; outputs: string[] } {
  const rnd = mulberry32(77);
  const vocab = Array.from({ length: 400 }, (_, k) => `w${k.toString(36)}x`);
  const pick = () => vocab[Math.floor(rnd() ** 2 * vocab.length)];
  const chunks: SpanChunk[] = [];
  const texts: string[][] = [];
  for (let c = 0; c < 1500; c++) {
    const ws = Array.from({ length: 30 + Math.floor(rnd() * 40) }, pick);
    texts.push(ws);
    chunks.push({ contributionId: BigInt(1 + Math.floor(c / 2)), chunkIndex: c % 2, text: ws.join(" ") });
  }
  const outputs = Array.from({ length: 30 }, () => {
    const src = texts[Math.floor(rnd() * texts.length)];
    const from = Math.floor(rnd() * 10);
    return [pick(), pick(), ...src.slice(from, from + 15), pick()].join(" ");
  });
  return { chunks, outputs };
}

describe("SpanIndex.open (positioned reads, paged)", () => {
  const { chunks, outputs } = corpus();
  const built = SpanIndex.build(chunks, ROOT);
  const path = join(dir, "corpus.spanidx");
  built.writeFile(path);

  test("writeFile (written section by section) equals toBuffer", () => {
    assert.deepEqual(readFileSync(path), Buffer.from(built.toBuffer()));
  });

  test("answers exactly as the in-memory index, also with a page budget far below the file size", () => {
    for (const cacheBytes of [64 * 1024 * 1024, 0]) {
      const opened = SpanIndex.open(path, { cacheBytes });
      try {
        assert.equal(opened.root, built.root);
        assert.equal(opened.wordCount, built.wordCount);
        assert.deepEqual(opened.chunkAt(7), built.chunkAt(7));
        for (const text of outputs) {
          assert.deepEqual(attributeSpanV2(text, [opened]), attributeSpanV2(text, [built]));
          assert.equal(attributeSpanV1(text, [opened]).commitment, attributeSpanV1(text, [built]).commitment);
        }
        assert.deepEqual(opened.toBuffer(), readFileSync(path));
      } finally {
        opened.close();
      }
    }
  });

  test("truncated, foreign or missing files fail with IndexFormatError or the fs error", () => {
    const bytes = readFileSync(path);
    const truncated = join(dir, "truncated.spanidx");
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 8));
    assert.throws(() => SpanIndex.open(truncated), IndexFormatError);
    const foreign = join(dir, "foreign.spanidx");
    writeFileSync(foreign, Buffer.alloc(4096, 1));
    assert.throws(() => SpanIndex.open(foreign), /not a span index/);
    const badTable = join(dir, "bad-table.spanidx");
    const copy = Uint8Array.from(bytes);
    // The last 4 bytes of the chunk-first-word table's first entry must be 0.
    const view = new DataView(copy.buffer);
    const words = view.getUint32(16, true);
    const textBytes = view.getUint32(20, true);
    const align8 = (n: number) => (n + 7) & ~7;
    view.setUint32(align8(align8(align8(64 + textBytes) + 4 * words) + 4 * words), 5, true);
    writeFileSync(badTable, copy);
    assert.throws(() => SpanIndex.open(badTable), /chunk table/);
    assert.throws(() => SpanIndex.open(join(dir, "missing.spanidx")), /ENOENT/);
  });
});
