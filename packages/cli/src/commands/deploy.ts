import type { Command } from "commander";
import { Option } from "commander";
import type { Hex } from "viem";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { parsePrivateKey, parseRpcUrl, verifierOption } from "../options.ts";

interface DeployOptions {
  rpc?: string;
  privateKey?: Hex;
  deployments: string;
  fresh: boolean;
  token?: "open" | "wrapped";
  verifier?: "none" | "span-v1" | "span-v1-precompile" | "span-v2" | "span-v2-precompile";
  json: boolean;
}

export function registerDeployCommand(program: Command): void {
  program
    .command("deploy")
    .description(
      "deploy the protocol contracts to an EVM chain, idempotently (re-running keeps what is deployed); writes deployments/<chainId>.json",
    )
    .option("--rpc <url>", "JSON-RPC endpoint of the chain (required)", parseRpcUrl)
    .option(
      "--private-key <hex>",
      "deployer key (default: dev account 0, only on local dev chains 31337 and 1337)",
      parsePrivateKey,
    )
    .option("--deployments <dir>", "folder for deployments/<chainId>.json", "deployments")
    .option("--fresh", "ignore the existing deployment file and deploy everything anew", false)
    .addOption(
      new Option(
        "--token <kind>",
        "OpenToken (open) or WrappedOpen for chains whose native currency is OPEN (wrapped); default: wrapped on the OpenLedger L2, open elsewhere",
      ).choices(["open", "wrapped"]),
    )
    .addOption(verifierOption())
    .option("--json", "print the deployment as JSON", false)
    .action(async (_opts, command: Command) => {
      const { options, log, print } = commandContext<DeployOptions>(command);
      if (!options.rpc)
        throw new CliError('--rpc <url> is required (or OPENLEDGER_RPC, or "rpc" in the config file)');
      const { addressLines, deployToChain } = await import("../deploy-protocol.ts");
      const result = await deployToChain({
        rpc: options.rpc,
        privateKey: options.privateKey,
        deploymentsDir: options.deployments,
        fresh: options.fresh,
        token: options.token,
        verifier: options.verifier,
        log,
      });
      log.info(result.deployed.length ? "deployment written" : "everything was already deployed", {
        path: result.path,
        deployed: result.deployed.length,
      });
      if (options.json) print(JSON.stringify(result.deployment, null, 2));
      else for (const line of addressLines(result)) print(line);
    });
}
