import { readFileSync, writeFileSync } from "node:fs";
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, type Hex, hexToBytes, isHex } from "viem";
import { canonicalChunks } from "./chunks.ts";
import { IndexFormatError, InvalidChunkError } from "./errors.ts";
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

const align8 = (n: number) => (n + 7) & ~7;

interface Sections {
  text: Uint8Array;
  wordPos: Uint32Array;
  suffixes: Uint32Array;
  chunkFirstWord: Uint32Array;
  chunkIndex: Uint32Array;
  contributionId: BigUint64Array;
  contentHash: Uint8Array;
}

/**
 * A span-v1 index over one snapshot: the chunks' words as text, a word-level suffix array (SA-IS)
 * and the word -> (contributionId, chunkIndex, offset) map, all typed arrays (README, "Index").
 */
export class SpanIndex {
  readonly root: Hex;
  readonly #s: Sections;

  private constructor(root: Hex, sections: Sections) {
    this.root = root;
    this.#s = sections;
  }

  get chunkCount(): number {
    return this.#s.chunkIndex.length;
  }

  get wordCount(): number {
    return this.#s.wordPos.length;
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
    return new SpanIndex(root.toLowerCase() as Hex, {
      text: text.slice(0, pos),
      wordPos: wordPos.slice(0, words),
      suffixes,
      chunkFirstWord,
      chunkIndex,
      contributionId,
      contentHash,
    });
  }

  /** The persisted form (README, "Index"). */
  toBuffer(): Uint8Array {
    const s = this.#s;
    const layout = sectionLayout(s.text.length, s.wordPos.length, s.chunkIndex.length);
    const out = new Uint8Array(layout.total);
    const view = new DataView(out.buffer);
    for (let i = 0; i < MAGIC.length; i++) out[i] = MAGIC.charCodeAt(i);
    view.setUint32(8, SPAN_INDEX_VERSION, true);
    view.setUint32(12, s.chunkIndex.length, true);
    view.setUint32(16, s.wordPos.length, true);
    view.setUint32(20, s.text.length, true);
    out.set(hexToBytes(this.root), 24);
    out.set(s.text, layout.text);
    out.set(new Uint8Array(s.wordPos.buffer, s.wordPos.byteOffset, s.wordPos.byteLength), layout.wordPos);
    out.set(new Uint8Array(s.suffixes.buffer, s.suffixes.byteOffset, s.suffixes.byteLength), layout.suffixes);
    out.set(
      new Uint8Array(s.chunkFirstWord.buffer, s.chunkFirstWord.byteOffset, s.chunkFirstWord.byteLength),
      layout.chunkFirstWord,
    );
    out.set(
      new Uint8Array(s.chunkIndex.buffer, s.chunkIndex.byteOffset, s.chunkIndex.byteLength),
      layout.chunkIndex,
    );
    out.set(
      new Uint8Array(s.contributionId.buffer, s.contributionId.byteOffset, s.contributionId.byteLength),
      layout.contributionId,
    );
    out.set(s.contentHash, layout.contentHash);
    return out;
  }

  writeFile(path: string): void {
    writeFileSync(path, this.toBuffer());
  }

  /** Wraps a persisted index as typed-array views (one aligned copy at most, no per-entry objects). */
  static load(buffer: Uint8Array, source = "index"): SpanIndex {
    if (!(buffer instanceof Uint8Array)) throw new IndexFormatError(`${source}: expected bytes`);
    if (buffer.length < HEADER_BYTES)
      throw new IndexFormatError(`${source}: too short to be a span-v1 index`);
    for (let i = 0; i < MAGIC.length; i++) {
      if (buffer[i] !== MAGIC.charCodeAt(i))
        throw new IndexFormatError(`${source}: not a span-v1 index (bad magic)`);
    }
    const bytes = buffer.byteOffset % 8 === 0 ? buffer : buffer.slice();
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = view.getUint32(8, true);
    if (version !== SPAN_INDEX_VERSION) {
      throw new IndexFormatError(
        `${source}: index version ${version}; this build reads version ${SPAN_INDEX_VERSION}`,
      );
    }
    const chunks = view.getUint32(12, true);
    const words = view.getUint32(16, true);
    const textBytes = view.getUint32(20, true);
    const layout = sectionLayout(textBytes, words, chunks);
    if (layout.total !== bytes.length) {
      throw new IndexFormatError(
        `${source}: ${bytes.length} bytes but the header describes ${layout.total} (truncated or corrupt)`,
      );
    }
    const base = bytes.byteOffset;
    const ab = bytes.buffer;
    const sections: Sections = {
      text: new Uint8Array(ab, base + layout.text, textBytes),
      wordPos: new Uint32Array(ab, base + layout.wordPos, words),
      suffixes: new Uint32Array(ab, base + layout.suffixes, words),
      chunkFirstWord: new Uint32Array(ab, base + layout.chunkFirstWord, chunks + 1),
      chunkIndex: new Uint32Array(ab, base + layout.chunkIndex, chunks),
      contributionId: new BigUint64Array(ab, base + layout.contributionId, chunks),
      contentHash: new Uint8Array(ab, base + layout.contentHash, 32 * chunks),
    };
    checkSections(sections, source);
    return new SpanIndex(bytesToHex(bytes.subarray(24, 56)), sections);
  }

