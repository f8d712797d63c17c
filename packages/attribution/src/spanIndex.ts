import { closeSync, copyFileSync, fstatSync, openSync, readFileSync, readSync, writeSync } from "node:fs";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, type Hex, hexToBytes, isHex } from "viem";
import { canonicalChunks } from "./chunks.ts";
import { IndexFormatError, InvalidChunkError } from "./errors.ts";
import { PageBudget, PagedArray } from "./paged.ts";
import { suffixArray } from "./sais.ts";
import { scanWords } from "./text.ts";
import type { Occurrence, SpanChunk } from "./types.ts";
import { Vocabulary } from "./vocabulary.ts";

const MAGIC = "OLSPANIX";
export const SPAN_INDEX_VERSION = 1;
const HEADER_BYTES = 64;
const SPACE = 0x20;
const END_OF_CHUNK = 0x0a;
const MAX_CONTRIBUTION_ID = (1n << 64n) - 1n;

// Plain arithmetic, not bit operations: index files may exceed 2 GiB.
const align8 = (n: number) => Math.ceil(n / 8) * 8;

interface Sections {
  text: PagedArray;
  wordPos: PagedArray;
  suffixes: PagedArray;
  chunkFirstWord: Uint32Array;
  chunkIndex: Uint32Array;
  contributionId: BigUint64Array;
  /** The 32-byte content hash of chunk slot c. */
  contentHash: (c: number) => Uint8Array;
  /** The persisted form: the whole file, in memory or read on demand. */
  bytes: () => Uint8Array;
  /** Writes the persisted form to `path` without holding it in memory at once. */
  writeFile: (path: string) => void;
}

export interface OpenIndexOptions {
  /** Bytes of index pages kept resident (the OS page cache holds the rest); 64 MiB by default. */
  cacheBytes?: number;
}

/** One- and two-word prefix intervals remembered per index. */
const PREFIX_CACHE = 65_536;
const latin1 = new TextDecoder("latin1");

/** Page size of opened index files (a multiple of the OS page). */
const PAGE_BYTES = 16 * 1024;

/**
 * A span index (span-v1 and span-v2) over one snapshot: the chunks' words as text, a word-level
 * suffix array (SA-IS) and the word -> (contributionId, chunkIndex, offset) map (README, "Index").
 * Built or loaded in memory, or opened from a file and read a page at a time (`open`).
 */
export class SpanIndex {
  readonly root: Hex;
  readonly #s: Sections;
  #close: (() => void) | undefined;
  /** Intervals of one- and two-word prefixes already searched (see #extend). */
  readonly #prefixes = new Map<string, readonly [number, number]>();

  private constructor(root: Hex, sections: Sections, close?: () => void) {
    this.root = root;
    this.#s = sections;
    this.#close = close;
  }

  get chunkCount(): number {
    return this.#s.chunkIndex.length;
  }

  get wordCount(): number {
    return this.#s.wordPos.length;
  }

  /** Closes an index opened with `open` (its file descriptor); a no-op for in-memory indexes. */
  close(): void {
    this.#close?.();
    this.#close = undefined;
  }

  /** Bytes of normalised text indexed (words, separators and chunk ends). */
  get textBytes(): number {
    return this.#s.text.length;
  }

