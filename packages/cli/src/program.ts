import { type Command, CommanderError, Option } from "commander";
import { registerCommands } from "./commands/index.ts";
import { applyConfigFile, OpenLedgerCommand, readConfigFile } from "./config.ts";
import { CliError, oneLine } from "./errors.ts";

/** The command whose action is running (for error messages that name its flags). */
let running: Command | undefined;

/** The `openledger` program with its global options and every registered command. */
export function createProgram(): Command {
  const program = new OpenLedgerCommand("openledger")
    .description(
      "OpenLedger: Payable AI on an EVM chain — Datanets, models, attribution and settlement in $OPEN.",
    )
    .version("0.1.0", "-V, --version", "print the version")
    .option("-c, --config <path>", "JSON config file (default: ./openledger.json when present)")
    .addOption(
      new Option("--log-format <format>", "log format on stderr").choices(["text", "json"]).default("text"),
    )
    .option("-q, --quiet", "only log warnings and errors", false)
    .option("-v, --verbose", "debug logs, and stack traces on failure", false)
    .showSuggestionAfterError(true)
    .exitOverride();
  program.configureHelp({ sortSubcommands: true });
  registerCommands(program);
  for (const sub of program.commands) sub.exitOverride();
  program.hook("preAction", (root, action) => {
    running = action;
    const { values } = readConfigFile(root.opts().config);
    applyConfigFile(root, action, values);
  });
  return program;
}

/** Parses `argv` and runs the command; resolves to the exit code. Failures print one `error:` line. */
export async function run(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
    // a command that reports a negative answer (e.g. `datanet license --check`) sets process.exitCode
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    // commander has already printed its own one-line message (or the help/version text)
    if (err instanceof CommanderError) return err.exitCode;
    process.stderr.write(`error: ${oneLine(err, running)}\n`);
    // options are parsed by now unless parsing itself failed; fall back to the raw flags then
    const verbose = program.opts().verbose === true || argv.includes("--verbose") || argv.includes("-v");
    if (verbose && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    return err instanceof CliError ? err.exitCode : 1;
  }
}
