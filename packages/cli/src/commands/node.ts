import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import { commandContext } from "../context.ts";
import { parseBlockTime, parseGasLimit, parsePort } from "../options.ts";

interface NodeCommandOptions {
  datadir: string;
  port: number;
  host: string;
  blockTime: number;
  automine: boolean;
  chainId: number;
  gasLimit?: bigint;
  deployments: string;
  predeploy: boolean;
  rebuildState: boolean;
}

function parseChainId(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 2 ** 53 - 1)
    throw new InvalidArgumentError("expected a positive integer");
  return n;
}

export function registerNodeCommand(program: Command): void {
  program
    .command("node")
    .description(
      "run the OpenLedger L2 node (EVM, JSON-RPC over HTTP and WebSocket, SQLite data dir); a fresh chain has the protocol predeployed in block 1",
    )
    .option("--datadir <dir>", "data directory (chain.sqlite, pending.log)", ".openledger/chain")
    .option("-p, --port <port>", "JSON-RPC port (HTTP and WebSocket)", parsePort, 8545)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--block-time <seconds>", "seconds between blocks (0: only evm_mine)", parseBlockTime, 1)
    .option("--automine", "mine a block for every transaction as it arrives", false)
    .option("--chain-id <n>", "chain id (a data dir keeps the id it was created with)", parseChainId, 1337)
    .option(
      "--gas-limit <gas>",
      "gas limit of every block, for a new chain (default 30000000; a data dir keeps the limit it was created with)",
      parseGasLimit,
    )
    .option("--deployments <dir>", "folder for deployments/<chainId>.json", "deployments")
    .option("--no-predeploy", "start a fresh chain without the protocol contracts")
    .option(
      "--rebuild-state",
      "re-execute stored blocks when the head state is missing from the data dir",
      false,
    )
    .action(async (_opts, command: Command) => {
      const { options, log, print } = commandContext<NodeCommandOptions>(command);
      const { startL2Node } = await import("../genesis.ts");
      const running = await startL2Node({ ...options, chainId: BigInt(options.chainId), log });
      print(`RPC      ${running.url}`);
      print(`WS       ${running.wsUrl}`);
      print(`chain id ${running.node.chainId}`);
      print(`datadir  ${options.datadir}`);
      print(`head     ${running.node.head.header.number}`);
      print("Dev accounts (test mnemonic; never use these keys on a real chain)");
      for (const a of running.node.devAccounts) print(`  ${a.address}  ${a.privateKey}`);
      print("Ready. Press Ctrl-C to stop.");
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      log.info("stopping", { signal });
      await running.close();
    });
}