  /** Builds the index of a snapshot's chunks; `root` is the snapshot's Merkle root. */
  static build(chunks: readonly SpanChunk[], root: Hex): SpanIndex {
    if (!isHex(root) || root.length !== 66)
      throw new InvalidChunkError("snapshot root must be a 0x-prefixed bytes32");
    const sorted = canonicalChunks(chunks);
    const chunkCount = sorted.length;
    let capacity = 0;
    for (const c of sorted) {
      if (c.contributionId > MAX_CONTRIBUTION_ID) {
        throw new InvalidChunkError(`contributionId ${c.contributionId} exceeds the index's 64-bit limit`);
      }
      capacity += c.bytes.length + 2;
    }
    const text = new Uint8Array(capacity);
    let wordPos = new Uint32Array(Math.max(16, capacity >> 2));
    const wordIds = { data: new Int32Array(wordPos.length) };
    const chunkFirstWord = new Uint32Array(chunkCount + 1);
    const chunkIndex = new Uint32Array(chunkCount);
    const contributionId = new BigUint64Array(chunkCount);
    const contentHash = new Uint8Array(32 * chunkCount);
    const vocabulary = new Vocabulary(text);
    let pos = 0;
    let words = 0;
    for (let c = 0; c < chunkCount; c++) {
      const chunk = sorted[c];
      chunkFirstWord[c] = words;
      chunkIndex[c] = chunk.chunkIndex;
      contributionId[c] = chunk.contributionId;
      contentHash.set(keccak_256(chunk.bytes), 32 * c);
      const bytes = chunk.bytes;
      scanWords(bytes, (start, end) => {
        if (words === wordPos.length) {
          const grown = new Uint32Array(wordPos.length * 2);
          grown.set(wordPos);
          wordPos = grown;
          const grownIds = new Int32Array(grown.length);
          grownIds.set(wordIds.data);
          wordIds.data = grownIds;
        }
        wordPos[words] = pos;
        const wordStart = pos;
        let h = 0x811c9dc5;
        for (let p = start; p < end; p++) {
          let b = bytes[p];
          if (b >= 0x41 && b <= 0x5a) b += 0x20;
          text[pos++] = b;
          h = Math.imul(h ^ b, 0x01000193);
        }
        wordIds.data[words++] = vocabulary.idOf(wordStart, pos, h >>> 0);
        text[pos++] = SPACE;
      });
      text[pos++] = END_OF_CHUNK;
    }
    chunkFirstWord[chunkCount] = words;

    // Rank words byte-lexicographically; 0 is the final sentinel, 1 ends a chunk, words are 2...
    const rankOfId = vocabulary.ranks();
    const symbols = new Int32Array(words + chunkCount + 1);
    const wordAt = new Int32Array(symbols.length).fill(-1);
    let p = 0;
    for (let c = 0; c < chunkCount; c++) {
      for (let g = chunkFirstWord[c]; g < chunkFirstWord[c + 1]; g++) {
        wordAt[p] = g;
        symbols[p++] = rankOfId[wordIds.data[g]];
      }
      symbols[p++] = 1;
    }
    const sa = suffixArray(symbols, vocabulary.size + 2);
    const suffixes = new Uint32Array(words);
    let k = 0;
    for (let x = 0; x < sa.length; x++) {
      const g = wordAt[sa[x]];
      if (g >= 0) suffixes[k++] = g;
    }
    return SpanIndex.#inMemory(root.toLowerCase() as Hex, {
      text: text.slice(0, pos),
      wordPos: wordPos.slice(0, words),
      suffixes,
      chunkFirstWord,
      chunkIndex,
      contributionId,
      contentHash,
    });
  }

  static #inMemory(root: Hex, a: RawSections, file?: Uint8Array): SpanIndex {
    return new SpanIndex(root, {
      text: PagedArray.of(a.text),
      wordPos: PagedArray.of(a.wordPos),
      suffixes: PagedArray.of(a.suffixes),
      chunkFirstWord: a.chunkFirstWord,
      chunkIndex: a.chunkIndex,
      contributionId: a.contributionId,
      contentHash: (c) => a.contentHash.subarray(32 * c, 32 * c + 32),
      bytes: () => file ?? serialize(root, a),
      writeFile: (path) => writeSections(path, root, a),
    });
  }

  /** The persisted form (README, "Index"). */
  toBuffer(): Uint8Array {
    return this.#s.bytes();
  }

  writeFile(path: string): void {
    this.#s.writeFile(path);
  }

  /** Wraps a persisted index as typed-array views (one aligned copy at most, no per-entry objects). */
  static load(buffer: Uint8Array, source = "index"): SpanIndex {
    if (!(buffer instanceof Uint8Array)) throw new IndexFormatError(`${source}: expected bytes`);
    if (buffer.length < HEADER_BYTES) throw new IndexFormatError(`${source}: too short to be a span index`);
    const bytes = buffer.byteOffset % 8 === 0 ? buffer : buffer.slice();
    const { chunks, words, textBytes } = readHeader(bytes, source);
    const layout = sectionLayout(textBytes, words, chunks);
    if (layout.total !== bytes.length) {
      throw new IndexFormatError(
        `${source}: ${bytes.length} bytes but the header describes ${layout.total} (truncated or corrupt)`,
      );
    }
    const base = bytes.byteOffset;
    const ab = bytes.buffer;
    const sections: RawSections = {
      text: new Uint8Array(ab, base + layout.text, textBytes),
      wordPos: new Uint32Array(ab, base + layout.wordPos, words),
      suffixes: new Uint32Array(ab, base + layout.suffixes, words),
      chunkFirstWord: new Uint32Array(ab, base + layout.chunkFirstWord, chunks + 1),
      chunkIndex: new Uint32Array(ab, base + layout.chunkIndex, chunks),
      contributionId: new BigUint64Array(ab, base + layout.contributionId, chunks),
      contentHash: new Uint8Array(ab, base + layout.contentHash, 32 * chunks),
    };
    checkSections(sections, source);
    return SpanIndex.#inMemory(bytesToHex(bytes.subarray(24, 56)), sections, bytes);
  }

  /** Reads a whole index file into memory (see `open` for large ones). */
  static readFile(path: string): SpanIndex {
    return SpanIndex.load(readFileSync(path), path);
  }

  /**
   * Opens an index file without reading it: the text, word positions and suffix array are read a
   * page at a time with positioned reads when a query touches them (at most `cacheBytes` resident;
   * the OS page cache keeps the rest warm), so memory use does not grow with the snapshot. The chunk
   * tables (a few bytes per chunk) are read at once and checked; `close()` releases the file.
   */
  static open(path: string, opts: OpenIndexOptions = {}): SpanIndex {
    const fd = openSync(path, "r");
    try {
      const header = new Uint8Array(HEADER_BYTES);
      const size = fstatSync(fd).size;
      if (size < HEADER_BYTES || readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) {
        throw new IndexFormatError(`${path}: too short to be a span index`);
      }
      const { chunks, words, textBytes } = readHeader(header, path);
      const layout = sectionLayout(textBytes, words, chunks);
      if (layout.total !== size) {
        throw new IndexFormatError(
          `${path}: ${size} bytes but the header describes ${layout.total} (truncated or corrupt)`,
        );
      }
      const read = (offset: number, length: number) => {
        const out = new Uint8Array(length);
        if (readSync(fd, out, 0, length, offset) !== length)
          throw new IndexFormatError(`${path}: short read`);
        return out;
      };
      const tables = read(layout.chunkFirstWord, layout.total - layout.chunkFirstWord);
      const at = (offset: number) => tables.byteOffset + offset - layout.chunkFirstWord;
      const chunkFirstWord = new Uint32Array(tables.buffer, at(layout.chunkFirstWord), chunks + 1);
      const chunkIndex = new Uint32Array(tables.buffer, at(layout.chunkIndex), chunks);
      const contributionId = new BigUint64Array(tables.buffer, at(layout.contributionId), chunks);
      const contentHash = new Uint8Array(tables.buffer, at(layout.contentHash), 32 * chunks);
      checkChunkTable(chunkFirstWord, words, path);
      const budget = new PageBudget(opts.cacheBytes ?? 64 * 1024 * 1024, PAGE_BYTES);
      const sections: Sections = {
        text: PagedArray.fromFile(fd, layout.text, textBytes, 1, budget, path),
        wordPos: PagedArray.fromFile(fd, layout.wordPos, words, 4, budget, path),
        suffixes: PagedArray.fromFile(fd, layout.suffixes, words, 4, budget, path),
        chunkFirstWord,
        chunkIndex,
        contributionId,
        contentHash: (c) => contentHash.subarray(32 * c, 32 * c + 32),
        bytes: () => readFileSync(path),
        writeFile: (to) => copyFileSync(path, to),
      };
      return new SpanIndex(bytesToHex(header.subarray(24, 56)), sections, () => closeSync(fd));
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /** The chunk (contributionId, chunkIndex, contentHash) at chunk slot `c` (sorted order). */
  chunkAt(c: number): { contributionId: bigint; chunkIndex: number; contentHash: Hex } {
    return {
      contributionId: this.#s.contributionId[c],
      chunkIndex: this.#s.chunkIndex[c],
      contentHash: bytesToHex(this.#s.contentHash(c)),
    };
  }

  /**
   * The longest run of `words` starting at `start` that occurs inside one chunk, if it has at least
   * `minLength` words, with its suffix-array interval; otherwise null.
   */
  longestMatch(
    words: readonly Uint8Array[],
    start: number,
    minLength: number,
  ): { length: number; lo: number; hi: number } | null {
    if (start + minLength > words.length) return null;
    let lo = 0;
    let hi = this.#s.suffixes.length;
    let offset = 0;
    let k = 0;
    while (start + k < words.length) {
      const [a, b] = this.#extend(words, start, k, lo, hi, offset);
      if (a === b) break;
      lo = a;
      hi = b;
      offset += words[start + k].length + 1;
      k++;
    }
    if (k < minLength) return null;
    return { length: k, lo, hi };
  }

  /**
   * The suffix-array intervals of `words[start..start+k)` for k = 1, 2, ... while the run occurs
   * inside one chunk: `lo[k-1]`, `hi[k-1]`. Empty when the run is shorter than `minLength`.
   */
  matchIntervals(
    words: readonly Uint8Array[],
    start: number,
    minLength: number,
  ): { lo: number[]; hi: number[] } {
    const los: number[] = [];
    const his: number[] = [];
    let lo = 0;
    let hi = this.#s.suffixes.length;
    let offset = 0;
    for (let k = 0; start + k < words.length; k++) {
      const [a, b] = this.#extend(words, start, k, lo, hi, offset);
      if (a === b) break;
      lo = a;
      hi = b;
      los.push(lo);
      his.push(hi);
      offset += words[start + k].length + 1;
    }
    if (los.length < minLength) return { lo: [], hi: [] };
    return { lo: los, hi: his };
  }

  /**
   * The interval of `words[start..start+k+1)` inside `[lo, hi)`, the interval of its first k words
   * (`offset` bytes into each suffix). The first two steps are the widest binary searches and repeat
   * across queries (common words), so their intervals are remembered, up to PREFIX_CACHE entries.
   */
  #extend(
    words: readonly Uint8Array[],
    start: number,
    k: number,
    lo: number,
    hi: number,
    offset: number,
  ): readonly [number, number] {
    if (k > 1) return this.#narrow(lo, hi, offset, words[start + k]);
    const key =
      k === 0
        ? latin1.decode(words[start])
        : `${latin1.decode(words[start])} ${latin1.decode(words[start + 1])}`;
    let hit = this.#prefixes.get(key);
    if (!hit) {
      hit = this.#narrow(lo, hi, offset, words[start + k]);
      if (this.#prefixes.size >= PREFIX_CACHE) this.#prefixes.clear();
      this.#prefixes.set(key, hit);
    }
    return hit;
  }

  /** The sub-interval of `[lo, hi)` whose suffixes continue with word `w` at byte `offset`. */
  #narrow(lo: number, hi: number, offset: number, w: Uint8Array): readonly [number, number] {
    const { text, wordPos, suffixes } = this.#s;
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (compareWord(text, wordPos.at(suffixes.at(mid)) + offset, w) < 0) a = mid + 1;
      else b = mid;
    }
    const first = a;
    b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (compareWord(text, wordPos.at(suffixes.at(mid)) + offset, w) <= 0) a = mid + 1;
      else b = mid;
    }
    return [first, a];
  }

  /** The smallest global word number (corpus word order) in suffix-array entries [lo, hi). */
  minWord(lo: number, hi: number): number {
    const suffixes = this.#s.suffixes;
    let first = 0xffffffff;
    for (let x = lo; x < hi; x++) {
      const g = suffixes.at(x);
      if (g < first) first = g;
    }
    return first;
  }

  /** The (contributionId, chunkIndex, word offset) of a global word number. */
  occurrenceAt(globalWord: number): Occurrence {
    return this.#occurrenceOf(globalWord);
  }

  /** The smallest occurrence in a suffix-array interval: global word order is (contributionId, chunkIndex, offset). */
  firstOccurrence(lo: number, hi: number): Occurrence {
    return this.#occurrenceOf(this.minWord(lo, hi));
  }

  #occurrenceOf(globalWord: number): Occurrence {
    const firstWords = this.#s.chunkFirstWord;
    let a = 0;
    let b = this.chunkCount - 1;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (firstWords[mid] <= globalWord) a = mid;
      else b = mid - 1;
    }
    return {
      contributionId: this.#s.contributionId[a],
      chunkIndex: this.#s.chunkIndex[a],
      chunkWordOffset: globalWord - firstWords[a],
    };
  }
}

