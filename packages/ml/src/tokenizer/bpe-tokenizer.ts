// Byte-level BPE tokenizer (GPT-2 family): special tokens, pre-tokenisation, ranked merges, byte-exact decoding.
import { FormatError } from "../formats/errors.ts";
import { fromByteLevel, toByteLevel } from "./byte-level.ts";
import { preTokenizerRegexes, splitWords } from "./pretokenize.ts";
import { SpecialTokenSplitter } from "./special-tokens.ts";
import { type BpeVocab, type Tokenizer, TokenType } from "./vocab.ts";

export interface EncodeOptions {
  /** Prepend BOS (default: the vocabulary's addBos). */
  addBos?: boolean;
  /** Recognise special-token text such as "<|endoftext|>" in the input (default true). */
  allowSpecial?: boolean;
}

const CACHE_LIMIT = 1 << 16;

export class BpeTokenizer implements Tokenizer {
  readonly vocab: BpeVocab;
  private readonly ids = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly specials: SpecialTokenSplitter;
  private readonly wordRegexes: RegExp[];
  private readonly cache = new Map<string, number[]>();
  /** Use a whole word's token directly when it is in the vocabulary (tokenizer.json "ignore_merges"). */
  readonly ignoreMerges: boolean;
  /** Unicode normalisation applied to ordinary text before pre-tokenisation (tokenizer.json "normalizer"). */
  readonly normalization: "NFC" | undefined;

  constructor(vocab: BpeVocab, options: { ignoreMerges?: boolean; normalization?: "NFC" } = {}) {
    this.vocab = vocab;
    this.ignoreMerges = options.ignoreMerges ?? false;
    this.normalization = options.normalization;
    if (vocab.tokenTypes.length !== vocab.tokens.length) {
      throw new FormatError(
        `vocabulary has ${vocab.tokens.length} tokens but ${vocab.tokenTypes.length} token types`,
      );
    }
    vocab.tokens.forEach((t, i) => {
      if (!this.ids.has(t)) this.ids.set(t, i);
    });
    vocab.merges.forEach(([a, b], rank) => {
      const key = `${a} ${b}`;
      if (!this.ranks.has(key)) this.ranks.set(key, rank);
    });
    for (const id of [vocab.bosId, vocab.eosId, vocab.padId, vocab.unkId]) {
      if (id !== undefined && (id < 0 || id >= vocab.tokens.length)) {
        throw new FormatError(`special token id ${id} is outside the vocabulary of ${vocab.tokens.length}`);
      }
    }
    this.specials = new SpecialTokenSplitter(vocab.tokens, vocab.tokenTypes);
    this.wordRegexes = preTokenizerRegexes(vocab.pre);
  }

  get size(): number {
    return this.vocab.tokens.length;
  }
  get bosId(): number | undefined {
    return this.vocab.bosId;
  }
  get eosId(): number | undefined {
    return this.vocab.eosId;
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  isSpecial(id: number): boolean {
    const t = this.vocab.tokenTypes[id];
    return t === TokenType.CONTROL || t === TokenType.USER_DEFINED;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const out: number[] = [];
    if ((options.addBos ?? this.vocab.addBos) && this.vocab.bosId !== undefined) out.push(this.vocab.bosId);
    for (const part of this.specials.split(text, options.allowSpecial ?? true)) {
      if (typeof part === "number") out.push(part);
      else this.encodeOrdinary(part, out);
    }
    return out;
  }

  private encodeOrdinary(text: string, out: number[]): void {
    const normal = this.normalization ? text.normalize(this.normalization) : text;
    for (const word of splitWords(normal, this.wordRegexes)) {
      for (const id of this.encodeWord(toByteLevel(word))) out.push(id);
    }
  }

  private encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    let ids: number[];
    const whole = this.ids.get(word);
    if (this.ignoreMerges && whole !== undefined) ids = [whole];
    else ids = this.merge(word).map((piece) => this.pieceId(piece, word));
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(word, ids);
    return ids;
  }

  /** Apply merges lowest rank first until none applies. */
  private merge(word: string): string[] {
    const parts = [...word];
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < parts.length - 1; i++) {
        const r = this.ranks.get(`${parts[i]} ${parts[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    return parts;
  }

  private pieceId(piece: string, word: string): number {
    const id = this.ids.get(piece);
    if (id !== undefined) return id;
    if (this.vocab.unkId !== undefined) return this.vocab.unkId;
    throw new FormatError(
      `token '${piece}' of word '${word}' is not in the vocabulary and it has no unknown token`,
    );
  }

  /** The bytes the tokens stand for; special tokens are written as their text unless skipped. */
  decodeBytes(ids: readonly number[], options: { skipSpecial?: boolean } = {}): Uint8Array {
    const bytes: number[] = [];
    for (const id of ids) {
      const token = this.vocab.tokens[id];
      if (token === undefined)
        throw new FormatError(`token id ${id} is outside the vocabulary of ${this.size}`);
      if (this.isSpecial(id)) {
        if (!options.skipSpecial) for (const b of new TextEncoder().encode(token)) bytes.push(b);
      } else fromByteLevel(token, bytes);
    }
    return Uint8Array.from(bytes);
  }

  /** Text of the tokens; invalid UTF-8 (a token sequence cut inside a character) becomes U+FFFD. */
  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    return new TextDecoder().decode(this.decodeBytes(ids, options));
  }
}
