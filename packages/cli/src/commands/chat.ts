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
        "talk to a published model: each line you type is sent with the conversation so far; answers stream (Ctrl-D ends)",
      )
      .argument("<model>", "a model name or id from GET /v1/models")
      .option("--system <text>", "a system message opening the conversation"),
  ).action(async (model: string, _opts, command: Command) => {
    const { options } = commandContext<ChatFlags>(command);
    const { streamOpenAi } = await import("@openledger/openlora");
    const { createInterface } = await import("node:readline");
    const messages: { role: string; content: string }[] = options.system
      ? [{ role: "system", content: options.system }]
      : [];
    const tty = process.stdin.isTTY === true;
    const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: tty, prompt: "> " });
    const url = `${options.api.replace(/\/$/, "")}/v1/chat/completions`;
    try {
      if (tty) rl.prompt();
      for await (const line of rl) {
        if (line.trim()) {
          messages.push({ role: "user", content: line });
          let answer = "";
          try {
            await streamOpenAi(url, { model, messages, ...samplingBody(options) }, (text) => {
              answer += text;
              process.stdout.write(text);
            });
          } catch (err) {
            throw requestError(err, options.api);
          }
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
