import type { Command, Option } from "commander";

/** A failure the user can act on; the CLI prints `error: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

interface SystemError extends Error {
  code?: string;
  path?: string;
  port?: number;
  address?: string;
}

/** The options of `command` (and its parents) whose value is `value`, as `--flag` names. */
function flagsWithValue(command: Command | undefined, value: unknown): string[] {
  const flags: string[] = [];
  for (let c = command; c; c = c.parent ?? undefined) {
    for (const option of c.options as Option[]) {
      if (c.getOptionValue(option.attributeName()) === value) flags.push(option.long ?? option.flags);
    }
  }
  return flags;
}

/**
 * Node's system errors (a missing file, a directory where a file was expected, a taken port) as one
 * line a user can act on; `command` (the one that ran) lets a port conflict name its flag.
 */
export function describeSystemError(err: SystemError, command?: Command): string | undefined {
  switch (err.code) {
    case "ENOENT":
      return err.path ? `no such file or directory: ${err.path}` : undefined;
    case "EISDIR":
      return err.path ? `${err.path} is a directory; expected a file` : "expected a file, got a directory";
    case "ENOTDIR":
      return err.path ? `${err.path}: a part of this path is not a directory` : undefined;
    case "EACCES":
    case "EPERM":
      return err.path ? `permission denied: ${err.path}` : undefined;
    case "EADDRINUSE": {
      if (err.port === undefined) return undefined;
      const where = err.address ? ` on ${err.address}` : "";
      const [flag] = flagsWithValue(command, err.port);
      const fix = flag ? `pick another with ${flag}` : "pick another port";
      return `port ${err.port}${where} is already in use${flag ? ` (${flag})` : ""}: stop what is using it or ${fix}`;
    }
    default:
      return undefined;
  }
}

/** One line describing any thrown value (viem's short message where there is one). */
export function oneLine(err: unknown, command?: Command): string {
  let text: string;
  if (err instanceof Error) {
    const system = describeSystemError(err as SystemError, command);
    const short = (err as { shortMessage?: unknown }).shortMessage;
    text = system ?? (typeof short === "string" && short ? short : err.message);
  } else {
    text = String(err);
  }
  return (text.split("\n").find((l) => l.trim()) ?? "unknown error").trim();
}
