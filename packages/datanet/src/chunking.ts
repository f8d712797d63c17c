import { utf8Length } from "./text.ts";

/** A chunk is an exact slice of the contribution's normalised text; offsets are UTF-8 bytes. */
export interface TextChunk {
  index: number;
  byteStart: number;
  byteEnd: number;
  text: string;
}

export const DEFAULT_MAX_CHUNK_BYTES = 1024;

interface Span {
  start: number;
  end: number;
}

/**
 * Deterministic chunking. The rule:
 * 1. The text is cut into records (given by the caller: one per JSONL line / CSV row; one for plain
 *    text), then into paragraphs at blank lines (and, for Markdown, before every heading line).
 * 2. A paragraph longer than `maxBytes` is cut after sentence ends (`.`, `!`, `?`, `…` and CJK full
 *    stops followed by whitespace); a sentence still too long is cut at whitespace; a word still too
 *    long is cut at a code-point boundary.
 * 3. The pieces are packed greedily, in order, into chunks of at most `maxBytes` UTF-8 bytes; a
 *    chunk never spans two records. Each chunk is trimmed of surrounding whitespace.
 */
export function chunkRecords(
  text: string,
  records: Span[],
  opts: { maxBytes?: number; markdown?: boolean } = {},
): TextChunk[] {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_CHUNK_BYTES;
  if (maxBytes < 4) throw new RangeError("maxBytes must be at least 4 (one code point)");
  const chunks: Span[] = [];
  for (const record of records) {
    const pieces: Span[] = [];
    for (const para of paragraphs(text, record, opts.markdown ?? false)) {
      splitToFit(text, para, maxBytes, 0, pieces);
    }
    let current: Span | undefined;
    for (const piece of pieces) {
      if (current && utf8Length(text.slice(current.start, piece.end)) <= maxBytes) {
        current.end = piece.end;
      } else {
        if (current) chunks.push(current);
        current = { start: piece.start, end: piece.end };
      }
    }
    if (current) chunks.push(current);
  }
  return withByteOffsets(text, chunks);
}

function paragraphs(text: string, record: Span, markdown: boolean): Span[] {
  const out: Span[] = [];
  const body = text.slice(record.start, record.end);
  const breaker = markdown ? /\n[ \t]*\n|\n(?=#{1,6}[ \t])/g : /\n[ \t]*\n/g;
  let last = 0;
  for (const m of body.matchAll(breaker)) {
    pushTrimmed(text, record.start + last, record.start + m.index, out);
    last = m.index + m[0].length;
  }
  pushTrimmed(text, record.start + last, record.end, out);
  return out;
}

function pushTrimmed(text: string, start: number, end: number, out: Span[]): void {
  while (start < end && /\s/.test(text[start])) start++;
  while (end > start && /\s/.test(text[end - 1])) end--;
  if (end > start) out.push({ start, end });
}

const SPLITTERS = [/(?<=[.!?…。！？])\s+/g, /\s+/g];

function splitToFit(text: string, span: Span, maxBytes: number, level: number, out: Span[]): void {
  if (utf8Length(text.slice(span.start, span.end)) <= maxBytes) {
    out.push(span);
    return;
  }
  if (level >= SPLITTERS.length) {
    hardSplit(text, span, maxBytes, out);
    return;
  }
  const body = text.slice(span.start, span.end);
  const parts: Span[] = [];
  let last = 0;
  for (const m of body.matchAll(SPLITTERS[level])) {
    pushTrimmed(text, span.start + last, span.start + m.index, parts);
    last = m.index + m[0].length;
  }
  pushTrimmed(text, span.start + last, span.end, parts);
  if (parts.length <= 1) {
    splitToFit(text, span, maxBytes, level + 1, out);
    return;
  }
  for (const part of parts) splitToFit(text, part, maxBytes, level + 1, out);
}

function hardSplit(text: string, span: Span, maxBytes: number, out: Span[]): void {
  let start = span.start;
  let bytes = 0;
  let i = span.start;
  while (i < span.end) {
    const cp = text.codePointAt(i)!;
    const units = cp > 0xffff ? 2 : 1;
    const len = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    if (bytes + len > maxBytes) {
      out.push({ start, end: i });
      start = i;
      bytes = 0;
    }
    bytes += len;
    i += units;
  }
  if (i > start) out.push({ start, end: i });
}

function withByteOffsets(text: string, spans: Span[]): TextChunk[] {
  const out: TextChunk[] = [];
  let pos = 0;
  let bytePos = 0;
  for (const span of spans) {
    bytePos += utf8Length(text.slice(pos, span.start));
    const chunkText = text.slice(span.start, span.end);
    const byteStart = bytePos;
    bytePos += utf8Length(chunkText);
    pos = span.end;
    out.push({ index: out.length, byteStart, byteEnd: bytePos, text: chunkText });
  }
  return out;
}
