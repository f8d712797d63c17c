import { closeSync, openSync, readSync, renameSync, rmSync, writeSync } from "node:fs";
import { type Hex, hexToBytes } from "viem";
import { IndexFormatError } from "./errors.ts";

/** The span index file format (README, "Index"): header, sections, checks. */
const MAGIC = "OLSPANIX";
export const SPAN_INDEX_VERSION = 3;
export const HEADER_BYTES = 64;
/** Symbol of a chunk end in the symbol string; word symbols are their vocabulary rank + 2. */
export const END_OF_CHUNK = 1;

// Plain arithmetic, not bit operations: index files may exceed 2 GiB.
const align8 = (n: number) => Math.ceil(n / 8) * 8;

export interface HeaderCounts {
  chunks: number;
  words: number;
  vocabSize: number;
  vocabBytes: number;
}

/** The index's arrays in memory (what `build` makes and `load` wraps). */
export interface RawSections {
  /** Per vocabulary rank r: its bytes are vocabBytes[vocabStarts[r]..vocabStarts[r+1]). */
  vocabStarts: Uint32Array;
  vocabBytes: Uint8Array;
  /** Per rank r: the first suffix-array entry whose suffix starts with word r (and the total at V). */
  bucketStarts: Uint32Array;
  /** Per corpus position (words and chunk ends): rank + 2, or END_OF_CHUNK. */
  symbols: Uint32Array;
  /** Corpus positions of the words, in suffix order. */
  suffixes: Uint32Array;
  /** Per suffix-array entry: the symbol after its first word (a two-word search reads nothing else). */
  second: Uint32Array;
  chunkFirstWord: Uint32Array;
  chunkIndex: Uint32Array;
  contributionId: BigUint64Array;
  contentHash: Uint8Array;
}

export type SectionLayout = ReturnType<typeof sectionLayout>;

/** Byte offsets of the sections (little-endian, each 8-aligned). */
export function sectionLayout({ chunks, words, vocabSize, vocabBytes }: HeaderCounts) {
  const vocabStarts = HEADER_BYTES;
  const vocab = align8(vocabStarts + 4 * (vocabSize + 1));
  const bucketStarts = align8(vocab + vocabBytes);
  const symbols = align8(bucketStarts + 4 * (vocabSize + 1));
  const suffixes = align8(symbols + 4 * (words + chunks));
  const second = align8(suffixes + 4 * words);
  const chunkFirstWord = align8(second + 4 * words);
  const chunkIndex = align8(chunkFirstWord + 4 * (chunks + 1));
  const contributionId = align8(chunkIndex + 4 * chunks);
  const contentHash = contributionId + 8 * chunks;
  return {
    vocabStarts,
    vocab,
    bucketStarts,
    symbols,
    suffixes,
    second,
    chunkFirstWord,
    chunkIndex,
    contributionId,
    contentHash,
    total: contentHash + 32 * chunks,
  };
}

/** Checks the magic and version of a header (its first 64 bytes) and reads the section sizes. */
export function readHeader(header: Uint8Array, source: string): HeaderCounts {
  for (let i = 0; i < MAGIC.length; i++) {
    if (header[i] !== MAGIC.charCodeAt(i))
      throw new IndexFormatError(`${source}: not a span index (bad magic)`);
  }
  const view = new DataView(header.buffer, header.byteOffset, HEADER_BYTES);
  const version = view.getUint32(8, true);
  if (version < SPAN_INDEX_VERSION) {
    throw new IndexFormatError(
      `${source}: index version ${version} is an older layout that this build no longer reads; rebuild it ` +
        "(openledger attribute-index <snapshot export dir> -o <file>; openledger up rebuilds its own)",
    );
  }
  if (version !== SPAN_INDEX_VERSION) {
    throw new IndexFormatError(
      `${source}: index version ${version}; this build reads version ${SPAN_INDEX_VERSION}`,
    );
  }
  return {
    chunks: view.getUint32(12, true),
    words: view.getUint32(16, true),
    vocabSize: view.getUint32(20, true),
    vocabBytes: view.getUint32(56, true),
  };
}

/** Whether `header` starts a span index of the version this build reads. */
export function isCurrentHeader(header: Uint8Array): boolean {
  try {
    readHeader(header, "index");
    return true;
  } catch {
    return false;
  }
}

function headerBytes(root: Hex, s: RawSections): Uint8Array {
  const header = new Uint8Array(HEADER_BYTES);
  const view = new DataView(header.buffer);
  for (let i = 0; i < MAGIC.length; i++) header[i] = MAGIC.charCodeAt(i);
  view.setUint32(8, SPAN_INDEX_VERSION, true);
  view.setUint32(12, s.chunkIndex.length, true);
  view.setUint32(16, s.suffixes.length, true);
  view.setUint32(20, s.vocabStarts.length - 1, true);
  header.set(hexToBytes(root), 24);
  view.setUint32(56, s.vocabBytes.length, true);
  return header;
}

/** The header and the sections with their file offsets. */
function fileParts(root: Hex, s: RawSections): { at: number; bytes: Uint8Array }[] {
  const layout = sectionLayout({
    chunks: s.chunkIndex.length,
    words: s.suffixes.length,
    vocabSize: s.vocabStarts.length - 1,
    vocabBytes: s.vocabBytes.length,
  });
  const part = (a: Uint8Array | Uint32Array | BigUint64Array, at: number) => ({
    at,
    bytes: new Uint8Array(a.buffer, a.byteOffset, a.byteLength),
  });
  return [
    { at: 0, bytes: headerBytes(root, s) },
    part(s.vocabStarts, layout.vocabStarts),
    part(s.vocabBytes, layout.vocab),
    part(s.bucketStarts, layout.bucketStarts),
    part(s.symbols, layout.symbols),
    part(s.suffixes, layout.suffixes),
    part(s.second, layout.second),
    part(s.chunkFirstWord, layout.chunkFirstWord),
    part(s.chunkIndex, layout.chunkIndex),
    part(s.contributionId, layout.contributionId),
    part(s.contentHash, layout.contentHash),
    { at: layout.total, bytes: new Uint8Array(0) },
  ];
}