/** The index's arrays in memory (what `build` makes and `load` wraps). */
interface RawSections {
  text: Uint8Array;
  wordPos: Uint32Array;
  suffixes: Uint32Array;
  chunkFirstWord: Uint32Array;
  chunkIndex: Uint32Array;
  contributionId: BigUint64Array;
  contentHash: Uint8Array;
}

function checkChunkTable(chunkFirstWord: Uint32Array, words: number, source: string): void {
  const chunks = chunkFirstWord.length - 1;
  const bad = new IndexFormatError(`${source}: corrupt index (chunk table)`);
  if (chunkFirstWord[0] !== 0 || chunkFirstWord[chunks] !== words) throw bad;
  for (let c = 0; c < chunks; c++) if (chunkFirstWord[c] > chunkFirstWord[c + 1]) throw bad;
}

/** Bounds checks in one sequential pass, so a corrupt file fails here instead of reading out of range. */
function checkSections(s: RawSections, source: string): void {
  const words = s.wordPos.length;
  const bad = (what: string) => new IndexFormatError(`${source}: corrupt index (${what})`);
  checkChunkTable(s.chunkFirstWord, words, source);
  if (words > 0 && s.text[s.text.length - 1] !== END_OF_CHUNK) throw bad("text end");
  for (let g = 0; g < words; g++) {
    if (s.wordPos[g] >= s.text.length || (g > 0 && s.wordPos[g] <= s.wordPos[g - 1]))
      throw bad("word positions");
  }
  for (let x = 0; x < words; x++) if (s.suffixes[x] >= words) throw bad("suffix array");
}

