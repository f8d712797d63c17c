// Command-line arguments of bin.ts turned into startNode options, each value checked so that a typo
// stops the node with a message naming the option rather than starting it with NaN.
import { parseArgs } from "node:util";
import type { NodeOptions } from "./node.ts";

export const NODE_USAGE =
  "usage: bin.ts --datadir DIR [--port 8545] [--host 127.0.0.1] [--block-time 1] [--automine] [--chain-id 1337] [--gas-limit 30000000] [--recovery-threads N] [--rebuild-state]";

/** A command line bin.ts cannot start from; the message says which option and why. */
export class NodeArgsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NodeArgsError";
  }
}

export type NodeArgs = Pick<
  NodeOptions,
  "datadir" | "blockTime" | "automine" | "chainId" | "blockGasLimit" | "recoveryThreads" | "rebuildState"
> & { port: number; host: string };

/** Lowest block gas limit: one plain transfer must fit. */
const MIN_GAS_LIMIT = 21_000n;
/** Highest: geth's and anvil's limit (a signed 64-bit quantity). */
const MAX_GAS_LIMIT = 2n ** 63n - 1n;

export function parseNodeArgs(argv: string[]): NodeArgs {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (err) {
    throw new NodeArgsError(err instanceof Error ? err.message : String(err));
  }
  if (!values.datadir) throw new NodeArgsError(`--datadir is required (${NODE_USAGE})`);
  return {
    datadir: values.datadir,
    port: integer("--port", values.port, 0n, 65_535n, Number),
    host: values.host,
    blockTime: seconds("--block-time", values["block-time"]),
    automine: values.automine,
    chainId:
      values["chain-id"] === undefined
        ? undefined
        : integer("--chain-id", values["chain-id"], 1n, 2n ** 53n - 1n, (n) => n),
    blockGasLimit:
      values["gas-limit"] === undefined
        ? undefined
        : integer("--gas-limit", values["gas-limit"], MIN_GAS_LIMIT, MAX_GAS_LIMIT, (n) => n),
    recoveryThreads:
      values["recovery-threads"] === undefined
        ? undefined
        : integer("--recovery-threads", values["recovery-threads"], 0n, 64n, Number),
    rebuildState: values["rebuild-state"],
  };
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    strict: true,
    options: {
      datadir: { type: "string" },
      port: { type: "string", default: "8545" },
      host: { type: "string", default: "127.0.0.1" },
      "block-time": { type: "string", default: "1" },
      automine: { type: "boolean", default: false },
      "chain-id": { type: "string" },
      "gas-limit": { type: "string" },
      "recovery-threads": { type: "string" },
      "rebuild-state": { type: "boolean", default: false },
    },
  }).values;
}

/** A decimal integer in [min, max] (digits only: no sign, exponent, fraction or hex). */
function integer<T>(name: string, text: string, min: bigint, max: bigint, as: (n: bigint) => T): T {
  if (!/^\d{1,20}$/.test(text)) throw new NodeArgsError(`${name} must be a decimal integer, got "${text}"`);
  const n = BigInt(text);
  if (n < min || n > max) throw new NodeArgsError(`${name} must be between ${min} and ${max}, got ${text}`);
  return as(n);
}

/** Seconds between blocks: a non-negative decimal (0 turns the block timer off), at most a day. */
function seconds(name: string, text: string): number {
  if (!/^\d{1,6}(\.\d{1,3})?$/.test(text))
    throw new NodeArgsError(`${name} must be a non-negative number of seconds, got "${text}"`);
  const n = Number(text);
  if (n > 86_400) throw new NodeArgsError(`${name} must be at most 86400 seconds, got ${text}`);
  return n;
}
