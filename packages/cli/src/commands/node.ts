import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { Address, Hex } from "viem";
import { commandContext } from "../context.ts";
import { parsePort } from "../options.ts";

interface NodeCommandOptions {
  datadir: string;
  port: number;
  host: string;
  blockTime: number;
  automine: boolean;
  chainId: number;
  deployments: string;
  predeploy: boolean;
}

function parseBlockTime(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value) || n < 0 || n > 86400) {
    throw new InvalidArgumentError("expected seconds in 0..86400 (0: no timer)");
  }
  return n;
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
    .option("--deployments <dir>", "folder for deployments/<chainId>.json", "deployments")
    .option("--no-predeploy", "start a fresh chain without the protocol contracts")
    .action(async (_opts, command: Command) => {
      const { options, log, print } = commandContext<NodeCommandOptions>(command);
      const { startNode } = await import("@openledger/chain");
      const { spanV1Precompile } = await import("@openledger/attribution");
      const fresh = !existsSync(join(options.datadir, "chain.sqlite"));
      const plan = fresh && options.predeploy ? await genesisPlan() : undefined;
      const running = await startNode({
        datadir: options.datadir,
        port: options.port,
        host: options.host,
        blockTime: options.blockTime,
        automine: options.automine,
        chainId: BigInt(options.chainId),
        precompiles: [spanV1Precompile],
        genesisTransactions: plan?.transactions.map((t) => ({
          to: t.to ?? undefined,
          data: t.data,
          value: t.value,
          label: t.kind === "deploy" ? t.label : undefined,
        })),
      });
      if (plan) {
        const path = await writeGenesisDeployment(options.deployments, running.node, plan);
        log.info("protocol predeployed in block 1", { deployments: path });
      }
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

async function genesisPlan() {
  const { protocolDeployTransactions } = await import("@openledger/sdk");
  const { deriveDevAccounts } = await import("@openledger/chain");
  const deployer = deriveDevAccounts(1)[0].address;
  return protocolDeployTransactions({
    deployer,
    startNonce: 0,
    params: { token: "wrapped", verifier: "span-v1-precompile" },
  });
}

/** deployments/<chainId>.json in the sdk's format, so `openledger deploy` and the sdk find the contracts. */
async function writeGenesisDeployment(
  dir: string,
  node: { chainId: bigint; genesisResults: { hash: string; blockNumber: number }[] },
  plan: Awaited<ReturnType<typeof genesisPlan>>,
): Promise<string> {
  const sdk = await import("@openledger/sdk");
  const { keccak256 } = await import("viem");
  const exports = sdk as unknown as Record<string, unknown>;
  const contracts: Record<
    string,
    { address: Address; blockNumber: number; transactionHash: Hex; codeHash: Hex; argsHash: Hex }
  > = {};
  const setup: Record<string, { blockNumber: number; transactionHash: Hex }> = {};
  plan.transactions.forEach((t, i) => {
    const result = node.genesisResults[i];
    const transactionHash = result.hash as Hex;
    if (t.kind === "deploy" && t.contractAddress) {
      const bytecode = exports[`${t.label[0].toLowerCase()}${t.label.slice(1)}Bytecode`];
      const code = typeof bytecode === "string" && t.data.startsWith(bytecode) ? (bytecode as Hex) : t.data;
      const args = `0x${t.data.slice(code.length)}` as Hex;
      contracts[t.label] = {
        address: t.contractAddress,
        blockNumber: result.blockNumber,
        transactionHash,
        codeHash: keccak256(code),
        argsHash: keccak256(args),
      };
    } else {
      setup[t.label] = { blockNumber: result.blockNumber, transactionHash };
    }
  });
  return sdk.writeDeployment(dir, {
    chainId: Number(node.chainId),
    deployer: plan.transactions[0]?.from ?? ("0x0000000000000000000000000000000000000000" as Address),
    addresses: plan.addresses,
    contracts,
    setup,
    updatedAt: new Date().toISOString(),
  });
}
