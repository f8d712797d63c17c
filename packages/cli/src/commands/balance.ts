import type { Command } from "commander";
import type { Address } from "viem";
import { commandContext } from "../context.ts";
import { parseAccountIndex, parseAddress, parsePrivateKey, parseRpcUrl } from "../options.ts";
import type { WalletOptions } from "../wallet.ts";

interface BalanceOptions extends WalletOptions {
  json: boolean;
}

export function registerBalanceCommand(program: Command): void {
  program
    .command("balance")
    .description(
      "native and $OPEN token balances of an address (default: the acting account); native OPEN on the L2, ETH elsewhere",
    )
    .argument(
      "[address]",
      "whose balances (default: --private-key's account or dev account --account)",
      parseAddress,
    )
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseRpcUrl, "http://127.0.0.1:8545")
    .option(
      "--deployments <dir>",
      "folder of deployments/<chainId>.json (for the token address)",
      "deployments",
    )
    .option("--private-key <hex>", "key of the acting account", parsePrivateKey)
    .option("--account <index>", "dev account index on a local dev chain (0..9)", parseAccountIndex, 0)
    .option("--json", "print JSON", false)
    .action(async (address: Address | undefined, _opts, command: Command) => {
      const { options, print } = commandContext<BalanceOptions>(command);
      const { tokenBalance } = await import("@openledger/sdk");
      const { connectRpc } = await import("../rpc.ts");
      const { formatEther } = await import("viem");
      const { privateKeyToAccount } = await import("viem/accounts");
      const { actingKey, nativeSymbol, protocolToken } = await import("../wallet.ts");
      const { publicClient, chain } = await connectRpc(options.rpc);
      const who = address ?? privateKeyToAccount(await actingKey(options, chain.id)).address;
      const native = await publicClient.getBalance({ address: who });
      const symbol = await nativeSymbol(publicClient);
      const token = await protocolToken(options.deployments, chain.id);
      const held = token
        ? await tokenBalance(publicClient, { token: token.address, account: who })
        : undefined;
      const tokenLabel = token?.wrapped ? "WOPEN (wrapped OPEN, ERC-20)" : "OPEN (ERC-20)";
      if (options.json) {
        print(
          JSON.stringify({
            address: who,
            chainId: chain.id,
            native: { symbol, wei: native.toString() },
            token: token && { address: token.address, wrapped: token.wrapped, wei: held?.toString() },
          }),
        );
        return;
      }
      print(`${who} on chain ${chain.id}`);
      print(`  ${formatEther(native)} ${symbol} (native)`);
      if (token && held !== undefined) print(`  ${formatEther(held)} ${tokenLabel} at ${token.address}`);
      else print(`  no protocol token deployment for chain ${chain.id} in ${options.deployments}/`);
    });
}
