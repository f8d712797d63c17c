import { nfcUtf8 } from "@openledger/common";
import { MAX_OUTPUT_BYTES, MAX_OUTPUT_WORDS } from "./constants.ts";
import { InvalidTextError, OutputTooLargeError } from "./errors.ts";

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
// With the u flag a well-formed surrogate pair is one code point, so only lone halves match.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Words of a normalised text: bytes (case-folded) and byte ranges in the NFC text. */
export interface Words {
  /** NFC UTF-8 bytes of the whole text. */
  bytes: Uint8Array;
  /** Per word: case-folded bytes. */
  words: Uint8Array[];
  /** Per word: start and end byte offsets in `bytes`. */
  starts: Uint32Array;
  ends: Uint32Array;
}

/** Strictly decodes (if bytes) and NFC-normalises a text, returning its canonical UTF-8 bytes. */
export function nfcBytes(input: string | Uint8Array, what = "text"): Uint8Array {
  let text: string;
  if (typeof input === "string") {
    if (LONE_SURROGATE.test(input)) throw new InvalidTextError(`${what} contains a lone UTF-16 surrogate`);
    text = input;
  } else if (input instanceof Uint8Array) {
    try {
      text = strictUtf8.decode(input);
    } catch {
      throw new InvalidTextError(`${what} is not valid UTF-8`);
    }
  } else {
    throw new InvalidTextError(`${what} must be a string or UTF-8 bytes`);
  }
  return nfcUtf8(text);
}

/** Whether the code point starting at `bytes[p]` (of length `len`) is a span-v1 separator. */
function isSeparator(bytes: Uint8Array, p: number, len: number): boolean {
  const b0 = bytes[p];
  if (len === 1) {
    return !((b0 >= 0x30 && b0 <= 0x39) || (b0 >= 0x41 && b0 <= 0x5a) || (b0 >= 0x61 && b0 <= 0x7a));
  }
  if (len === 2) {
    const b1 = bytes[p + 1];
    // U+0080..U+00BF is C2 80..C2 BF; U+00D7 is C3 97; U+00F7 is C3 B7.
    return b0 === 0xc2 || (b0 === 0xc3 && (b1 === 0x97 || b1 === 0xb7));
  }
  if (len === 3) {
    const b1 = bytes[p + 1];
    const b2 = bytes[p + 2];
    // U+2000..U+206F is E2 80 80..E2 81 AF; U+3000..U+303F is E3 80 80..E3 80 BF; U+FEFF is EF BB BF.
    if (b0 === 0xe2) return b1 === 0x80 || b1 === 0x81;
    if (b0 === 0xe3) return b1 === 0x80;
    return b0 === 0xef && b1 === 0xbb && b2 === 0xbf;
  }
  return false;
}

function codePointLength(b0: number): number {
  if (b0 < 0x80) return 1;
  if (b0 < 0xe0) return 2;
  if (b0 < 0xf0) return 3;
  return 4;
}

/** Calls `onWord(start, end)` for each span-v1 word of canonical (NFC, valid UTF-8) bytes, in order. */
export function scanWords(bytes: Uint8Array, onWord: (start: number, end: number) => void): void {
  let start = -1;
  let p = 0;
  while (p < bytes.length) {
    const len = codePointLength(bytes[p]);
    const sep = isSeparator(bytes, p, len);
    if (sep && start >= 0) {
      onWord(start, p);
      start = -1;
    } else if (!sep && start < 0) {
      start = p;
    }
    p += len;
  }
  if (start >= 0) onWord(start, bytes.length);
}

/** Copies a word's bytes with ASCII A-Z folded to a-z. */
export function foldWord(bytes: Uint8Array, start: number, end: number): Uint8Array {
  const word = bytes.slice(start, end);
  for (let k = 0; k < word.length; k++) if (word[k] >= 0x41 && word[k] <= 0x5a) word[k] += 0x20;
  return word;
}

/** Splits canonical (NFC, valid UTF-8) bytes into span-v1 words. */
export function splitWords(bytes: Uint8Array): Words {
  const words: Uint8Array[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  scanWords(bytes, (start, end) => {
    words.push(foldWord(bytes, start, end));
    starts.push(start);
    ends.push(end);
  });
  return { bytes, words, starts: Uint32Array.from(starts), ends: Uint32Array.from(ends) };
}

/** Normalises an output text and checks the span-v1 output limits. */
export function outputWords(output: string | Uint8Array): Words {
  const bytes = nfcBytes(output, "output");
  if (bytes.length > MAX_OUTPUT_BYTES) {
    throw new OutputTooLargeError(
      `output is ${bytes.length} bytes after NFC normalisation; span-v1 accepts at most ${MAX_OUTPUT_BYTES}`,
    );
  }
  const words = splitWords(bytes);
  if (words.words.length > MAX_OUTPUT_WORDS) {
    throw new OutputTooLargeError(
      `output has ${words.words.length} words; span-v1 accepts at most ${MAX_OUTPUT_WORDS}`,
    );
  }
  return words;
}
