import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, type Hex, isHex } from "viem";
import { canonicalChunks } from "./chunks.ts";
import { AttributionError, IndexFormatError, InvalidChunkError } from "./errors.ts";
import {
  checkSections,
  checkTables,
  copyOpenFile,
  END_OF_CHUNK,
  HEADER_BYTES,
  type HeaderCounts,
  isCurrentHeader,
  type RawSections,
  readHeader,
  replaceFile,
  type SectionLayout,
  sectionLayout,
  serialize,
  writeSections,
} from "./indexFile.ts";
import { mmapAddon } from "./mmap.ts";
import { PageBudget, PagedArray } from "./paged.ts";
import { suffixArray } from "./sais.ts";
import { scanWords } from "./text.ts";
import type { Occurrence, SpanChunk } from "./types.ts";
import { Vocabulary } from "./vocabulary.ts";

export { SPAN_INDEX_VERSION } from "./indexFile.ts";

const MAX_CONTRIBUTION_ID = (1n << 64n) - 1n;
/** Corpus positions (words plus chunk ends) are u32, and 0xffffffff means "none". */
const MAX_POSITIONS = 0xffff_fffe;

interface Sections {
  /** The file path (or "index") for error messages. */
  source: string;
  symbols: PagedArray;
  suffixes: PagedArray;
  second: PagedArray;
  vocabStarts: Uint32Array;
  vocabBytes: Uint8Array;
  bucketStarts: Uint32Array;
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

/** How an index reaches its symbol string and suffix array. */
export type IndexAccess = "memory" | "mmap" | "pread";

export interface OpenIndexOptions {
  /**
   * "mmap" (the default) maps the file read-only through the olmmap addon, falling back to "pread"
   * where the addon did not build or the mapping is refused; "pread" reads pages with positioned reads.
   */
  access?: "mmap" | "pread";
  /** With "pread": bytes of index pages kept resident (the OS page cache holds the rest); 64 MiB by default. */
  cacheBytes?: number;
}

/** Two-word prefix intervals remembered per index. */
const PREFIX_CACHE = 65_536;
/** Intervals at most this wide are extended by reading each suffix on, not by binary search. */
const SCAN_WIDTH = 16;
/** Page size of files opened with positioned reads (a multiple of the OS page). */
const PAGE_BYTES = 16 * 1024;

/**
 * A span index (span-v1 and span-v2) over one snapshot: the chunks' words as a string of vocabulary
 * ranks, its word-level suffix array (SA-IS), first-word buckets and the position ->
 * (contributionId, chunkIndex, offset) map (README, "Index"). Built or loaded in memory, or opened
 * from a file (`open`: memory-mapped, or read a page at a time).
 */
export class SpanIndex {
  readonly root: Hex;
  readonly access: IndexAccess;
  readonly #s: Sections;
  #close: (() => void) | undefined;
  /** Set by close(): a closed file's descriptor number may already name another file. */
  #closed = false;
  /** Intervals of two-word prefixes already searched, by `first * radix + second` symbol. */
  readonly #prefixes = new Map<number, readonly [number, number]>();
  readonly #radix: number;
  readonly #budget: PageBudget | undefined;
  /** Dependent suffix-array reads made by queries (binary-search probes and scanned suffixes). */
  #probes = 0;
  /** Scratch result of #narrow. */
  #hi = 0;

  private constructor(
    root: Hex,
    access: IndexAccess,
    sections: Sections,
    close?: () => void,
    budget?: PageBudget,
  ) {
    this.root = root;
    this.access = access;
    this.#s = sections;
    this.#close = close;
    this.#budget = budget;
    this.#radix = sections.vocabStarts.length + 1;
  }

  get chunkCount(): number {
    return this.#s.chunkIndex.length;
  }

  get wordCount(): number {
    return this.#s.suffixes.length;
  }

  /** Distinct words indexed. */
  get vocabularySize(): number {
    return this.#s.vocabStarts.length - 1;
  }

