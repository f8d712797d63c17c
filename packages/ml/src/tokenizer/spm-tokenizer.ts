// SentencePiece-style BPE as llama.cpp runs it for tokenizer.ggml.model "llama": spaces become "▁", adjacent
// pieces merge highest score first (leftmost on ties), and pieces outside the vocabulary fall back to bytes.
import { FormatError } from "../formats/errors.ts";
import { SpecialTokenSplitter } from "./special-tokens.ts";
import { type SpmVocab, type Tokenizer, TokenType } from "./vocab.ts";

const SPACE = "\u2581";

interface Symbol {
  start: number;
  n: number;
  prev: number;
  next: number;
}

interface Bigram {
  left: number;
  right: number;
  score: number;
  size: number;
}

/** Max-heap on score; on equal scores the leftmost pair first. */
function above(a: Bigram, b: Bigram): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

class BigramHeap {
  private items: Bigram[] = [];
  get size() {
    return this.items.length;
  }
  push(b: Bigram) {
    const h = this.items;
    h.push(b);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!above(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): Bigram {
    const h = this.items;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        let m = i;
        if (l < h.length && above(h[l], h[m])) m = l;
        if (l + 1 < h.length && above(h[l + 1], h[m])) m = l + 1;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

const utf8 = new TextEncoder();

export class SpmTokenizer implements Tokenizer {
  readonly vocab: SpmVocab;
  private readonly ids = new Map<string, number>();
  private readonly byteIds: (number | undefined)[] = [];
  private readonly specials: SpecialTokenSplitter;

  constructor(vocab: SpmVocab) {
    this.vocab = vocab;
    if (vocab.tokenTypes.length !== vocab.tokens.length || vocab.scores.length !== vocab.tokens.length) {
      throw new FormatError(
        `vocabulary has ${vocab.tokens.length} tokens, ${vocab.scores.length} scores, ${vocab.tokenTypes.length} types`,
      );
    }
    vocab.tokens.forEach((t, i) => {
      if (!this.ids.has(t)) this.ids.set(t, i);
      if (vocab.tokenTypes[i] === TokenType.BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(t);
        if (m) this.byteIds[Number.parseInt(m[1], 16)] = i;
      }
    });
    for (const id of [vocab.bosId, vocab.eosId, vocab.padId, vocab.unkId]) {
      if (id !== undefined && (id < 0 || id >= vocab.tokens.length)) {
        throw new FormatError(`special token id ${id} is outside the vocabulary of ${vocab.tokens.length}`);
      }
    }
    this.specials = new SpecialTokenSplitter(vocab.tokens, vocab.tokenTypes);
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

  encode(text: string, options: { addBos?: boolean; allowSpecial?: boolean } = {}): number[] {
    const out: number[] = [];
    if ((options.addBos ?? this.vocab.addBos) && this.vocab.bosId !== undefined) out.push(this.vocab.bosId);
    let prevSpecial = true;
    for (const part of this.specials.split(text, options.allowSpecial ?? true)) {
      if (typeof part === "number") {
        out.push(part);
        prevSpecial = true;
        continue;
      }
      if (part.length === 0) continue;
      const prefixed = this.vocab.addSpacePrefix && prevSpecial ? ` ${part}` : part;
      this.encodePiece(prefixed.replaceAll(" ", SPACE), out);
      prevSpecial = false;
    }
    return out;
  }

  private encodePiece(text: string, out: number[]): void {
    const chars = [...text];
    if (chars.length === 0) return;
    const symbols: Symbol[] = [];
    let start = 0;
    chars.forEach((ch, i) => {
      symbols.push({ start, n: ch.length, prev: i - 1, next: i + 1 < chars.length ? i + 1 : -1 });
      start += ch.length;
    });
    const heap = new BigramHeap();
    const revMerge = new Map<string, [number, number]>();
    const tryAdd = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const piece = text.slice(symbols[left].start, symbols[left].start + symbols[left].n + symbols[right].n);
      const id = this.ids.get(piece);
      if (id === undefined) return;
      heap.push({ left, right, score: this.vocab.scores[id], size: piece.length });
      revMerge.set(piece, [left, right]);
    };
    for (let i = 1; i < symbols.length; i++) tryAdd(i - 1, i);
    while (heap.size > 0) {
      const b = heap.pop();
      const left = symbols[b.left];
      const right = symbols[b.right];
      if (left.n === 0 || right.n === 0 || left.n + right.n !== b.size) continue;
      left.n += right.n;
      right.n = 0;
      left.next = right.next;
      if (right.next >= 0) symbols[right.next].prev = b.left;
      tryAdd(left.prev, b.left);
      tryAdd(b.left, left.next);
    }
    const resegment = (s: Symbol) => {
      const piece = text.slice(s.start, s.start + s.n);
      const id = this.ids.get(piece);
      if (id !== undefined) {
        out.push(id);
        return;
      }
      const split = revMerge.get(piece);
      if (split) {
        resegment(symbols[split[0]]);
        resegment(symbols[split[1]]);
        return;
      }
      for (const byte of utf8.encode(piece)) {
        const bid = this.byteIds[byte] ?? this.vocab.unkId;
        if (bid === undefined) {
          throw new FormatError(
            `'${piece}' is not in the vocabulary, which has no byte pieces or unknown token`,
          );
        }
        out.push(bid);
      }
    };
    for (let i = 0; i !== -1; i = symbols[i].next) resegment(symbols[i]);
  }

  decodeBytes(ids: readonly number[], options: { skipSpecial?: boolean } = {}): Uint8Array {
    const bytes: number[] = [];
    let first = true;
    for (const id of ids) {
      const token = this.vocab.tokens[id];
      if (token === undefined)
        throw new FormatError(`token id ${id} is outside the vocabulary of ${this.size}`);
      const type = this.vocab.tokenTypes[id];
      if (type === TokenType.CONTROL) {
        if (!options.skipSpecial) for (const b of utf8.encode(token)) bytes.push(b);
        continue;
      }
      if (type === TokenType.BYTE) {
        const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(token);
        if (m) bytes.push(Number.parseInt(m[1], 16));
        first = false;
        continue;
      }
      let text = type === TokenType.USER_DEFINED ? token : token.replaceAll(SPACE, " ");
      // the space the encoder put in front of the input
      if (first && this.vocab.addSpacePrefix && text.startsWith(" ")) text = text.slice(1);
      first = false;
      for (const b of utf8.encode(text)) bytes.push(b);
    }
    return Uint8Array.from(bytes);
  }

  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    return new TextDecoder().decode(this.decodeBytes(ids, options));
  }
}
