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
 * Every index into the file is bounds-checked, so a corrupt file fails with IndexFormatError.
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

  private constructor(
    length: number,
    pages: (Entries | undefined)[],
    shift: number,
    file?: FileSection,
    direct?: Entries,
  ) {
    this.length = length;
    this.#direct = direct;
    this.#pages = pages;
    this.#used = new Uint8Array(pages.length);
    this.#shift = shift;
    this.#mask = 2 ** shift - 1;
    this.#file = file;
  }

  /** Wraps an in-memory (or memory-mapped) typed array. */
  static of(entries: Entries): PagedArray {
    return new PagedArray(entries.length, [], 0, undefined, entries);
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
    return new PagedArray(length, pages, shift, { fd, offset, bytesPerEntry, budget, source });
  }

  at(i: number): number {
    const direct = this.#direct;
    if (direct !== undefined) return direct[i];
    const p = i >>> this.#shift;
    const page = this.#pages[p] ?? this.#load(i);
    this.#used[p] = 1;
    return page[i & this.#mask];
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
    if (!file || !(i >= 0 && i < this.length)) {
      throw new IndexFormatError(`${file?.source ?? "index"}: corrupt index (entry ${i} of ${this.length})`);
    }
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