  static readFile(path: string): SpanIndex {
    return SpanIndex.load(readFileSync(path), path);
  }

  /** The chunk (contributionId, chunkIndex, contentHash) at chunk slot `c` (sorted order). */
  chunkAt(c: number): { contributionId: bigint; chunkIndex: number; contentHash: Hex } {
    return {
      contributionId: this.#s.contributionId[c],
      chunkIndex: this.#s.chunkIndex[c],
      contentHash: bytesToHex(this.#s.contentHash.subarray(32 * c, 32 * c + 32)),
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
    const { text, wordPos, suffixes } = this.#s;
    if (start + minLength > words.length) return null;
    let lo = 0;
    let hi = suffixes.length;
    let offset = 0;
    let k = 0;
    while (start + k < words.length) {
      const w = words[start + k];
      let a = lo;
      let b = hi;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (compareWord(text, wordPos[suffixes[mid]] + offset, w) < 0) a = mid + 1;
        else b = mid;
      }
      const newLo = a;
      b = hi;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (compareWord(text, wordPos[suffixes[mid]] + offset, w) <= 0) a = mid + 1;
        else b = mid;
      }
      if (a === newLo) break;
      lo = newLo;
      hi = a;
      offset += w.length + 1;
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
    const { text, wordPos, suffixes } = this.#s;
    const los: number[] = [];
    const his: number[] = [];
    let lo = 0;
    let hi = suffixes.length;
    let offset = 0;
    for (let k = 0; start + k < words.length; k++) {
      const w = words[start + k];
      let a = lo;
      let b = hi;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (compareWord(text, wordPos[suffixes[mid]] + offset, w) < 0) a = mid + 1;
        else b = mid;
      }
      const newLo = a;
      b = hi;
      while (a < b) {
        const mid = (a + b) >>> 1;
        if (compareWord(text, wordPos[suffixes[mid]] + offset, w) <= 0) a = mid + 1;
        else b = mid;
      }
      if (a === newLo) break;
      lo = newLo;
      hi = a;
      los.push(lo);
      his.push(hi);
      offset += w.length + 1;
    }
    if (los.length < minLength) return { lo: [], hi: [] };
    return { lo: los, hi: his };
  }

  /** The smallest global word number (corpus word order) in suffix-array entries [lo, hi). */
  minWord(lo: number, hi: number): number {
    const suffixes = this.#s.suffixes;
    let first = 0xffffffff;
    for (let x = lo; x < hi; x++) if (suffixes[x] < first) first = suffixes[x];
    return first;
  }

  /** The (contributionId, chunkIndex, word offset) of a global word number. */
  occurrenceAt(globalWord: number): Occurrence {
    return this.#occurrenceOf(globalWord);
  }

  /** The smallest occurrence in a suffix-array interval: global word order is (contributionId, chunkIndex, offset). */
  firstOccurrence(lo: number, hi: number): Occurrence {
    const suffixes = this.#s.suffixes;
    let first = suffixes[lo];
    for (let x = lo + 1; x < hi; x++) if (suffixes[x] < first) first = suffixes[x];
    return this.#occurrenceOf(first);
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

/** Bounds checks in one sequential pass, so a corrupt file fails here instead of reading out of range. */
function checkSections(s: Sections, source: string): void {
  const words = s.wordPos.length;
  const chunks = s.chunkIndex.length;
  const bad = (what: string) => new IndexFormatError(`${source}: corrupt index (${what})`);
  if (s.chunkFirstWord[0] !== 0 || s.chunkFirstWord[chunks] !== words) throw bad("chunk table");
  for (let c = 0; c < chunks; c++)
    if (s.chunkFirstWord[c] > s.chunkFirstWord[c + 1]) throw bad("chunk table");
  if (words > 0 && s.text[s.text.length - 1] !== END_OF_CHUNK) throw bad("text end");
  for (let g = 0; g < words; g++) {
    if (s.wordPos[g] >= s.text.length || (g > 0 && s.wordPos[g] <= s.wordPos[g - 1]))
      throw bad("word positions");
  }
  for (let x = 0; x < words; x++) if (s.suffixes[x] >= words) throw bad("suffix array");
}

/** Compares the indexed word at text position `p` with `word` (byte order, shorter prefix first). */
function compareWord(text: Uint8Array, p: number, word: Uint8Array): number {
  for (let t = 0; t < word.length; t++) {
    const a = text[p + t];
    const b = word[t];
    if (a !== b) return a < b ? -1 : 1;
  }
  const next = text[p + word.length];
  return next === SPACE ? 0 : next < SPACE ? -1 : 1;
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
