// GPT-2's reversible byte <-> unicode alphabet: printable bytes map to themselves, the rest to U+0100 onwards.

export const BYTE_TO_CHAR: string[] = [];
export const CHAR_TO_BYTE = new Map<string, number>();
{
  let next = 256;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
    const ch = String.fromCharCode(printable ? b : next++);
    BYTE_TO_CHAR.push(ch);
    CHAR_TO_BYTE.set(ch, b);
  }
}

const utf8 = new TextEncoder();

/** UTF-8 bytes of `text`, each written as its byte-level character. */
export function toByteLevel(text: string): string {
  let out = "";
  for (const b of utf8.encode(text)) out += BYTE_TO_CHAR[b];
  return out;
}

/** Bytes of a byte-level string; characters outside the alphabet are taken as their own UTF-8. */
export function fromByteLevel(token: string, out: number[]): void {
  for (const ch of token) {
    const b = CHAR_TO_BYTE.get(ch);
    if (b !== undefined) out.push(b);
    else for (const x of utf8.encode(ch)) out.push(x);
  }
}
