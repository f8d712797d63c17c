import { normalizeText } from "@openledger/common";
import { InvalidInputError } from "./errors.ts";

const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false });

/**
 * Strict UTF-8 decode plus the project's normalisation: BOM dropped, CRLF/CR -> LF, Unicode NFC.
 * Invalid byte sequences and NUL bytes (binary content) are rejected, naming the byte offset.
 */
export function decodeUtf8Strict(bytes: Uint8Array): string {
  let text: string;
  try {
    text = decoder.decode(bytes);
  } catch {
    throw new InvalidInputError(
      "invalid_utf8",
      `content is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(bytes)}); re-encode it as UTF-8`,
    );
  }
  const nul = text.indexOf("\u0000");
  if (nul >= 0) {
    throw new InvalidInputError(
      "binary_content",
      "content contains NUL characters; only text formats are accepted",
    );
  }
  return normalizeText(text);
}

/** The project's text normalisation (CRLF/CR -> LF, NFC), defined in @openledger/common. */
export { normalizeText };

/** Offset of the first byte that breaks UTF-8 (for error messages). */
export function firstInvalidUtf8Offset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i];
    let need = 0;
    let min = 0;
    if (b < 0x80) {
      i++;
      continue;
    }
    if (b >= 0xc2 && b <= 0xdf) {
      need = 1;
      min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
      need = 2;
      min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
      need = 3;
      min = 0x10000;
    } else return i;
    let cp = b & (0x3f >> need);
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return i;
      cp = (cp << 6) | (c & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
    i += need + 1;
  }
  return i;
}

export const utf8 = new TextEncoder();

export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}
