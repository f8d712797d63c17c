/**
 * Near-duplicate detection: MinHash over word shingles, LSH banding for candidate lookup.
 * Everything is seeded and integer-only, so the same text always gives the same signature.
 */
export interface MinHashParams {
  /** Words per shingle. */
  shingle: number;
  /** Bands x rows = signature length. */
  bands: number;
  rows: number;
  seed: number;
}

export const DEFAULT_MINHASH: MinHashParams = { shingle: 3, bands: 42, rows: 3, seed: 0x0e1ed6e7 };

/** Estimated Jaccard at or above which two chunks count as near-duplicates. */
export const DEFAULT_NEAR_DUP_THRESHOLD = 0.4;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Lower-cased letter/digit words; punctuation and spacing differences do not matter. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];
}

/** Distinct hashes of the k-word shingles (each word hashed once, shingles combined from word hashes). */
export function shingleHashes(text: string, k: number): Uint32Array {
  const w = words(text);
  if (w.length === 0) return new Uint32Array(0);
  const wh = new Uint32Array(w.length);
  for (let i = 0; i < w.length; i++) wh[i] = fnv1a(w[i]);
  const n = Math.max(1, w.length - k + 1);
  const set = new Set<number>();
  for (let i = 0; i < n; i++) {
    let h = 0x811c9dc5;
    for (let r = i; r < i + k && r < w.length; r++) h = Math.imul(h ^ wh[r], 0x01000193);
    set.add(fmix32(h));
  }
  return Uint32Array.from(set);
}

export class MinHasher {
  readonly params: MinHashParams;
  private readonly seeds: Uint32Array;

  constructor(params: MinHashParams = DEFAULT_MINHASH) {
    this.params = params;
    const size = params.bands * params.rows;
    this.seeds = new Uint32Array(size);
    let s = params.seed >>> 0;
    for (let i = 0; i < size; i++) {
      s = (s + 0x9e3779b9) >>> 0;
      this.seeds[i] = fmix32(s);
    }
  }

  get size(): number {
    return this.seeds.length;
  }

  /** Signature of `text`; null when it has too few words to compare meaningfully. */
  signature(text: string): Uint32Array | null {
    const shingles = shingleHashes(text, this.params.shingle);
    if (shingles.length < this.params.shingle) return null;
    const sig = new Uint32Array(this.seeds.length).fill(0xffffffff);
    for (let j = 0; j < this.seeds.length; j++) {
      const seed = this.seeds[j];
      let min = 0xffffffff;
      for (let i = 0; i < shingles.length; i++) {
        let h = Math.imul(shingles[i] ^ seed, 0x85ebca6b);
        h ^= h >>> 13;
        h = Math.imul(h, 0xc2b2ae35);
        h = (h ^ (h >>> 16)) >>> 0;
        if (h < min) min = h;
      }
      sig[j] = min;
    }
    return sig;
  }

  /** Fraction of equal positions: an estimate of the Jaccard similarity of the shingle sets. */
  static similarity(a: Uint32Array, b: Uint32Array): number {
    let same = 0;
    for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
    return same / a.length;
  }
}

export interface NearMatch<K> {
  key: K;
  similarity: number;
}

/** LSH index: items whose signatures agree on every row of any one band become candidates. */
export class LshIndex<K> {
  private readonly hasher: MinHasher;
  private readonly buckets: Map<number, number[]>[];
  private readonly items: { key: K; sig: Uint32Array }[] = [];
  private readonly live: (boolean | undefined)[] = [];
  private readonly byKey = new Map<K, number[]>();

  constructor(hasher: MinHasher) {
    this.hasher = hasher;
    this.buckets = Array.from({ length: hasher.params.bands }, () => new Map());
  }

  get size(): number {
    return this.byKey.size;
  }

  private bandHash(sig: Uint32Array, band: number): number {
    const rows = this.hasher.params.rows;
    let h = band;
    for (let r = 0; r < rows; r++) h = fmix32(h ^ sig[band * rows + r]) + r;
    return h >>> 0;
  }

  add(key: K, sig: Uint32Array): void {
    const id = this.items.length;
    this.items.push({ key, sig });
    this.live.push(true);
    const ids = this.byKey.get(key);
    if (ids) ids.push(id);
    else this.byKey.set(key, [id]);
    for (let b = 0; b < this.buckets.length; b++) {
      const h = this.bandHash(sig, b);
      const bucket = this.buckets[b].get(h);
      if (bucket) bucket.push(id);
      else this.buckets[b].set(h, [id]);
    }
  }

  remove(key: K): void {
    for (const id of this.byKey.get(key) ?? []) this.live[id] = false;
    this.byKey.delete(key);
  }

  /** The best match at or above `threshold` (estimated Jaccard), if any. */
  query(sig: Uint32Array, threshold: number): NearMatch<K> | null {
    const seen = new Set<number>();
    let best: NearMatch<K> | null = null;
    for (let b = 0; b < this.buckets.length; b++) {
      const bucket = this.buckets[b].get(this.bandHash(sig, b));
      if (!bucket) continue;
      for (const id of bucket) {
        if (seen.has(id) || !this.live[id]) continue;
        seen.add(id);
        const sim = MinHasher.similarity(sig, this.items[id].sig);
        if (sim >= threshold && (!best || sim > best.similarity))
          best = { key: this.items[id].key, similarity: sim };
      }
    }
    return best;
  }
}
