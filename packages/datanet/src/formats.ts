import { InvalidInputError } from "./errors.ts";
import { decodeUtf8Strict, normalizeText } from "./text.ts";

export const FORMATS = ["text", "markdown", "jsonl", "csv"] as const;
export type ContentFormat = (typeof FORMATS)[number];

export interface ExtractOptions {
  /** JSONL: the string field holding the text (dotted path). Default: `messages` if present, else `text`. */
  field?: string;
  /** CSV: the column (header name, or 0-based index as a number) holding the text. Default `text`. */
  column?: string | number;
}

/** The normalised text of a contribution and the spans of its records (for chunking). */
export interface ExtractedText {
  text: string;
  records: { start: number; end: number }[];
}

export function parseFormat(value: string): ContentFormat {
  const lower = value.toLowerCase();
  const alias: Record<string, ContentFormat> = { txt: "text", md: "markdown", ndjson: "jsonl" };
  const format = (alias[lower] ?? lower) as ContentFormat;
  if (!FORMATS.includes(format)) {
    throw new InvalidInputError(
      "unsupported_format",
      `format "${value}" is not accepted; use one of ${FORMATS.join(", ")}`,
    );
  }
  return format;
}

/** Guesses the format from a file name's extension (text when unknown). */
export function formatFromFileName(name: string): ContentFormat {
  const ext = name.toLowerCase().split(".").pop() ?? "";
  if (ext === "md" || ext === "markdown") return "markdown";
  if (ext === "jsonl" || ext === "ndjson") return "jsonl";
  if (ext === "csv") return "csv";
  if (ext === "txt" || ext === "text" || !name.includes(".")) return "text";
  throw new InvalidInputError(
    "unsupported_format",
    `file type ".${ext}" is not accepted; upload .txt, .md, .jsonl or .csv (or name the format)`,
  );
}

export function extractText(
  bytes: Uint8Array,
  format: ContentFormat,
  opts: ExtractOptions = {},
): ExtractedText {
  const decoded = decodeUtf8Strict(bytes);
  let texts: string[];
  if (format === "text" || format === "markdown") texts = [decoded];
  else if (format === "jsonl") texts = jsonlTexts(decoded, opts.field);
  else texts = csvTexts(decoded, opts.column ?? "text");
  const records: ExtractedText["records"] = [];
  let text = "";
  for (const t of texts) {
    if (t.trim() === "") continue;
    if (text) text += "\n\n";
    records.push({ start: text.length, end: text.length + t.length });
    text += t;
  }
  if (records.length === 0) {
    throw new InvalidInputError("empty_content", "contribution has no text to store");
  }
  return { text, records };
}

function jsonlTexts(decoded: string, field: string | undefined): string[] {
  const out: string[] = [];
  const lines = decoded.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === "") continue;
    let record: unknown;
    try {
      record = JSON.parse(line);
    } catch (err) {
      throw new InvalidInputError(
        "invalid_jsonl",
        `JSONL line ${i + 1} is not valid JSON: ${(err as Error).message}`,
      );
    }
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      throw new InvalidInputError("invalid_jsonl", `JSONL line ${i + 1} is not a JSON object`);
    }
    const obj = record as Record<string, unknown>;
    if (field === undefined && Array.isArray(obj.messages)) {
      out.push(normalizeText(chatText(obj.messages, i + 1)));
      continue;
    }
    const path = field ?? "text";
    const value = path
      .split(".")
      .reduce<unknown>((v, key) => (v as Record<string, unknown> | undefined)?.[key], obj);
    if (typeof value !== "string") {
      throw new InvalidInputError(
        "missing_field",
        `JSONL line ${i + 1} has no string field "${path}"; name the text field or send {messages:[...]} records`,
      );
    }
    out.push(normalizeText(value));
  }
  return out;
}

function chatText(messages: unknown[], line: number): string {
  return messages
    .map((m, k) => {
      const msg = m as { role?: unknown; content?: unknown };
      if (typeof msg?.role !== "string" || typeof msg.content !== "string") {
        throw new InvalidInputError(
          "invalid_chat_record",
          `JSONL line ${line}: message ${k} needs string "role" and "content"`,
        );
      }
      return `${msg.role}: ${msg.content}`;
    })
    .join("\n");
}

function csvTexts(decoded: string, column: string | number): string[] {
  const rows = parseCsv(decoded);
  if (rows.length === 0) throw new InvalidInputError("empty_content", "CSV has no header row");
  const header = rows[0];
  const col = typeof column === "number" ? column : header.indexOf(column);
  if (col < 0 || col >= header.length) {
    throw new InvalidInputError(
      "missing_column",
      `CSV has no column ${JSON.stringify(column)}; columns are ${header.map((h) => JSON.stringify(h)).join(", ")}`,
    );
  }
  return rows.slice(1).map((row, i) => {
    if (row.length !== header.length) {
      throw new InvalidInputError(
        "invalid_csv",
        `CSV row ${i + 2} has ${row.length} fields, the header has ${header.length}`,
      );
    }
    return row[col];
  });
}

/** RFC 4180: comma separated, double-quoted fields may hold commas, newlines and "" escapes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let i = 0;
  let line = 1;
  let atFieldStart = true;
  const endField = () => {
    row.push(field);
    field = "";
    atFieldStart = true;
  };
  while (i < text.length) {
    const c = text[i];
    if (atFieldStart && c === '"') {
      const startLine = line;
      i++;
      for (;;) {
        if (i >= text.length) {
          throw new InvalidInputError(
            "invalid_csv",
            `CSV quoted field opened on line ${startLine} is never closed`,
          );
        }
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (text[i] === "\n") line++;
        field += text[i++];
      }
      if (i < text.length && text[i] !== "," && text[i] !== "\n") {
        throw new InvalidInputError("invalid_csv", `CSV line ${line}: characters after a closing quote`);
      }
      atFieldStart = false;
      continue;
    }
    if (c === ",") {
      endField();
    } else if (c === "\n") {
      endField();
      rows.push(row);
      row = [];
      line++;
    } else if (c === '"') {
      throw new InvalidInputError("invalid_csv", `CSV line ${line}: a quote inside an unquoted field`);
    } else {
      field += c;
      atFieldStart = false;
    }
    i++;
  }
  if (!atFieldStart || field !== "" || row.length > 0) {
    endField();
    rows.push(row);
  }
  return rows;
}
