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
import { sectionLayout } from "../src/indexFile.ts";

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

describe("SpanIndex.open (memory-mapped, or positioned reads)", () => {
  const { chunks, outputs } = corpus();
  const built = SpanIndex.build(chunks, ROOT);
  const path = join(dir, "corpus.spanidx");
  built.writeFile(path);

  test("writeFile (written section by section) equals toBuffer", () => {
    assert.deepEqual(readFileSync(path), Buffer.from(built.toBuffer()));
  });

  test("answers exactly as the in-memory index: memory-mapped, and read in pages with a budget far below the file size", () => {
    assert.equal(SpanIndex.canMmap, true, "the olmmap addon did not build (npm ci runs node-gyp)");
    for (const opts of [{}, { access: "pread" as const }, { access: "pread" as const, cacheBytes: 0 }]) {
      const opened = SpanIndex.open(path, opts);
      try {
        assert.equal(opened.access, opts.access ?? "mmap");
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

  test("older versions are refused with a rebuild hint, and isCurrentFile tells them apart", () => {
    for (const version of [1, 2]) {
      const old = join(dir, `v${version}.spanidx`);
      const bytes = Uint8Array.from(readFileSync(path));
      bytes[8] = version;
      writeFileSync(old, bytes);
      for (const access of ["mmap", "pread"] as const) {
        assert.throws(
          () => SpanIndex.open(old, { access }),
          new RegExp(`version ${version} is an older layout.*rebuild`),
        );
      }
      assert.throws(() => SpanIndex.load(bytes), IndexFormatError);
      assert.equal(SpanIndex.isCurrentFile(old), false);
    }
    assert.equal(SpanIndex.isCurrentFile(path), true);
    assert.equal(SpanIndex.isCurrentFile(join(dir, "missing.spanidx")), false);
  });

  test("truncated, foreign or corrupt files fail with IndexFormatError, missing ones with the fs error", () => {
    const bytes = readFileSync(path);
    const truncated = join(dir, "truncated.spanidx");
    writeFileSync(truncated, bytes.subarray(0, bytes.length - 8));
    assert.throws(() => SpanIndex.open(truncated), IndexFormatError);
    const foreign = join(dir, "foreign.spanidx");
    writeFileSync(foreign, Buffer.alloc(4096, 1));
    assert.throws(() => SpanIndex.open(foreign), /not a span index/);
    const view = new DataView(bytes.buffer, bytes.byteOffset);
    const layout = sectionLayout({
      chunks: built.chunkCount,
      words: built.wordCount,
      vocabSize: built.vocabularySize,
      vocabBytes: view.getUint32(56, true),
    });
    const corrupt = (name: string, at: number, value: number) => {
      const copy = Uint8Array.from(bytes);
      new DataView(copy.buffer).setUint32(at, value, true);
      writeFileSync(join(dir, name), copy);
      return join(dir, name);
    };
    // The chunk table's first entry must be 0; buckets must add up; the vocabulary must be sorted.
    assert.throws(() => SpanIndex.open(corrupt("table.spanidx", layout.chunkFirstWord, 5)), /chunk table/);
    assert.throws(() => SpanIndex.open(corrupt("buckets.spanidx", layout.bucketStarts + 4, 1e9)), /buckets/);
    assert.throws(() => SpanIndex.open(corrupt("vocab.spanidx", layout.vocab, 0x7a7a7a7a)), /vocabulary/);
    // Loading checks every section whole: a second word that is not the symbol after its suffix.
    const wrongSecond = Uint8Array.from(bytes);
    const view2 = new DataView(wrongSecond.buffer);
    view2.setUint32(layout.second, view2.getUint32(layout.second, true) + 1, true);
    assert.throws(() => SpanIndex.load(wrongSecond), /corrupt index \(second words\)/);
    // A suffix-array entry out of range fails the query that reads it, in every access mode.
    const badSuffixes = join(dir, "suffixes.spanidx");
    const copy = Uint8Array.from(bytes);
    new Uint32Array(copy.buffer, layout.suffixes, built.wordCount).fill(0xfffffff0);
    writeFileSync(badSuffixes, copy);
    for (const access of ["mmap", "pread"] as const) {
      const opened = SpanIndex.open(badSuffixes, { access });
      assert.throws(() => attributeSpanV2(outputs[0], [opened]), /corrupt index/);
      opened.close();
    }
    assert.throws(() => SpanIndex.open(join(dir, "missing.spanidx")), /ENOENT/);
  });
});

describe("match intervals against brute force around the scan width", () => {
  // A phrase followed by 15, 16, 17 and 40 different continuations: intervals on both sides of the
  // width at which binary search gives way to reading suffixes on, and a bucket boundary at each end.
  const chunks: SpanChunk[] = [];
  let id = 1n;
  for (const copies of [1, 15, 16, 17, 40]) {
    for (let k = 0; k < copies; k++) {
      chunks.push({
        contributionId: id++,
        chunkIndex: 0,
        text: `aardvark lead${copies} common phrase here tail${k % 7} more${k} zzzend`,
      });
    }
  }
  const index = SpanIndex.build(chunks, ROOT);
  const chunkWords = chunks.map((c) => (c.text as string).split(" "));

  /** Occurrences (chunk, offset) of a run, scanned naively. */
  const occurrences = (run: string[]) => {
    const found: { c: number; j: number }[] = [];
    chunkWords.forEach((ws, c) => {
      for (let j = 0; j + run.length <= ws.length; j++) {
        if (run.every((w, t) => ws[j + t] === w)) found.push({ c, j });
      }
    });
    return found;
  };

  test("every interval's size and first occurrence match a naive scan", () => {
    const utf8 = new TextEncoder();
    for (const copies of [1, 15, 16, 17, 40]) {
      for (const tail of ["tail3 more3 zzzend", "tail6 more13 zzzend", "tail0 absent"]) {
        const run = `aardvark lead${copies} common phrase here ${tail}`.split(" ");
        for (const start of [0, 1, 2]) {
          const symbols = index.symbolsOf(run.map((w) => utf8.encode(w)));
          const { lo, hi } = index.matchIntervals(symbols, start, 1);
          for (let k = 1; start + k <= run.length; k++) {
            const naive = occurrences(run.slice(start, start + k));
            if (naive.length === 0) {
              assert.equal(lo.length, k - 1, `${run.join(" ")} from ${start}: stops before ${k} words`);
              break;
            }
            assert.equal(hi[k - 1] - lo[k - 1], naive.length, `${run.slice(start, start + k).join(" ")}`);
            const first = index.firstOccurrence(lo[k - 1], hi[k - 1]);
            assert.equal(first.contributionId, BigInt(naive[0].c + 1));
            assert.equal(first.chunkWordOffset, naive[0].j);
          }
        }
      }
    }
  });

  test("a word the index lacks has symbol 0 and matches nothing", () => {
    const symbols = index.symbolsOf([
      new TextEncoder().encode("nowhere"),
      new TextEncoder().encode("aardvark"),
    ]);
    assert.equal(symbols[0], 0);
    assert.ok(symbols[1] >= 2);
    assert.deepEqual(index.matchIntervals(symbols, 0, 1), { lo: [], hi: [] });
  });
});
