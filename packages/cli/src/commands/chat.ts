import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { addGenerationOptions, type GenerationFlags, requestError, samplingBody } from "./complete.ts";

interface ChatFlags extends GenerationFlags {
  system?: string;
}

export function registerChatCommand(program: Command): void {
  addGenerationOptions(
    program
      .command("chat")
      .description(
        "talk to a published model: each line you type is sent with the conversation so far (its oldest exchanges dropped when it outgrows the model's context); answers stream (Ctrl-D ends)",
      )
      .argument("<model>", "a model name or id from GET /v1/models")
      .option("--system <text>", "a system message opening the conversation"),
  ).action(async (model: string, _opts, command: Command) => {
    const { options } = commandContext<ChatFlags>(command);
    const { OpenAiRequestError, streamOpenAi } = await import("@openledger/openlora");
    const { createInterface } = await import("node:readline");
    const messages: { role: string; content: string }[] = options.system
      ? [{ role: "system", content: options.system }]
      : [];
    const tty = process.stdin.isTTY === true;
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: "> " });
    const url = `${options.api.replace(/\/$/, "")}/v1/chat/completions`;
    /** Streams the answer to the conversation; one that outgrew the context forgets its oldest exchange. */
    const ask = async (): Promise<string> => {
      for (;;) {
        let answer = "";
        try {
          await streamOpenAi(url, { model, messages, ...samplingBody(options) }, (text) => {
            answer += text;
            process.stdout.write(text);
          });
          return answer;
        } catch (err) {
          const oldest = messages.findIndex((m) => m.role !== "system");
          if (
            err instanceof OpenAiRequestError &&
            err.code === "context_length_exceeded" &&
            oldest < messages.length - 1
          ) {
            messages.splice(oldest, messages[oldest + 1]?.role === "assistant" ? 2 : 1);
            continue;
          }
          throw requestError(err, options.api);
        }
      }
    };
    try {
      if (tty) rl.prompt();
      for await (const line of rl) {
        if (line.trim()) {
          messages.push({ role: "user", content: line });
          const answer = await ask();
          process.stdout.write("\n");
          messages.push({ role: "assistant", content: answer });
        }
        if (tty) rl.prompt();
      }
    } finally {
      rl.close();
    }
  });
}