/** Compares the indexed word at text position `p` with `word` (byte order, shorter prefix first). */
function compareWord(text: PagedArray, p: number, word: Uint8Array): number {
  for (let t = 0; t < word.length; t++) {
    const a = text.at(p + t);
    const b = word[t];
    if (a !== b) return a < b ? -1 : 1;
  }
  const next = text.at(p + word.length);
  return next === SPACE ? 0 : next < SPACE ? -1 : 1;
}

/** Checks the magic and version of a header (its first 64 bytes) and reads the section sizes. */
function readHeader(
  header: Uint8Array,
  source: string,
): { chunks: number; words: number; textBytes: number } {
  for (let i = 0; i < MAGIC.length; i++) {
    if (header[i] !== MAGIC.charCodeAt(i))
      throw new IndexFormatError(`${source}: not a span index (bad magic)`);
  }
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const version = view.getUint32(8, true);
  if (version !== SPAN_INDEX_VERSION) {
    throw new IndexFormatError(
      `${source}: index version ${version}; this build reads version ${SPAN_INDEX_VERSION}`,
    );
  }
  return {
    chunks: view.getUint32(12, true),
    words: view.getUint32(16, true),
    textBytes: view.getUint32(20, true),
  };
}

/** The header and the sections with their file offsets (README, "Index"). */
function fileParts(root: Hex, s: RawSections): { at: number; bytes: Uint8Array }[] {
  const layout = sectionLayout(s.text.length, s.wordPos.length, s.chunkIndex.length);
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  for (let i = 0; i < MAGIC.length; i++) header[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, SPAN_INDEX_VERSION, true);
  view.setUint32(12, s.chunkIndex.length, true);
  view.setUint32(16, s.wordPos.length, true);
  view.setUint32(20, s.text.length, true);
  header.set(hexToBytes(root), 24);
  const part = (a: Uint8Array | Uint32Array | BigUint64Array, at: number) => ({
    at,
    bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
  });
  return [
    { at: 0, bytes: header },
    part(s.text, layout.text),
    part(s.wordPos, layout.wordPos),
    part(s.suffixes, layout.suffixes),
    part(s.chunkFirstWord, layout.chunkFirstWord),
    part(s.chunkIndex, layout.chunkIndex),
    part(s.contributionId, layout.contributionId),
    part(s.contentHash, layout.contentHash),
    { at: layout.total, bytes: new Uint8Array(0) },
  ];
}