  /** Counters for benchmarks: suffix-array probes by queries, and pages read with pread. */
  ioStats(): { probes: number; pageReads: number } {
    return { probes: this.#probes, pageReads: this.#budget?.reads ?? 0 };
  }

  /**
   * Closes an index opened with `open` (its file descriptor; mappings go with their last use). Queries,
   * toBuffer and writeFile on a closed index (of any kind) throw AttributionError.
   */
  close(): void {
    this.#close?.();
    this.#close = undefined;
    this.#closed = true;
  }

  /** Refuses a query on a closed index (its pages would be read through a reused descriptor). */
  #checkOpen(): void {
    if (this.#closed) {
      throw new AttributionError(`${this.#s.source}: the index was closed; open it again to query it`);
    }
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
      capacity += c.bytes.length + 1;
    }
    // The folded words, each once per occurrence, to tell distinct words apart (dropped after).
    const text = new Uint8Array(capacity);
    let wordIds = new Int32Array(Math.max(16, capacity >> 2));
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
        if (words === wordIds.length) {
          const grown = new Int32Array(wordIds.length * 2);
          grown.set(wordIds);
          wordIds = grown;
        }
        const wordStart = pos;
        let h = 0x811c9dc5;
        for (let p = start; p < end; p++) {
          let b = bytes[p];
          if (b >= 0x41 && b <= 0x5a) b += 0x20;
          text[pos++] = b;
          h = Math.imul(h ^ b, 0x01000193);
        }
        const id = vocabulary.idOf(wordStart, pos, h >>> 0);
        // A word seen before needs no second copy in `text`.
        if (id < vocabulary.size - 1) pos = wordStart;
        wordIds[words++] = id;
      });
    }
    chunkFirstWord[chunkCount] = words;
    if (words + chunkCount > MAX_POSITIONS) {
      throw new InvalidChunkError(`${words} words in ${chunkCount} chunks exceed one index's 2^32 positions`);
    }

    // Symbols: 0 is the final sentinel, 1 ends a chunk, a word is its byte-lexicographic rank + 2.
    const { rankOf, starts: vocabStarts, bytes: vocabBytes } = vocabulary.sorted();
    const vocabSize = rankOf.length;
    const n = words + chunkCount;
    const symbols = new Int32Array(n + 1);
    const bucketStarts = new Uint32Array(vocabSize + 1);
    let p = 0;
    for (let c = 0; c < chunkCount; c++) {
      for (let g = chunkFirstWord[c]; g < chunkFirstWord[c + 1]; g++) {
        const r = rankOf[wordIds[g]];
        bucketStarts[r + 1]++;
        symbols[p++] = r + 2;
      }
      symbols[p++] = END_OF_CHUNK;
    }
    for (let r = 0; r < vocabSize; r++) bucketStarts[r + 1] += bucketStarts[r];
    const sa = suffixArray(symbols, vocabSize + 2);
    const suffixes = new Uint32Array(words);
    let k = 0;
    for (let x = 0; x < sa.length; x++) if (symbols[sa[x]] >= 2) suffixes[k++] = sa[x];
    const second = new Uint32Array(words);
    for (let x = 0; x < words; x++) second[x] = symbols[suffixes[x] + 1];
    return SpanIndex.#inMemory(root.toLowerCase() as Hex, {
      vocabStarts,
      vocabBytes,
      bucketStarts,
      symbols: new Uint32Array(symbols.buffer, 0, n),
      suffixes,
      second,
      chunkFirstWord,
      chunkIndex,
      contributionId,
      contentHash,
    });
  }

  static #inMemory(root: Hex, a: RawSections, file?: Uint8Array, source = "index"): SpanIndex {
    return new SpanIndex(root, "memory", {
      ...a,
      source,
      symbols: PagedArray.of(a.symbols, source),
      suffixes: PagedArray.of(a.suffixes, source),
      second: PagedArray.of(a.second, source),
      contentHash: (c) => a.contentHash.subarray(32 * c, 32 * c + 32),
      bytes: () => file ?? serialize(root, a),
      writeFile: (path) => writeSections(path, root, a),
    });
  }

  /** The persisted form (README, "Index"). */
  toBuffer(): Uint8Array {
    this.#checkOpen();
    return this.#s.bytes();
  }

  /** Writes the persisted form to `path`, replacing it in one rename (a reader of the old file keeps it). */
  writeFile(path: string): void {
    this.#checkOpen();
    this.#s.writeFile(path);
  }

  /** Wraps a persisted index as typed-array views (one aligned copy at most) after checking it whole. */
  static load(buffer: Uint8Array, source = "index"): SpanIndex {
    if (!(buffer instanceof Uint8Array)) throw new IndexFormatError(`${source}: expected bytes`);
    if (buffer.length < HEADER_BYTES) throw new IndexFormatError(`${source}: too short to be a span index`);
    const bytes = buffer.byteOffset % 8 === 0 ? buffer : buffer.slice();
    const counts = readHeader(bytes, source);
    const layout = sectionLayout(counts);
    if (layout.total !== bytes.length) {
      throw new IndexFormatError(
        `${source}: ${bytes.length} bytes but the header describes ${layout.total} (truncated or corrupt)`,
      );
    }
    const sections = viewSections(bytes, 0, counts, layout);
    checkSections(sections, source);
    return SpanIndex.#inMemory(bytesToHex(bytes.subarray(24, 56)), sections, bytes, source);
  }

  /** Reads a whole index file into memory (see `open` for large ones). */
  static readFile(path: string): SpanIndex {
    return SpanIndex.load(readFileSync(path), path);
  }

  /** Whether `path` is a span index file of the version this build reads (false if missing). */
  static isCurrentFile(path: string): boolean {
    let fd: number;
    try {
      fd = openSync(path, "r");
    } catch {
      return false;
    }
    try {
      const header = new Uint8Array(HEADER_BYTES);
      return readSync(fd, header, 0, HEADER_BYTES, 0) === HEADER_BYTES && isCurrentHeader(header);
    } finally {
      closeSync(fd);
    }
  }

  /** Whether this build can memory-map index files (the olmmap addon built at install). */
  static get canMmap(): boolean {
    return mmapAddon() !== null;
  }

  /**
   * Opens an index file without reading it into the heap. The symbol string and suffix array are
   * memory-mapped (or, with access "pread" or without the addon, read a page at a time with positioned
   * reads, at most `cacheBytes` resident); the vocabulary, buckets and chunk tables (a few bytes per
   * distinct word and per chunk) are read at once and checked. `close()` releases the file.
   */
  static open(path: string, opts: OpenIndexOptions = {}): SpanIndex {
    const fd = openSync(path, "r");
    try {
      const header = new Uint8Array(HEADER_BYTES);
      const size = fstatSync(fd).size;
      if (size < HEADER_BYTES || readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) {
        throw new IndexFormatError(`${path}: too short to be a span index`);
      }
      const counts = readHeader(header, path);
      const layout = sectionLayout(counts);
      if (layout.total !== size) {
        throw new IndexFormatError(
          `${path}: ${size} bytes but the header describes ${layout.total} (truncated or corrupt)`,
        );
      }
      const read = (offset: number, length: number) => {
        const out = new Uint8Array(length);
        for (let done = 0; done < length; ) {
          const got = readSync(fd, out, done, Math.min(length - done, 2 ** 30), offset + done);
          if (got === 0) throw new IndexFormatError(`${path}: short read`);
          done += got;
        }
        return out;
      };
      // The small tables: vocabulary and buckets at the front, chunk tables at the end.
      const front = read(0, layout.symbols);
      const back = read(layout.chunkFirstWord, layout.total - layout.chunkFirstWord);
      const tables = viewSections(front, 0, counts, layout, "front");
      const chunkTables = viewSections(back, layout.chunkFirstWord, counts, layout, "back");
      checkTables({ ...tables, chunkFirstWord: chunkTables.chunkFirstWord }, counts.words, path);
      const arrays =
        (opts.access === "pread" ? undefined : mapArrays(fd, layout, counts, path)) ??
        pagedArrays(
          fd,
          layout,
          counts,
          new PageBudget(opts.cacheBytes ?? 64 * 1024 * 1024, PAGE_BYTES),
          path,
        );
      const { symbols, suffixes, second, budget } = arrays;
      const contentHash = chunkTables.contentHash;
      const sections: Sections = {
        source: path,
        vocabStarts: tables.vocabStarts,
        vocabBytes: tables.vocabBytes,
        bucketStarts: tables.bucketStarts,
        chunkFirstWord: chunkTables.chunkFirstWord,
        chunkIndex: chunkTables.chunkIndex,
        contributionId: chunkTables.contributionId,
        symbols,
        suffixes,
        second,
        contentHash: (c) => contentHash.subarray(32 * c, 32 * c + 32),
        // From the descriptor, not the path: the path may name a newer file by now.
        bytes: () => read(0, size),
        writeFile: (to) => replaceFile(to, (tmp) => copyOpenFile(fd, size, tmp, path)),
      };
      const root = bytesToHex(header.subarray(24, 56));
      return new SpanIndex(root, budget ? "pread" : "mmap", sections, () => closeSync(fd), budget);
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

  /** The symbol of each word in this index (its vocabulary rank + 2), or 0 for a word it lacks. */
  symbolsOf(words: readonly Uint8Array[]): Int32Array {
    const { vocabStarts, vocabBytes } = this.#s;
    const out = new Int32Array(words.length);
    for (let i = 0; i < words.length; i++) {
      let a = 0;
      let b = vocabStarts.length - 1;
      while (a < b) {
        const mid = (a + b) >>> 1;
        const c = compareVocabularyWord(vocabBytes, vocabStarts[mid], vocabStarts[mid + 1], words[i]);
        if (c === 0) {
          out[i] = mid + 2;
          break;
        }
        if (c < 0) a = mid + 1;
        else b = mid;
      }
    }
    return out;
  }

  /**
   * The longest run of `symbols` (see symbolsOf) starting at `start` that occurs inside one chunk, if
   * it has at least `minLength` words, with its suffix-array interval; otherwise null.
   */
  longestMatch(
    symbols: Int32Array,
    start: number,
    minLength: number,
  ): { length: number; lo: number; hi: number } | null {
    if (start + minLength > symbols.length) return null;
    const { lo, hi } = this.matchIntervals(symbols, start, minLength);
    const k = lo.length;
    return k === 0 ? null : { length: k, lo: lo[k - 1], hi: hi[k - 1] };
  }

  /**
   * The suffix-array intervals of the runs `symbols[start..start+k)` for k = 1, 2, ... while the run
   * occurs inside one chunk: `lo[k-1]`, `hi[k-1]`. Empty when the run is shorter than `minLength`.
   * The first word's interval is its bucket, the second's is remembered across queries, and once an
   * interval is at most SCAN_WIDTH wide its suffixes are read on word by word instead of searched.
   */
  matchIntervals(symbols: Int32Array, start: number, minLength: number): { lo: number[]; hi: number[] } {
    this.#checkOpen();
    const los: number[] = [];
    const his: number[] = [];
    const first = symbols[start];
    if (start + minLength > symbols.length || first < 2) return { lo: los, hi: his };
    let lo = this.#s.bucketStarts[first - 2];
    let hi = this.#s.bucketStarts[first - 1];
    los.push(lo);
    his.push(hi);
    for (let k = 1; start + k < symbols.length; k++) {
      const next = symbols[start + k];
      if (next < 2) break;
      if (hi - lo <= SCAN_WIDTH) {
        this.#scan(symbols, start, k, lo, hi, los, his);
        break;
      }
      if (k === 1) {
        [lo, hi] = this.#secondWordInterval(first, next, lo, hi);
      } else {
        lo = this.#narrow(lo, hi, k, next);
        hi = this.#hi;
      }
      if (lo === hi) break;
      los.push(lo);
      his.push(hi);
    }
    if (los.length < minLength) return { lo: [], hi: [] };
    return { lo: los, hi: his };
  }

  /** The interval of the two-word prefix (first, second) inside first's bucket [lo, hi), remembered. */
  #secondWordInterval(first: number, second: number, lo: number, hi: number): readonly [number, number] {
    // The numeric key is exact while radix^2 < 2^53; a larger vocabulary searches every time.
    const key = this.#radix <= 2 ** 26 ? first * this.#radix + second : -1;
    let hit = this.#prefixes.get(key);
    if (hit === undefined) {
      hit = [this.#narrowSecond(lo, hi, second), this.#hi];
      if (key < 0) return hit;
      if (this.#prefixes.size >= PREFIX_CACHE) this.#prefixes.clear();
      this.#prefixes.set(key, hit);
    }
    return hit;
  }

  /** The corpus position of suffix-array entry x, checked (a corrupt file must not read out of range). */
  #suffix(x: number): number {
    this.#probes++;
    const p = this.#s.suffixes.at(x);
    if (!(p < this.#s.symbols.length)) {
      throw new IndexFormatError(`${this.#s.source}: corrupt index (suffix array entry ${x}); rebuild it`);
    }
    return p;
  }

  /**
   * The sub-interval of `[lo, hi)` (suffixes sharing k words) whose word k is `symbol`: returns its
   * start, and its end in #hi. One search until a probe hits the symbol, then one per end.
   */
  #narrow(lo: number, hi: number, k: number, symbol: number): number {
    const symbols = this.#s.symbols;
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      const s = symbols.at(this.#suffix(mid) + k);
      if (s < symbol) a = mid + 1;
      else if (s > symbol) b = mid;
      else {
        let a2 = mid + 1;
        const b2 = b;
        b = mid;
        while (a < b) {
          const m = (a + b) >>> 1;
          if (symbols.at(this.#suffix(m) + k) < symbol) a = m + 1;
          else b = m;
        }
        let c = b2;
        while (a2 < c) {
          const m = (a2 + c) >>> 1;
          if (symbols.at(this.#suffix(m) + k) <= symbol) a2 = m + 1;
          else c = m;
        }
        this.#hi = a2;
        return a;
      }
    }
    this.#hi = a;
    return a;
  }

  /**
   * #narrow for the second word inside a first word's bucket, on the second-word array: no suffix or
   * symbol read, and the last steps of the search stay inside one page.
   */
  #narrowSecond(lo: number, hi: number, symbol: number): number {
    const second = this.#s.second;
    let a = lo;
    let b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (second.at(mid) < symbol) a = mid + 1;
      else b = mid;
    }
    const first = a;
    b = hi;
    while (a < b) {
      const mid = (a + b) >>> 1;
      if (second.at(mid) <= symbol) a = mid + 1;
      else b = mid;
    }
    this.#hi = a;
    return first;
  }

  /**
   * Extends a narrow interval [lo, hi) of suffixes sharing `k` words by reading each suffix on until
   * it differs from the run; the suffixes sharing k' > k words are a contiguous part of the interval.
   */
  #scan(run: Int32Array, start: number, k: number, lo: number, hi: number, los: number[], his: number[]) {
    const symbols = this.#s.symbols;
    const matched = new Int32Array(hi - lo);
    let longest = k;
    for (let x = lo; x < hi; x++) {
      const p = this.#suffix(x);
      let t = k;
      while (start + t < run.length && symbols.at(p + t) === run[start + t]) t++;
      matched[x - lo] = t;
      if (t > longest) longest = t;
    }
    for (let length = k + 1; length <= longest; length++) {
      let first = -1;
      let last = -1;
      for (let i = 0; i < matched.length; i++) {
        if (matched[i] >= length) {
          if (first < 0) first = i;
          last = i;
        }
      }
      los.push(lo + first);
      his.push(lo + last + 1);
    }
  }

  /**
   * The smallest corpus position in suffix-array entries [lo, hi) (0xffffffff if empty). Positions
   * order as (contributionId, chunkIndex, word offset), and p + d stays in p's chunk for a match.
   */
  minPosition(lo: number, hi: number): number {
    this.#checkOpen();
    let first = 0xffffffff;
    for (let x = lo; x < hi; x++) {
      const p = this.#suffix(x);
      if (p < first) first = p;
    }
    return first;
  }

  /** The (contributionId, chunkIndex, word offset) of a corpus position. */
  occurrenceAt(position: number): Occurrence {
    const firstWords = this.#s.chunkFirstWord;
    // Chunk c's words start at position firstWords[c] + c (one end symbol after each chunk).
    let a = 0;
    let b = this.chunkCount - 1;
    while (a < b) {
      const mid = (a + b + 1) >>> 1;
      if (firstWords[mid] + mid <= position) a = mid;
      else b = mid - 1;
    }
    return {
      contributionId: this.#s.contributionId[a],
      chunkIndex: this.#s.chunkIndex[a],
      chunkWordOffset: position - firstWords[a] - a,
    };
  }

  /** The smallest occurrence in a suffix-array interval. */
  firstOccurrence(lo: number, hi: number): Occurrence {
    return this.occurrenceAt(this.minPosition(lo, hi));
  }
}

interface FileArrays {
  symbols: PagedArray;
  suffixes: PagedArray;
  second: PagedArray;
  /** Only for positioned reads. */
  budget?: PageBudget;
}

/**
 * The large arrays of an opened file memory-mapped, or undefined where mapping is not possible (the
 * addon did not build, or the runtime or the kernel refuses the mapping).
 */
function mapArrays(
  fd: number,
  layout: SectionLayout,
  counts: HeaderCounts,
  path: string,
): FileArrays | undefined {
  const addon = mmapAddon();
  if (!addon) return undefined;
  try {
    const map = (offset: number, length: number) =>
      PagedArray.of(new Uint32Array(addon.map(fd, offset, 4 * length)), path);
    return {
      symbols: map(layout.symbols, counts.words + counts.chunks),
      suffixes: map(layout.suffixes, counts.words),
      second: map(layout.second, counts.words),
    };
  } catch {
    return undefined;
  }
}

/** The large arrays of an opened file read a page at a time with positioned reads. */
function pagedArrays(
  fd: number,
  layout: SectionLayout,
  counts: HeaderCounts,
  budget: PageBudget,
  path: string,
): FileArrays {
  return {
    symbols: PagedArray.fromFile(fd, layout.symbols, counts.words + counts.chunks, 4, budget, path),
    suffixes: PagedArray.fromFile(fd, layout.suffixes, counts.words, 4, budget, path),
    second: PagedArray.fromFile(fd, layout.second, counts.words, 4, budget, path),
    budget,
  };
}

/** Compares vocabulary bytes [from, to) with `word` (byte order, shorter prefix first), in place. */
function compareVocabularyWord(vocab: Uint8Array, from: number, to: number, word: Uint8Array): number {
  const n = Math.min(to - from, word.length);
  for (let i = 0; i < n; i++) {
    const d = vocab[from + i] - word[i];
    if (d !== 0) return d;
  }
  return to - from - word.length;
}

/** Views of the sections of `bytes` (a file read whole, or its "front" or "back" tables read at `at`). */
function viewSections(
  bytes: Uint8Array,
  at: number,
  counts: HeaderCounts,
  layout: SectionLayout,
  part?: "front" | "back",
): RawSections {
  const { chunks, words, vocabSize, vocabBytes } = counts;
  const ab = bytes.buffer;
  const base = bytes.byteOffset - at;
  const none = new Uint32Array(0);
  const front = part !== "back";
  const back = part !== "front";
  const whole = part === undefined;
  return {
    vocabStarts: front ? new Uint32Array(ab, base + layout.vocabStarts, vocabSize + 1) : none,
    vocabBytes: front ? new Uint8Array(ab, base + layout.vocab, vocabBytes) : new Uint8Array(0),
    bucketStarts: front ? new Uint32Array(ab, base + layout.bucketStarts, vocabSize + 1) : none,
    symbols: whole ? new Uint32Array(ab, base + layout.symbols, words + chunks) : none,
    suffixes: whole ? new Uint32Array(ab, base + layout.suffixes, words) : none,
    second: whole ? new Uint32Array(ab, base + layout.second, words) : none,
    chunkFirstWord: back ? new Uint32Array(ab, base + layout.chunkFirstWord, chunks + 1) : none,
    chunkIndex: back ? new Uint32Array(ab, base + layout.chunkIndex, chunks) : none,
    contributionId: back
      ? new BigUint64Array(ab, base + layout.contributionId, chunks)
      : new BigUint64Array(0),
    contentHash: back ? new Uint8Array(ab, base + layout.contentHash, 32 * chunks) : new Uint8Array(0),
  };
}
