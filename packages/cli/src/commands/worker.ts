import { hostname } from "node:os";
import type { Command } from "commander";
import { InvalidArgumentError } from "commander";
import type { Address } from "viem";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { parseAddress, parseRpcUrl } from "../options.ts";
import { parseApiUrl } from "./jobs.ts";

interface WorkerCliOptions {
  server: string;
  token?: string;
  name: string;
  workDir: string;
  threads?: number;
  externalCommand?: string;
  relaxedSimd: boolean;
  once: boolean;
  rpc?: string;
  deployments: string;
  datanetRegistry?: Address;
}

/**
 * Where the worker reads snapshot roots: the DatanetRegistry (given, or from the deployment file of
 * the chain at --rpc) on the chain at --rpc. Refuses an unreachable RPC or an address with no code.
 */
async function rootSource(o: WorkerCliOptions, rpc: string) {
  const { chainClient } = await import("@openledger/factory");
  const { readDeployment } = await import("@openledger/sdk");
  const { getChainId, getCode } = await import("viem/actions"); // not at start-up: help stays fast
  const client = chainClient(rpc);
  let chainId: number;
  try {
    chainId = await getChainId(client);
  } catch (err) {
    throw new CliError(`cannot reach the RPC at ${rpc}: ${(err as Error).message.split("\n")[0]}`);
  }
  const deployed = readDeployment(o.deployments, chainId)?.addresses;
  const registry = o.datanetRegistry ?? deployed?.datanetRegistry;
  if (!registry) {
    throw new CliError(
      `no DatanetRegistry deployment for chain ${chainId} in ${o.deployments}/: pass --deployments or --datanet-registry`,
    );
  }
  if (!(await getCode(client, { address: registry }))) {
    throw new CliError(`there is no contract at ${registry} on chain ${chainId}: not a DatanetRegistry`);
  }
  // the base hash is checked against ModelRegistry when the deployment file names it
  const modelRegistry = o.datanetRegistry ? undefined : deployed?.modelRegistry;
  return { client, datanetRegistry: registry, ...(modelRegistry ? { modelRegistry } : {}) };
}

export function registerWorkerCommand(program: Command): void {
  program
    .command("worker")
    .description(
      "claim fine-tuning jobs from a factory server over HTTP, train them here (embedded engine or an external trainer) and upload the results",
    )
    .requiredOption("--server <url>", "the factory server (the HTTP API of `openledger up`)", parseApiUrl)
    .option("--token <token>", "worker token (the server's <datadir>/factory/worker-token)")
    .option("--name <name>", "worker name shown in job events", `${hostname()}-${process.pid}`)
    .option("--work-dir <dir>", "cache of base models and scratch space", ".openledger/worker")
    .option("--threads <n>", "compute threads (default: all cores)", (v) => {
      if (!/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 16)
        throw new InvalidArgumentError("expected 1..16");
      return Number(v);
    })
    .option(
      "--external-command <cmd>",
      "train with this command instead ({config}, {data_dir}, {output_dir}, {base_model} are replaced); it must write PEFT safetensors to {output_dir}",
    )
    .option(
      "--relaxed-simd",
      "faster fused multiply-add kernels; a checkpoint then resumes to the same bytes only on the same kind of CPU",
      false,
    )
    .option(
      "--rpc <url>",
      "JSON-RPC endpoint of the chain: each job's snapshot roots must equal DatanetRegistry's and its base hash ModelRegistry's (without it both are checked against the server only)",
      parseRpcUrl,
    )
    .option("--deployments <dir>", "folder of deployments/<chainId>.json (with --rpc)", "deployments")
    .option(
      "--datanet-registry <address>",
      "the DatanetRegistry address (with --rpc; default: from --deployments)",
      parseAddress,
    )
    .option("--once", "exit when the queue is empty", false)
    .action(async (_o, command: Command) => {
      const { options, log } = commandContext<WorkerCliOptions>(command);
      if (!options.token)
        throw new CliError("--token (or OPENLEDGER_TOKEN) is required: the server's worker token");
      if (options.datanetRegistry && !options.rpc)
        throw new CliError("--datanet-registry needs --rpc: the chain to read snapshot roots from");
      const chain = options.rpc ? await rootSource(options, options.rpc) : undefined;
      const { runWorker } = await import("@openledger/factory");
      const controller = new AbortController();
      for (const sig of ["SIGINT", "SIGTERM"] as const) process.once(sig, () => controller.abort());
      log.info("worker started", { server: options.server, name: options.name });
      const done = await runWorker({
        server: options.server,
        token: options.token,
        worker: options.name,
        workDir: options.workDir,
        threads: options.threads,
        relaxedSimd: options.relaxedSimd,
        external: options.externalCommand ? { command: options.externalCommand } : undefined,
        chain,
        once: options.once,
        signal: controller.signal,
        log: (line) => log.info(line),
      });
      log.info("worker stopped", { jobs: done });
    });
}
