import { readFileSync, statSync } from "node:fs";
// The attribution library loads when a command runs, so `openledger --help` stays fast.
import type { SpanIndex } from "@openledger/attribution";
import { type Command, Option } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { collect } from "../options.ts";

interface AttributeOptions {
  snapshot: string[];
  algorithm: "span-v2" | "span-v1";
  json: boolean;
  color: boolean;
}

/** An index file, or a snapshot export directory (dataset.jsonl + manifest.json) indexed in memory. */
type Attribution = typeof import("@openledger/attribution");

function openSnapshot({ indexSnapshotExport, SpanIndex }: Attribution, path: string): SpanIndex {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new CliError(`snapshot ${path} does not exist`);
  }
  return isDir ? indexSnapshotExport(path) : SpanIndex.open(path);
}

function asCliError({ AttributionError }: Attribution, err: unknown): never {
  if (err instanceof AttributionError) throw new CliError(err.message, { cause: err });
  throw err;
}

/**
 * Text piped in (`echo ... | openledger attribute -`) ends with the newline the shell added: drop one
 * final "\n" or "\r\n" so stdin gives the same output hash and commitment as the argument form.
 */
export function withoutFinalNewline(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end < bytes.length && end > 0 && bytes[end - 1] === 0x0d) end--;
  return bytes.subarray(0, end);
}

export function registerAttributeCommand(program: Command): void {
  program
    .command("attribute")
    .description(
      "span-v2 (or span-v1) attribution of a text against snapshot indexes: highlighted spans and credited contributions",
    )
    .argument("<text>", 'the model output to attribute ("-" reads stdin)')
    .option(
      "--snapshot <path>",
      "span index file (see attribute-index) or snapshot export folder; repeat for several",
      collect((v) => v),
      [],
    )
    .addOption(
      new Option("--algorithm <name>", "span-v2 (credit follows the words first contributed) or span-v1")
        .choices(["span-v2", "span-v1"])
        .default("span-v2"),
    )
    .option("--json", "print the result as JSON", false)
    .option("--no-color", "mark spans with [[...]]#id instead of ANSI colours")
    .action(async (text: string, _opts, command: Command) => {
      const { options, print } = commandContext<AttributeOptions>(command);
      const attribution = await import("@openledger/attribution");
      const { attributeSpanV1, attributeSpanV2, nfcBytes, renderAttribution, resultToJson } = attribution;
      if (options.snapshot.length === 0)
        throw new CliError("give at least one --snapshot <index file or export folder>");
      try {
        const input = text === "-" ? withoutFinalNewline(readFileSync(0)) : text;
        const indexes = options.snapshot.map((path) => openSnapshot(attribution, path));
        const attribute = options.algorithm === "span-v1" ? attributeSpanV1 : attributeSpanV2;
        const result = attribute(input, indexes);
        if (options.json) print(JSON.stringify(resultToJson(result), null, 2));
        else
          print(
            renderAttribution(nfcBytes(input), result, {
              color: options.color && process.stdout.isTTY === true,
            }),
          );
      } catch (err) {
        asCliError(attribution, err);
      }
    });

  program
    .command("attribute-index")
    .description(
      "build a span index file (span-v1 and span-v2) from a snapshot export folder (dataset.jsonl + manifest.json)",
    )
    .argument("<export-dir>", "folder written by the datanet snapshot export")
    .requiredOption("-o, --out <file>", "index file to write")
    .action(async (dir: string, _opts, command: Command) => {
      const { options, print } = commandContext<{ out: string }>(command);
      const attribution = await import("@openledger/attribution");
      try {
        const index = attribution.indexSnapshotExport(dir);
        index.writeFile(options.out);
        print(`${options.out}: ${index.chunkCount} chunks, ${index.wordCount} words, root ${index.root}`);
      } catch (err) {
        asCliError(attribution, err);
      }
    });
}