/** The file bytes of an in-memory index. */
export function serialize(root: Hex, s: RawSections): Uint8Array {
  const parts = fileParts(root, s);
  const out = new Uint8Array(parts[parts.length - 1].at);
  for (const p of parts) out.set(p.bytes, p.at);
  return out;
}

/**
 * Writes `${path}.tmp` with `write` and renames it over `path`. Truncating `path` in place would pull
 * the pages from under a process that has the old file memory-mapped (SIGBUS) or change what its
 * reads return; after a rename that process keeps the old file until it closes it.
 */
export function replaceFile(path: string, write: (tmp: string) => void): void {
  const tmp = `${path}.tmp`;
  try {
    write(tmp);
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/**
 * Writes the file section by section (gaps are the zero padding), in writes of at most 1 GiB, and
 * replaces `path` with it in one rename.
 */
export function writeSections(path: string, root: Hex, s: RawSections): void {
  replaceFile(path, (tmp) => writeSectionsTo(tmp, root, s));
}

function writeSectionsTo(path: string, root: Hex, s: RawSections): void {
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

/** Copies the first `size` bytes of the open file `fd` to a new file `path`, 16 MiB at a time. */
export function copyOpenFile(fd: number, size: number, path: string, source: string): void {
  const buffer = new Uint8Array(Math.min(size, 16 * 1024 * 1024));
  const out = openSync(path, "w");
  try {
    for (let at = 0; at < size; ) {
      const got = readSync(fd, buffer, 0, Math.min(buffer.length, size - at), at);
      if (got === 0) throw new IndexFormatError(`${source}: short read at byte ${at}`);
      for (let done = 0; done < got; ) done += writeSync(out, buffer, done, got - done, at + done);
      at += got;
    }
  } finally {
    closeSync(out);
  }
}

/** Compares two byte strings (shorter prefix first). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/**
 * Checks of the tables an opened index holds in memory (a few bytes per chunk and per distinct
 * word): the vocabulary is strictly sorted, buckets and chunk ranges are monotone and add up.
 */
export function checkTables(
  s: Pick<RawSections, "vocabStarts" | "vocabBytes" | "bucketStarts" | "chunkFirstWord">,
  words: number,
  source: string,
): void {
  const bad = (what: string) => new IndexFormatError(`${source}: corrupt index (${what})`);
  const { vocabStarts, vocabBytes, bucketStarts, chunkFirstWord } = s;
  const chunks = chunkFirstWord.length - 1;
  if (chunkFirstWord[0] !== 0 || chunkFirstWord[chunks] !== words) throw bad("chunk table");
  for (let c = 0; c < chunks; c++) if (chunkFirstWord[c] > chunkFirstWord[c + 1]) throw bad("chunk table");
  const vocabSize = vocabStarts.length - 1;
  if (vocabStarts[0] !== 0 || vocabStarts[vocabSize] !== vocabBytes.length) throw bad("vocabulary");
  let previous: Uint8Array | undefined;
  for (let r = 0; r < vocabSize; r++) {
    if (vocabStarts[r] >= vocabStarts[r + 1]) throw bad("vocabulary");
    const word = vocabBytes.subarray(vocabStarts[r], vocabStarts[r + 1]);
    if (previous && compareBytes(previous, word) >= 0) throw bad("vocabulary order");
    previous = word;
  }
  if (bucketStarts[0] !== 0 || bucketStarts[vocabSize] !== words) throw bad("buckets");
  for (let r = 0; r < vocabSize; r++) if (bucketStarts[r] > bucketStarts[r + 1]) throw bad("buckets");
}

/**
 * The full check of an index loaded into memory, in sequential passes, so a corrupt file fails here
 * instead of answering wrongly: every word position holds a vocabulary symbol and every chunk end
 * the end symbol, each suffix-array entry is a word position in its first word's bucket, and each
 * second-word entry is the symbol after it.
 */
export function checkSections(s: RawSections, source: string): void {
  const words = s.suffixes.length;
  const bad = (what: string) => new IndexFormatError(`${source}: corrupt index (${what})`);
  checkTables(s, words, source);
  const vocabSize = s.vocabStarts.length - 1;
  const { symbols, suffixes, second, chunkFirstWord, bucketStarts } = s;
  const chunks = chunkFirstWord.length - 1;
  for (let c = 0; c < chunks; c++) {
    const end = chunkFirstWord[c + 1] + c;
    for (let p = chunkFirstWord[c] + c; p < end; p++) {
      if (symbols[p] < 2 || symbols[p] >= vocabSize + 2) throw bad("symbols");
    }
    if (symbols[end] !== END_OF_CHUNK) throw bad("symbols");
  }
  for (let r = 0; r < vocabSize; r++) {
    for (let x = bucketStarts[r]; x < bucketStarts[r + 1]; x++) {
      if (!(suffixes[x] < symbols.length) || symbols[suffixes[x]] !== r + 2) throw bad("suffix array");
      if (second[x] !== symbols[suffixes[x] + 1]) throw bad("second words");
    }
  }
}
