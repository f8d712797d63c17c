import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { Command, type Option } from "commander";
import { CliError } from "./errors.ts";

export const DEFAULT_CONFIG_FILE = "openledger.json";
export const ENV_PREFIX = "OPENLEDGER_";

/** `privateKey` -> `OPENLEDGER_PRIVATE_KEY`. */
export function envName(attributeName: string): string {
  return ENV_PREFIX + attributeName.replace(/([a-z0-9])([A-Z])/g, "$1_$2").toUpperCase();
}

/**
 * commander's Command, except that every option added to it or to its subcommands (made with
 * `.command()`) also reads an `OPENLEDGER_*` environment variable unless it names its own.
 * commander binds environment variables when an option is added, hence the subclass.
 */
export class OpenLedgerCommand extends Command {
  override createCommand(name?: string): Command {
    return new OpenLedgerCommand(name);
  }

  override addOption(option: Option): this {
    if (!option.envVar) option.env(envName(option.attributeName()));
    return super.addOption(option);
  }
}

export type ConfigFile = Record<string, unknown>;

/**
 * Reads the config file: `path` when given (it must exist), else ./openledger.json when present.
 * The file is one JSON object of option names (camelCase or kebab-case) to values; an object under a
 * command's name (e.g. `"deploy": { "rpc": "..." }`) applies to that command only and wins.
 */
export function readConfigFile(
  path: string | undefined,
  cwd = process.cwd(),
): { path?: string; values: ConfigFile } {
  const file = path ? resolve(cwd, path) : resolve(cwd, DEFAULT_CONFIG_FILE);
  if (!existsSync(file)) {
    if (path) throw new CliError(`config file not found: ${file}`);
    return { values: {} };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, "utf8"));
  } catch (err) {
    throw new CliError(`config file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new CliError(`config file ${file} must hold a JSON object`);
  }
  return { path: file, values: parsed as ConfigFile };
}

const camel = (key: string) => key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/**
 * Fills the options of `command` (and the program's global options) that the user did not give on
 * the command line or in the environment from the config file, giving flags > env > file > defaults.
 */
export function applyConfigFile(program: Command, command: Command, config: ConfigFile): void {
  const flat: ConfigFile = {};
  for (const [key, value] of Object.entries(config)) {
    if (value === null || typeof value !== "object" || Array.isArray(value)) flat[camel(key)] = value;
  }
  const section = config[command.name()];
  if (section && typeof section === "object" && !Array.isArray(section)) {
    for (const [key, value] of Object.entries(section)) flat[camel(key)] = value;
  }
  for (const target of new Set([program, command])) {
    for (const option of target.options as Option[]) {
      const key = option.attributeName();
      if (!(key in flat)) continue;
      const source = target.getOptionValueSource(key);
      if (source !== undefined && source !== "default") continue;
      let value = flat[key];
      if (typeof value === "number" || typeof value === "bigint") value = String(value);
      if (typeof value === "string" && option.parseArg) {
        try {
          value = option.parseArg(value, undefined);
        } catch (err) {
          throw new CliError(`config file value for "${key}": ${(err as Error).message}`);
        }
      }
      if (option.argChoices && !option.argChoices.includes(String(value))) {
        throw new CliError(`config file value for "${key}" must be one of ${option.argChoices.join(", ")}`);
      }
      target.setOptionValueWithSource(key, value, "config");
    }
  }
}
