// Splitting input text around special-token strings ("<|endoftext|>", "<s>") before ordinary tokenisation.
import { TokenType } from "./vocab.ts";

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

export class SpecialTokenSplitter {
  readonly ids = new Map<string, number>();
  private readonly regex: RegExp | undefined;

  constructor(tokens: string[], types: number[]) {
    tokens.forEach((t, i) => {
      const type = types[i];
      if (
        (type === TokenType.CONTROL || type === TokenType.USER_DEFINED) &&
        t.length > 0 &&
        !this.ids.has(t)
      ) {
        this.ids.set(t, i);
      }
    });
    const specials = [...this.ids.keys()].sort((a, b) => b.length - a.length);
    this.regex = specials.length ? new RegExp(specials.map(escapeRegex).join("|"), "g") : undefined;
  }

  /** Ordinary text pieces (strings) and special token ids, in order. */
  split(text: string, allowSpecial: boolean): (string | number)[] {
    if (!allowSpecial || !this.regex) return [text];
    const parts: (string | number)[] = [];
    let last = 0;
    for (const m of text.matchAll(this.regex)) {
      if (m.index > last) parts.push(text.slice(last, m.index));
      parts.push(this.ids.get(m[0])!);
      last = m.index + m[0].length;
    }
    if (last < text.length) parts.push(text.slice(last));
    return parts;
  }
}
