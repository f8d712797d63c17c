export { registerCommands } from "./commands/index.ts";
export { applyConfigFile, envName, OpenLedgerCommand, readConfigFile } from "./config.ts";
export { type CommandContext, commandContext, type GlobalOptions } from "./context.ts";
export { CliError, oneLine } from "./errors.ts";
export { createLogger, type LogFormat, type Logger, type LogLevel } from "./log.ts";
export { parsePort, parsePrivateKey, parseRpcUrl, parseSeconds, verifierOption } from "./options.ts";
export { createProgram, run } from "./program.ts";
