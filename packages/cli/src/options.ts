import { type Command, InvalidArgumentError, Option } from "commander";
import type { Hex } from "viem";
import { CliError } from "./errors.ts";

/** commander parser for `--rpc`: an http(s) or ws(s) URL. */
export function parseRpcUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InvalidArgumentError("expected an http(s):// or ws(s):// URL");
  }
  if (!["http:", "https:", "ws:", "wss:"].includes(url.protocol)) {
    throw new InvalidArgumentError(`expected an http(s):// or ws(s):// URL, got scheme ${url.protocol}`);
  }
  return value;
}

/** commander parser for `--private-key`: 0x + 64 hex digits. Never echoes the value. */
export function parsePrivateKey(value: string): Hex {
  const key = value.startsWith("0x") ? value : `0x${value}`;
  if (!/^0x[0-9a-fA-F]{64}$/.test(key))
    throw new InvalidArgumentError("expected 0x followed by 64 hex digits");
  return key as Hex;
}

/** commander parser for a TCP port. */
export function parsePort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535)
    throw new InvalidArgumentError("expected a port in 1..65535");
  return port;
}

/** commander parser for a port to listen on; 0 picks a free one (the real URL is printed). */
export function parseListenPort(value: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port > 65535) throw new InvalidArgumentError("expected a port in 0..65535");
  return port;
}

/** commander parser for a whole number of seconds in 1..86400. */
export function parseSeconds(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 86400)
    throw new InvalidArgumentError("expected whole seconds in 1..86400");
  return n;
}

/** The `--verifier` option shared by deploy and start. */
export function verifierOption(defaultKind?: "span-v2" | "span-v1" | "span-v1-precompile" | "none"): Option {
  const about =
    "challenge verifier: SpanV2Verifier (or SpanV1Verifier) in Solidity, through the L2 precompile, or none";
  const option = new Option(
    "--verifier <kind>",
    defaultKind ? about : `${about}; default: span-v2-precompile on the OpenLedger L2, span-v2 elsewhere`,
  ).choices(["span-v2", "span-v2-precompile", "span-v1", "span-v1-precompile", "none"]);
  return defaultKind ? option.default(defaultKind) : option;
}

/** commander parser for a block interval in seconds, 0..86400 (0: no timer). */
export function parseBlockTime(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 0 || n > 86400) {
    throw new InvalidArgumentError("expected seconds in 0..86400 (0: no timer)");
  }
  return n;
}

/** commander parser for a block gas limit: a whole decimal number from 21,000 (one transfer) to 2^63-1. */
export function parseGasLimit(value: string): bigint {
  if (!/^\d{1,19}$/.test(value)) throw new InvalidArgumentError("expected a whole number of gas");
  const n = BigInt(value);
  if (n < 21_000n || n > 2n ** 63n - 1n) {
    throw new InvalidArgumentError("expected a gas limit from 21000 to 9223372036854775807");
  }
  return n;
}

/** commander parser for an amount in wei: a whole decimal number below 2^256. */
export function parseWei(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError("expected a whole number of wei");
  const wei = BigInt(value);
  if (wei >= 2n ** 256n) throw new InvalidArgumentError("expected an amount below 2^256 wei");
  return wei;
}

/** commander parser for a dev account index (the test mnemonic's first ten accounts). */
export function parseAccountIndex(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 9) {
    throw new InvalidArgumentError("expected a dev account index 0..9 (see `openledger accounts`)");
  }
  return Number(value);
}

/** commander parser for an address: 0x and 40 hex digits (the checksum is not required). */
export function parseAddress(value: string): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{40}$/.test(value))
    throw new InvalidArgumentError("expected a 0x address (40 hex digits)");
  return value as `0x${string}`;
}

/** commander parser for an amount of OPEN in decimal (`1.5`), kept in wei (18 decimals). */
export function parseOpenAmount(value: string): bigint {
  const match = /^(\d+)(?:\.(\d{1,18}))?$/.exec(value);
  if (!match)
    throw new InvalidArgumentError("expected an amount of OPEN like 10 or 0.25 (at most 18 decimals)");
  const wei = BigInt(match[1]) * 10n ** 18n + BigInt((match[2] ?? "").padEnd(18, "0"));
  if (wei === 0n) throw new InvalidArgumentError("expected an amount above 0");
  if (wei >= 2n ** 256n) throw new InvalidArgumentError("expected an amount below 2^256 wei");
  return wei;
}

/** The options of the commands that act as (or read) one account: balance, wrap, unwrap. */
export function addWalletOptions(command: Command): Command {
  return command
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseRpcUrl, "http://127.0.0.1:8545")
    .option(
      "--deployments <dir>",
      "folder of deployments/<chainId>.json (for the token address)",
      "deployments",
    )
    .option("--private-key <hex>", "key of the acting account", parsePrivateKey)
    .option("--account <index>", "dev account index on a local dev chain (0..9)", parseAccountIndex, 0);
}

/** Whether a listen address is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Dev-key signing (the server's dev accounts send transactions for HTTP callers) is a dev mode: on by
 * default only on a loopback host (the quick start), never on one others can reach, where anyone could
 * act as the dev accounts.
 */
export function resolveDevSigning(requested: boolean | undefined, host: string): boolean {
  const loopback = isLoopbackHost(host);
  if (requested && !loopback) {
    throw new CliError(
      `--dev-signing is only allowed on a loopback --host (127.0.0.1, ::1, localhost), not ${host}: anyone who can reach the API could act as the dev accounts; drop it and callers' wallets sign (202 with unsigned transactions)`,
    );
  }
  return requested ?? loopback;
}

/** commander collector for a repeatable option. */
export function collect<T>(parse: (v: string) => T) {
  return (value: string, previous: T[] | undefined): T[] => [...(previous ?? []), parse(value)];
}
