/**
 * Distinct words of the index text by open addressing on an FNV-1a hash, with no string per word:
 * a word is identified by the text position and length of its first occurrence.
 */
export class Vocabulary {
  #text: Uint8Array;
  #slots = new Int32Array(1 << 16);
  #first = new Uint32Array(1 << 15);
  #length = new Uint32Array(1 << 15);
  #hash = new Uint32Array(1 << 15);
  size = 0;

  constructor(text: Uint8Array) {
    this.#text = text;
  }

  /** The id of the word at text[start, end) with hash `h`, adding it if new. */
  idOf(start: number, end: number, h: number): number {
    const text = this.#text;
    const len = end - start;
    const mask = this.#slots.length - 1;
    let slot = h & mask;
    for (;;) {
      const held = this.#slots[slot];
      if (held === 0) break;
      const id = held - 1;
      if (this.#hash[id] === h && this.#length[id] === len) {
        const f = this.#first[id];
        let k = 0;
        while (k < len && text[f + k] === text[start + k]) k++;
        if (k === len) return id;
      }
      slot = (slot + 1) & mask;
    }
    const id = this.size++;
    if (id === this.#first.length) this.#growEntries();
    this.#first[id] = start;
    this.#length[id] = len;
    this.#hash[id] = h;
    if (2 * this.size > this.#slots.length) {
      this.#rehash();
    } else {
      this.#slots[slot] = id + 1;
    }
    return id;
  }

  /**
   * The words in byte-lexicographic order: `order[r]` is the id of the r-th word, `rankOf[id]` its
   * position r, and `bytes[starts[r]..starts[r+1])` its bytes.
   */
  sorted(): { order: Uint32Array; rankOf: Uint32Array; starts: Uint32Array; bytes: Uint8Array } {
    const text = this.#text;
    const first = this.#first;
    const length = this.#length;
    const order = new Uint32Array(this.size);
    for (let i = 0; i < this.size; i++) order[i] = i;
    order.sort((a, b) => {
      const fa = first[a];
      const fb = first[b];
      const n = Math.min(length[a], length[b]);
      for (let k = 0; k < n; k++) {
        const d = text[fa + k] - text[fb + k];
        if (d !== 0) return d;
      }
      return length[a] - length[b];
    });
    const rankOf = new Uint32Array(this.size);
    const starts = new Uint32Array(this.size + 1);
    for (let r = 0; r < order.length; r++) {
      rankOf[order[r]] = r;
      starts[r + 1] = starts[r] + length[order[r]];
    }
    const bytes = new Uint8Array(starts[this.size]);
    for (let r = 0; r < order.length; r++) {
      const f = first[order[r]];
      bytes.set(text.subarray(f, f + length[order[r]]), starts[r]);
    }
    return { order, rankOf, starts, bytes };
  }

  #growEntries(): void {
    const grow = <T extends Uint32Array>(a: T): T => {
      const b = new Uint32Array(a.length * 2) as T;
      b.set(a);
      return b;
    };
    this.#first = grow(this.#first);
    this.#length = grow(this.#length);
    this.#hash = grow(this.#hash);
  }

  #rehash(): void {
    const slots = new Int32Array(this.#slots.length * 2);
    const mask = slots.length - 1;
    for (let id = 0; id < this.size; id++) {
      let slot = this.#hash[id] & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = id + 1;
    }
    this.#slots = slots;
  }
}
