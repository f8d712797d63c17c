export type LogFormat = "text" | "json";
export type LogLevel = "debug" | "info" | "warn" | "error";
export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
}

export interface LoggerOptions {
  format?: LogFormat;
  /** Only warnings and errors. */
  quiet?: boolean;
  /** Also debug lines. */
  verbose?: boolean;
  write?: (line: string) => void;
}

const jsonValue = (_key: string, value: unknown) => (typeof value === "bigint" ? value.toString() : value);

function textValue(value: unknown): string {
  const s = typeof value === "string" ? value : JSON.stringify(value, jsonValue);
  return /[\s"=]/.test(s) ? JSON.stringify(s) : s;
}

/** Structured logs on stderr: JSON lines (`format: "json"`) or readable `level message key=value` lines. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const write = options.write ?? ((line: string) => process.stderr.write(`${line}\n`));
  const format = options.format ?? "text";
  const emit = (level: LogLevel, message: string, fields: LogFields = {}) => {
    if (level === "debug" && !options.verbose) return;
    if (options.quiet && (level === "debug" || level === "info")) return;
    if (format === "json") {
      write(JSON.stringify({ time: new Date().toISOString(), level, msg: message, ...fields }, jsonValue));
    } else {
      const extra = Object.entries(fields)
        .map(([k, v]) => ` ${k}=${textValue(v)}`)
        .join("");
      write(`${level.padEnd(5)} ${message}${extra}`);
    }
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
  };
}
