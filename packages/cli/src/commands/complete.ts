import { type Command, InvalidArgumentError } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { parseRpcUrl } from "../options.ts";

export interface GenerationFlags {
  api: string;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed?: number;
  stop?: string[];
}

function parseNumber(lo: number, hi: number, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < lo || n > hi || (integer && !Number.isInteger(n)))
      throw new InvalidArgumentError(`expected ${integer ? "an integer" : "a number"} in [${lo}, ${hi}]`);
    return n;
  };
}

/** The sampling flags `complete` and `chat` share. */
export function addGenerationOptions(cmd: Command): Command {
  return cmd
    .option("--api <url>", "the OpenLoRA server (openledger up's API)", parseRpcUrl, "http://127.0.0.1:8080")
    .option("--max-tokens <n>", "tokens to generate at most", parseNumber(1, 32768, true))
    .option("--temperature <t>", "sampling temperature, 0 for greedy", parseNumber(0, 2))
    .option("--top-p <p>", "nucleus sampling mass", parseNumber(0, 1))
    .option("--seed <n>", "sampling seed (same seed, same answer)", parseNumber(0, 2 ** 32 - 1, true))
    .option("--stop <text...>", "stop strings (up to 4)");
}

export function samplingBody(o: GenerationFlags): Record<string, unknown> {
  return {
    ...(o.maxTokens !== undefined ? { max_tokens: o.maxTokens } : {}),
    ...(o.temperature !== undefined ? { temperature: o.temperature } : {}),
    ...(o.topP !== undefined ? { top_p: o.topP } : {}),
    ...(o.seed !== undefined ? { seed: o.seed } : {}),
    ...(o.stop?.length ? { stop: o.stop } : {}),
  };
}

/** A failed request as one CLI error line (the server's OpenAI error message, or why it was unreachable). */
export function requestError(err: unknown, api: string): CliError {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code === "ECONNREFUSED")
    return new CliError(`no OpenLoRA server at ${api}; start one with \`openledger up\` or pass --api`, {
      cause: err,
    });
  // fetch's own failures ("fetch failed") say why only in their cause (a refused port, DNS, TLS)
  if (err instanceof TypeError && cause?.message)
    return new CliError(`cannot reach the OpenLoRA server at ${api}: ${cause.message}`, { cause: err });
  return new CliError((err as Error).message, { cause: err });
}

export function registerCompleteCommand(program: Command): void {
  addGenerationOptions(
    program
      .command("complete")
      .description(
        "complete a prompt with a published model (streams the answer; `openledger chat` for a conversation)",
      )
      .argument("<model>", "a model name or id from GET /v1/models")
      .argument("<prompt>", "the text to continue"),
  ).action(async (model: string, prompt: string, _opts, command: Command) => {
    const { options } = commandContext<GenerationFlags>(command);
    const { streamOpenAi } = await import("@openledger/openlora");
    try {
      await streamOpenAi(
        `${options.api.replace(/\/$/, "")}/v1/completions`,
        { model, prompt, ...samplingBody(options) },
        (text) => process.stdout.write(text),
      );
    } catch (err) {
      throw requestError(err, options.api);
    }
    process.stdout.write("\n");
  });
}