/** The file bytes of an in-memory index. */
function serialize(root: Hex, s: RawSections): Uint8Array {
  const parts = fileParts(root, s);
  const out = new Uint8Array(parts[parts.length - 1].at);
  for (const p of parts) out.set(p.bytes, p.at);
  return out;
}

/** Writes the file section by section (gaps are the zero padding), in writes of at most 1 GiB. */
function writeSections(path: string, root: Hex, s: RawSections): void {
  const fd = openSync(path, "w");
  try {
    const parts = fileParts(root, s);
    let end = 0;
    for (const p of parts) {
      if (p.at > end) writeSync(fd, new Uint8Array(p.at - end), 0, p.at - end, end);
      for (let done = 0; done < p.bytes.length; ) {
        done += writeSync(fd, p.bytes, done, Math.min(p.bytes.length - done, 2 ** 30), p.at + done);
      }
      end = p.at + p.bytes.length;
    }
  } finally {
    closeSync(fd);
  }
}

function sectionLayout(textBytes: number, words: number, chunks: number) {
  const text = HEADER_BYTES;
  const wordPos = align8(text + textBytes);
  const suffixes = align8(wordPos + 4 * words);
  const chunkFirstWord = align8(suffixes + 4 * words);
  const chunkIndex = align8(chunkFirstWord + 4 * (chunks + 1));
  const contributionId = align8(chunkIndex + 4 * chunks);
  const contentHash = contributionId + 8 * chunks;
  return {
    text,
    wordPos,
    suffixes,
    chunkFirstWord,
    chunkIndex,
    contributionId,
    contentHash,
    total: contentHash + 32 * chunks,
  };
}
