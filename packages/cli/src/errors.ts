/** A failure the user can act on; the CLI prints `error: <message>` and exits with `exitCode`. */
export class CliError extends Error {
  override name = "CliError";
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

/** One line describing any thrown value (viem's short message where there is one). */
export function oneLine(err: unknown): string {
  let text: string;
  if (err instanceof Error) {
    const short = (err as { shortMessage?: unknown }).shortMessage;
    text = typeof short === "string" && short ? short : err.message;
  } else {
    text = String(err);
  }
  return (text.split("\n").find((l) => l.trim()) ?? "unknown error").trim();
}
