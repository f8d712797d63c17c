import type { Command } from "commander";
import type { Address } from "viem";
import { commandContext } from "../context.ts";
import { addWalletOptions, parseAddress } from "../options.ts";
import type { WalletOptions } from "../wallet.ts";

interface BalanceOptions extends WalletOptions {
  json: boolean;
}

export function registerBalanceCommand(program: Command): void {
  addWalletOptions(
    program
      .command("balance")
      .description(
        "native and $OPEN token balances of an address (default: the acting account); native OPEN on the L2, ETH elsewhere",
      )
      .argument(
        "[address]",
        "whose balances (default: --private-key's account or dev account --account)",
        parseAddress,
      ),
  )
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
