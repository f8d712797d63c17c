import assert from "node:assert/strict";
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { mulberry32 } from "@openledger/common";
import type { Hex } from "viem";
import {
  AttributionError,
  attributeSpanV1,
  attributeSpanV2,
  IndexFormatError,
  type SpanChunk,
  SpanIndex,
} from "../src/index.ts";
import { sectionLayout } from "../src/indexFile.ts";
import { PageBudget, PagedArray } from "../src/paged.ts";
import type { OpenIndexOptions } from "../src/spanIndex.ts";

const ROOT = `0x${"5a".repeat(32)}` as Hex;
const dir = mkdtempSync(join(tmpdir(), "open-index-"));
/** The olmmap addon is built at install, but a failed node-gyp build leaves the pread fallback only. */
const NO_MMAP = SpanIndex.canMmap
  ? false
  : "the olmmap addon did not build (npm ci runs node-gyp); pread only";

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

  const answersAsBuilt = (opts: OpenIndexOptions) => {
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
      assert.deepEqual(Buffer.from(opened.toBuffer()), readFileSync(path));
    } finally {
      opened.close();
    }
  };

  test("memory-mapped, answers exactly as the in-memory index", { skip: NO_MMAP }, () => answersAsBuilt({}));

  test("read in pages (also with a budget far below the file size), answers exactly as the in-memory index", () => {
    answersAsBuilt({ access: "pread" });
    answersAsBuilt({ access: "pread", cacheBytes: 0 });
  });

  /** A copy of the index file whose suffix-array entries all point at `position`. */
  const withSuffixesAt = (name: string, position: number) => {
    const bytes = Uint8Array.from(readFileSync(path));
    const layout = sectionLayout({
      chunks: built.chunkCount,
      words: built.wordCount,
      vocabSize: built.vocabularySize,
      vocabBytes: new DataView(bytes.buffer).getUint32(56, true),
    });
    new Uint32Array(bytes.buffer, layout.suffixes, built.wordCount).fill(position);
    writeFileSync(join(dir, name), bytes);
    return join(dir, name);
  };

  test("PagedArray reads outside [0, length) throw IndexFormatError, in memory and from a file with its last page resident", () => {
    const memory = PagedArray.of(Uint32Array.of(4, 5, 6), "mem");
    assert.equal(memory.at(2), 6);
    for (const i of [3, -1]) assert.throws(() => memory.at(i), /mem: corrupt index \(entry -?\d of 3\)/);
    const fd = openSync(path, "r");
    try {
      const length = built.wordCount + built.chunkCount;
      const layout = sectionLayout({
        chunks: built.chunkCount,
        words: built.wordCount,
        vocabSize: built.vocabularySize,
        vocabBytes: new DataView(readFileSync(path).buffer).getUint32(56, true),
      });
      const paged = PagedArray.fromFile(fd, layout.symbols, length, 4, new PageBudget(1 << 20, 16_384), path);
      assert.equal(paged.at(length - 1), 1, "the symbol string ends with a chunk end");
      for (const i of [length, length + 1, -1]) assert.throws(() => paged.at(i), IndexFormatError);
    } finally {
      closeSync(fd);
    }
  });

  for (const access of ["mmap", "pread"] as const) {
    test(`${access}: suffixes pointing at the last symbol (in range) read past the end and fail with IndexFormatError`, {
      skip: access === "mmap" && NO_MMAP,
    }, () => {
      // Each suffix passes its own range check, but the words after it lie past the symbol string.
      const file = withSuffixesAt(`last-${access}.spanidx`, built.wordCount + built.chunkCount - 1);
      const opened = SpanIndex.open(file, { access });
      try {
        assert.equal(opened.access, access);
        for (const text of outputs.slice(0, 5)) {
          assert.throws(() => attributeSpanV2(text, [opened]), IndexFormatError);
          assert.throws(() => attributeSpanV2(text, [opened]), /corrupt index \(entry \d+ of \d+\)/);
        }
      } finally {
        opened.close();
      }
    });

    test(`${access}: queries on a closed index fail with AttributionError instead of reading a reused descriptor`, {
      skip: access === "mmap" && NO_MMAP,
    }, () => {
      const opened = SpanIndex.open(path, { access });
      assert.ok(attributeSpanV2(outputs[0], [opened]).credits.length > 0);
      opened.close();
      // Another file opened now may take the closed descriptor's number.
      const other = SpanIndex.open(path, { access });
      try {
        for (const query of [
          () => attributeSpanV2(outputs[1], [opened]),
          () => attributeSpanV1(outputs[1], [opened]),
        ]) {
          assert.throws(query, AttributionError);
          assert.throws(query, /the index was closed; open it again/);
        }
        assert.deepEqual(attributeSpanV2(outputs[1], [other]), attributeSpanV2(outputs[1], [built]));
      } finally {
        other.close();
      }
    });

    test(`${access}: writeFile replaces a file another handle has open; that handle keeps answering from the old file`, {
      skip: access === "mmap" && NO_MMAP,
    }, () => {
      const target = join(dir, `replaced-${access}.spanidx`);
      built.writeFile(target);
      const old = SpanIndex.open(target, { access });
      try {
        assert.equal(old.access, access);
        // A larger index: written in place, the old handle would read its sections at the old offsets.
        const extra = chunks.slice(0, 200).map((c) => ({ ...c, contributionId: c.contributionId + 5000n }));
        const replacement = SpanIndex.build([...chunks, ...extra], ROOT);
        replacement.writeFile(target);
        assert.equal(existsSync(`${target}.tmp`), false);
        for (const text of outputs.slice(0, 10)) {
          assert.deepEqual(attributeSpanV2(text, [old]), attributeSpanV2(text, [built]));
        }
        const fresh = SpanIndex.open(target, { access });
        try {
          assert.equal(fresh.wordCount, replacement.wordCount);
          for (const text of outputs.slice(0, 10)) {
            assert.deepEqual(attributeSpanV2(text, [fresh]), attributeSpanV2(text, [replacement]));
          }
        } finally {
          fresh.close();
        }
        // An opened index's writeFile (a copy of its file) replaces the target the same way.
        old.writeFile(target);
        assert.deepEqual(readFileSync(target), readFileSync(path));
      } finally {
        old.close();
      }
    });
  }

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
