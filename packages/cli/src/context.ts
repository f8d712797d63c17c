import type { Command } from "commander";
import { createLogger, type LogFormat, type Logger } from "./log.ts";

export interface GlobalOptions {
  config?: string;
  logFormat: LogFormat;
  quiet: boolean;
  verbose: boolean;
}

export interface CommandContext<T> {
  /** The command's options merged with the global ones (flags > env > config file > defaults). */
  options: T & GlobalOptions;
  log: Logger;
  /** Writes a result line to stdout (results go to stdout, logs to stderr). */
  print(line: string): void;
}

let active: Logger | undefined;

/**
 * The logger of the command that is running (the process runs one), for parts that log on its
 * behalf (the HTTP server's access log, progress when stderr is not a terminal), so --log-format,
 * --quiet and --verbose apply to them too.
 */
export function activeLogger(): Logger {
  active ??= createLogger();
  return active;
}

/** What an action needs: its resolved options, a logger honouring the global flags, stdout. */
export function commandContext<T extends object>(command: Command): CommandContext<T> {
  const options = command.optsWithGlobals<T & GlobalOptions>();
  const log = createLogger({ format: options.logFormat, quiet: options.quiet, verbose: options.verbose });
  active = log;
  return { options, log, print: (line) => process.stdout.write(`${line}\n`) };
}
