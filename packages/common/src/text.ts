// The project's one text normalisation. Everything that hashes, indexes or attributes text agrees on
// these bytes, so a chunk hashed by merkle, stored by datanet and matched by attribution is the same.

const encoder = new TextEncoder();

/** Unicode NFC: the form every committed text is hashed and matched in. */
export function nfc(text: string): string {
  return text.normalize("NFC");
}

/** NFC UTF-8 bytes of a text: what content hashes and span-v1 are computed over. */
export function nfcUtf8(text: string): Uint8Array {
  return encoder.encode(nfc(text));
}

/** Ingestion normalisation: CRLF and lone CR become LF, then NFC. */
export function normalizeText(text: string): string {
  return nfc(text.replace(/\r\n?/g, "\n"));
}
