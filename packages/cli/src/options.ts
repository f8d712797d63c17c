import { InvalidArgumentError, Option } from "commander";
import type { Hex } from "viem";

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
export function verifierOption(defaultKind?: "span-v1" | "span-v1-precompile" | "none"): Option {
  const about = "challenge verifier: SpanV1Verifier in Solidity, through the L2 precompile, or none";
  const option = new Option(
    "--verifier <kind>",
    defaultKind ? about : `${about}; default: span-v1-precompile on the OpenLedger L2, span-v1 elsewhere`,
  ).choices(["span-v1", "span-v1-precompile", "none"]);
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
