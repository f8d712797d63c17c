import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { parseRpcUrl } from "../options.ts";

interface AccountsOptions {
  rpc?: string;
  deployments: string;
  json: boolean;
}

export function registerAccountsCommand(program: Command): void {
  program
    .command("accounts")
    .description("list the dev accounts (test mnemonic) with their keys, and balances when --rpc is given")
    .option("--rpc <url>", "JSON-RPC endpoint to read balances from", parseRpcUrl)
    .option("--deployments <dir>", "folder of deployments/<chainId>.json (for $OPEN balances)", "deployments")
    .option("--json", "print JSON instead of a table", false)
    .action(async (_opts, command: Command) => {
      const { options, print } = commandContext<AccountsOptions>(command);
      // heavy modules load only when the command runs, so --help stays fast
      const { accountRows, formatAccountRow } = await import("../dev-accounts.ts");
      const { DEV_MNEMONIC } = await import("@openledger/common/dev-accounts");
      const rows = await accountRows(options);
      if (options.json) {
        print(JSON.stringify({ mnemonic: DEV_MNEMONIC, accounts: rows }, null, 2));
        return;
      }
      print(`mnemonic: ${DEV_MNEMONIC}`);
      for (const r of rows) print(formatAccountRow(r));
    });
}
