import { readFileSync, statSync } from "node:fs";
import {
  AttributionError,
  attributeSpanV1,
  indexSnapshotExport,
  nfcBytes,
  renderAttribution,
  resultToJson,
  SpanIndex,
} from "@openledger/attribution";
import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";

interface AttributeOptions {
  snapshot: string[];
  json: boolean;
  color: boolean;
}

/** An index file, or a snapshot export directory (dataset.jsonl + manifest.json) indexed in memory. */
function openSnapshot(path: string): SpanIndex {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new CliError(`snapshot ${path} does not exist`);
  }
  return isDir ? indexSnapshotExport(path) : SpanIndex.readFile(path);
}

function asCliError(err: unknown): never {
  if (err instanceof AttributionError) throw new CliError(err.message, { cause: err });
  throw err;
}

export function registerAttributeCommand(program: Command): void {
  program
    .command("attribute")
    .description(
      "span-v1 attribution of a text against snapshot indexes: highlighted spans and credited contributions",
    )
    .argument("<text>", 'the model output to attribute ("-" reads stdin)')
    .option(
      "--snapshot <path>",
      "span-v1 index file (see attribute-index) or snapshot export folder; repeat for several",
      (value: string, previous: string[]) => [...previous, value],
      [],
    )
    .option("--json", "print the result as JSON", false)
    .option("--no-color", "mark spans with [[...]]#id instead of ANSI colours")
    .action((text: string, _opts, command: Command) => {
      const { options, print } = commandContext<AttributeOptions>(command);
      if (options.snapshot.length === 0)
        throw new CliError("give at least one --snapshot <index file or export folder>");
      try {
        const input = text === "-" ? readFileSync(0) : text;
        const indexes = options.snapshot.map(openSnapshot);
        const result = attributeSpanV1(input, indexes);
        if (options.json) print(JSON.stringify(resultToJson(result), null, 2));
        else
          print(
            renderAttribution(nfcBytes(input), result, {
              color: options.color && process.stdout.isTTY === true,
            }),
          );
      } catch (err) {
        asCliError(err);
      }
    });

  program
    .command("attribute-index")
    .description("build a span-v1 index file from a snapshot export folder (dataset.jsonl + manifest.json)")
    .argument("<export-dir>", "folder written by the datanet snapshot export")
    .requiredOption("-o, --out <file>", "index file to write")
    .action((dir: string, _opts, command: Command) => {
      const { options, print } = commandContext<{ out: string }>(command);
      try {
        const index = indexSnapshotExport(dir);
        index.writeFile(options.out);
        print(`${options.out}: ${index.chunkCount} chunks, ${index.wordCount} words, root ${index.root}`);
      } catch (err) {
        asCliError(err);
      }
    });
}
