// Deterministic byte-level BPE training: count pre-tokenised words, then repeatedly merge the most frequent
// adjacent pair. Ties go to the pair whose (left, right) token strings sort first, so equal corpora and
// options always give the same vocabulary.
import { BYTE_TO_CHAR, toByteLevel } from "./byte-level.ts";
import { preTokenizerRegexes, splitWords } from "./pretokenize.ts";
import { type BpeVocab, TokenType } from "./vocab.ts";

export interface TrainBpeOptions {
  /** Final vocabulary size including the 256 byte tokens and the special tokens. */
  vocabSize: number;
  /** Special tokens appended after the learned ones (default ["<|endoftext|>"]). */
  specialTokens?: string[];
  /** Pairs seen fewer times than this are never merged (default 2). */
  minFrequency?: number;
  bos?: string;
  eos?: string;
  addBos?: boolean;
}

interface Word {
  symbols: number[];
  count: number;
}

const SHIFT = 2 ** 21;

export function trainBpe(corpus: Iterable<string>, options: TrainBpeOptions): BpeVocab {
  const specials = options.specialTokens ?? ["<|endoftext|>"];
  const minFrequency = options.minFrequency ?? 2;
  const target = options.vocabSize - specials.length;
  if (!Number.isInteger(options.vocabSize) || target < 256 || options.vocabSize >= SHIFT) {
    throw new RangeError(
      `vocabSize must leave room for 256 byte tokens and ${specials.length} special tokens`,
    );
  }
  const regex = preTokenizerRegexes("gpt-2");
  const counts = new Map<string, number>();
  for (const text of corpus) {
    for (const w of splitWords(text, regex)) {
      const b = toByteLevel(w);
      counts.set(b, (counts.get(b) ?? 0) + 1);
    }
  }

  const tokens = [...BYTE_TO_CHAR];
  const ids = new Map(tokens.map((t, i) => [t, i]));
  // Words in a fixed order so every later step is independent of Map insertion history.
  const words: Word[] = [...counts]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([w, count]) => ({ symbols: [...w].map((ch) => ids.get(ch)!), count }));

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const addPairs = (wi: number, sign: number) => {
    const { symbols, count } = words[wi];
    for (let i = 0; i < symbols.length - 1; i++) {
      const key = symbols[i] * SHIFT + symbols[i + 1];
      pairCount.set(key, (pairCount.get(key) ?? 0) + sign * count);
      if (sign > 0) {
        let set = pairWords.get(key);
        if (!set) pairWords.set(key, (set = new Set()));
        set.add(wi);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1);

  const heap = new PairHeap(tokens);
  for (const [key, c] of pairCount) heap.push(c, key);

  const merges: [string, string][] = [];
  while (tokens.length < target) {
    let best: number | undefined;
    while (heap.size > 0) {
      const top = heap.pop()!;
      if (pairCount.get(top.key) === top.count) {
        best = top.key;
        break;
      }
    }
    if (best === undefined || pairCount.get(best)! < minFrequency) break;
    const a = Math.floor(best / SHIFT);
    const b = best % SHIFT;
    const merged = tokens[a] + tokens[b];
    let id = ids.get(merged);
    if (id === undefined) {
      id = tokens.length;
      tokens.push(merged);
      ids.set(merged, id);
    }
    merges.push([tokens[a], tokens[b]]);
    const touched = new Set<number>();
    for (const wi of [...pairWords.get(best)!].sort((x, y) => x - y)) {
      const { symbols } = words[wi];
      let has = false;
      for (let i = 0; i < symbols.length - 1 && !has; i++) has = symbols[i] === a && symbols[i + 1] === b;
      if (!has) continue;
      collectPairs(symbols, touched);
      addPairs(wi, -1);
      const next: number[] = [];
      for (let i = 0; i < symbols.length; i++) {
        if (i < symbols.length - 1 && symbols[i] === a && symbols[i + 1] === b) {
          next.push(id);
          i++;
        } else next.push(symbols[i]);
      }
      words[wi].symbols = next;
      addPairs(wi, 1);
      collectPairs(next, touched);
    }
    pairWords.delete(best);
    pairCount.delete(best);
    for (const key of touched) {
      const c = pairCount.get(key);
      if (c === undefined) continue;
      if (c <= 0) {
        pairCount.delete(key);
        pairWords.delete(key);
      } else heap.push(c, key);
    }
  }

  const tokenTypes = tokens.map(() => TokenType.NORMAL as number);
  for (const s of specials) {
    tokens.push(s);
    tokenTypes.push(TokenType.CONTROL);
  }
  const specialId = (s: string | undefined) => (s === undefined ? undefined : tokens.lastIndexOf(s));
  const bosId = specialId(options.bos ?? specials[0]);
  const eosId = specialId(options.eos ?? specials[0]);
  return {
    tokens,
    merges,
    tokenTypes,
    pre: "gpt-2",
    bosId: bosId !== undefined && bosId >= 0 ? bosId : undefined,
    eosId: eosId !== undefined && eosId >= 0 ? eosId : undefined,
    addBos: options.addBos ?? false,
  };
}

function collectPairs(symbols: number[], into: Set<number>) {
  for (let i = 0; i < symbols.length - 1; i++) into.add(symbols[i] * SHIFT + symbols[i + 1]);
}

/** Max-heap of (count, pair) with the deterministic tie-break on token strings; stale entries are skipped. */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  constructor(private readonly tokens: string[]) {}

  get size(): number {
    return this.counts.length;
  }

  /** Whether entry i ranks above entry j. */
  private above(i: number, j: number): boolean {
    if (this.counts[i] !== this.counts[j]) return this.counts[i] > this.counts[j];
    const ki = this.keys[i];
    const kj = this.keys[j];
    const li = this.tokens[Math.floor(ki / SHIFT)];
    const lj = this.tokens[Math.floor(kj / SHIFT)];
    if (li !== lj) return li < lj;
    return this.tokens[ki % SHIFT] < this.tokens[kj % SHIFT];
  }

  private swap(i: number, j: number) {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }

  push(count: number, key: number) {
    this.counts.push(count);
    this.keys.push(key);
    let i = this.counts.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }

  pop(): { count: number; key: number } | undefined {
    if (this.counts.length === 0) return undefined;
    const top = { count: this.counts[0], key: this.keys[0] };
    const lastC = this.counts.pop()!;
    const lastK = this.keys.pop()!;
    if (this.counts.length > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < this.counts.length && this.above(l, m)) m = l;
        if (r < this.counts.length && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}
