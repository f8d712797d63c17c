import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { parsePort, parseSeconds, verifierOption } from "../options.ts";

interface StartOptions {
  port: number;
  deployments: string;
  blockTime?: number;
  verifier: "none" | "span-v1" | "span-v1-precompile" | "span-v2" | "span-v2-precompile";
}

export function registerStartCommand(program: Command): void {
  program
    .command("start")
    .description(
      "start a local chain (anvil on 127.0.0.1), deploy the protocol, print addresses and dev accounts; Ctrl-C stops it",
    )
    .option("-p, --port <port>", "port on 127.0.0.1", parsePort, 8545)
    .option(
      "--block-time <seconds>",
      "seconds between blocks (default: a block per transaction)",
      parseSeconds,
    )
    .option("--deployments <dir>", "folder for deployments/<chainId>.json", "deployments")
    .addOption(verifierOption("span-v2"))
    .action(async (_opts, command: Command) => {
      const { options, log, print } = commandContext<StartOptions>(command);
      const { startAnvil } = await import("@openledger/devnet");
      const { addressLines, deployToChain, LOCAL_DEV_CHAIN_ID } = await import("../deploy-protocol.ts");
      const { accountRows, formatAccountRow } = await import("../dev-accounts.ts");
      const anvil = await startAnvil({
        port: options.port,
        chainId: LOCAL_DEV_CHAIN_ID,
        blockTime: options.blockTime,
      });
      const stopped = new Promise<NodeJS.Signals>((resolve) => {
        process.once("SIGINT", () => resolve("SIGINT"));
        process.once("SIGTERM", () => resolve("SIGTERM"));
      });
      try {
        log.info("local chain running", { rpc: anvil.rpcUrl, ws: anvil.wsUrl, chainId: LOCAL_DEV_CHAIN_ID });
        const result = await deployToChain({
          rpc: anvil.rpcUrl,
          deploymentsDir: options.deployments,
          verifier: options.verifier,
          log,
        });
        print(`RPC      ${anvil.rpcUrl}`);
        print(`WS       ${anvil.wsUrl}`);
        print(`chain id ${LOCAL_DEV_CHAIN_ID}`);
        print("");
        print("Contracts");
        for (const line of addressLines(result)) print(`  ${line}`);
        print("");
        print("Dev accounts (test mnemonic; never use these keys on a real chain)");
        for (const row of await accountRows({ rpc: anvil.rpcUrl, deployments: options.deployments })) {
          print(`  ${formatAccountRow(row)}`);
        }
        print("");
        print("Ready. Press Ctrl-C to stop.");
        const signal = await stopped;
        log.info("stopping the local chain", { signal });
      } finally {
        await anvil.stop();
      }
      log.info("stopped");
    });
}
