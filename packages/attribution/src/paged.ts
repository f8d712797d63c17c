import { readSync } from "node:fs";
import { IndexFormatError } from "./errors.ts";

/** u8 or u32 entries, read through `at(i)`. */
type Entries = Uint8Array | Uint32Array;

interface FileSection {
  fd: number;
  offset: number;
  bytesPerEntry: 1 | 4;
  budget: PageBudget;
  source: string;
}

/**
 * Resident pages shared by every PagedArray of one opened file. Eviction is second-chance (CLOCK):
 * the oldest page goes unless it was read since it was last passed over, so the pages every binary
 * search starts with (the top levels) stay resident.
 */
export class PageBudget {
  readonly #maxPages: number;
  readonly #resident: { owner: PagedArray; page: number }[] = [];
  #head = 0;
  /** Pages read from the file so far. */
  reads = 0;

  constructor(
    maxBytes: number,
    readonly pageBytes: number,
  ) {
    this.#maxPages = Math.max(16, Math.floor(maxBytes / pageBytes));
  }

  admit(owner: PagedArray, page: number): void {
    this.reads++;
    this.#resident.push({ owner, page });
    while (this.#resident.length - this.#head > this.#maxPages) {
      const old = this.#resident[this.#head++];
      if (old.owner.takeUsed(old.page)) this.#resident.push(old);
      else old.owner.evict(old.page);
    }
    if (this.#head > 4096) {
      this.#resident.splice(0, this.#head);
      this.#head = 0;
    }
  }
}

/**
 * A read-only array of u8 or u32 entries that is either one in-memory (or memory-mapped) typed array or a section of
 * a file read a page at a time with positioned reads (`pread`): only the pages a query touches are
 * resident, up to a budget, and the operating system's page cache keeps the file warm between them.
 * Every read is bounds-checked in both forms, so a corrupt file fails with IndexFormatError.
 */
export class PagedArray {
  readonly length: number;
  readonly #pages: (Entries | undefined)[];
  /** Per page: read since the eviction clock last passed it. */
  readonly #used: Uint8Array;
  readonly #shift: number;
  readonly #mask: number;
  readonly #file: FileSection | undefined;
  /** The whole array when it is in memory (or memory-mapped). */
  readonly #direct: Entries | undefined;
  /** The file path (or "index") for error messages. */
  readonly #source: string;

  private constructor(
    length: number,
    pages: (Entries | undefined)[],
    shift: number,
    source: string,
    file?: FileSection,
    direct?: Entries,
  ) {
    this.length = length;
    this.#source = source;
    this.#direct = direct;
    this.#pages = pages;
    this.#used = new Uint8Array(pages.length);
    this.#shift = shift;
    this.#mask = 2 ** shift - 1;
    this.#file = file;
  }

  /** Wraps an in-memory (or memory-mapped) typed array; `source` names it in errors. */
  static of(entries: Entries, source = "index"): PagedArray {
    return new PagedArray(entries.length, [], 0, source, undefined, entries);
  }

  /** `length` entries of `bytesPerEntry` bytes at byte `offset` of the open file `fd`. */
  static fromFile(
    fd: number,
    offset: number,
    length: number,
    bytesPerEntry: 1 | 4,
    budget: PageBudget,
    source: string,
  ): PagedArray {
    const shift = Math.log2(budget.pageBytes / bytesPerEntry);
    const pages = new Array<Entries | undefined>(Math.ceil(length / 2 ** shift)).fill(undefined);
    return new PagedArray(length, pages, shift, source, { fd, offset, bytesPerEntry, budget, source });
  }

  /** Entry `i`; an index outside [0, length) (a corrupt file's pointer) throws IndexFormatError. */
  at(i: number): number {
    const direct = this.#direct;
    let value: number | undefined;
    if (direct !== undefined) value = direct[i];
    else {
      const p = i >>> this.#shift;
      const page = this.#pages[p] ?? this.#load(i);
      this.#used[p] = 1;
      value = page[i & this.#mask];
    }
    // A typed array reads undefined outside its bounds (also past the end of a resident last page),
    // and undefined compares neither below nor above a symbol: it must not count as a match.
    if (value === undefined) throw this.#outOfRange(i);
    return value;
  }

  #outOfRange(i: number): IndexFormatError {
    return new IndexFormatError(`${this.#source}: corrupt index (entry ${i} of ${this.length}); rebuild it`);
  }

  evict(page: number): void {
    this.#pages[page] = undefined;
  }

  /** Whether `page` was read since the last call (clearing the mark). */
  takeUsed(page: number): boolean {
    const used = this.#used[page] === 1;
    this.#used[page] = 0;
    return used;
  }

  #load(i: number): Entries {
    const file = this.#file;
    if (!file || !(i >= 0 && i < this.length)) throw this.#outOfRange(i);
    const page = i >>> this.#shift;
    const first = page * 2 ** this.#shift;
    const count = Math.min(2 ** this.#shift, this.length - first);
    const bytes = new Uint8Array(count * file.bytesPerEntry);
    const position = file.offset + first * file.bytesPerEntry;
    if (readSync(file.fd, bytes, 0, bytes.length, position) !== bytes.length) {
      throw new IndexFormatError(`${file.source}: truncated at byte ${position}`);
    }
    const entries = file.bytesPerEntry === 4 ? new Uint32Array(bytes.buffer) : bytes;
    this.#pages[page] = entries;
    file.budget.admit(this, page);
    return entries;
  }
}
