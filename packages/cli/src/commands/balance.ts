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
      // viem through require, no sdk: this command starts in well under a second (see fast-chain.ts)
      const { addressOfKey, deployedToken, readOnlyChain, viemCjs } = await import("../fast-chain.ts");
      const { actingKey, nativeSymbol } = await import("../wallet.ts");
      const { erc20Abi, formatEther } = viemCjs();
      const { publicClient, chainId } = await readOnlyChain(options.rpc);
      const who = address ?? addressOfKey(await actingKey(options, chainId));
      const [native, symbol] = await Promise.all([
        publicClient.getBalance({ address: who }),
        nativeSymbol(publicClient),
      ]);
      const token = deployedToken(options.deployments, chainId);
      const held = token
        ? await publicClient.readContract({
            address: token.address,
            abi: erc20Abi,
            functionName: "balanceOf",
            args: [who],
          })
        : undefined;
      const tokenLabel = token?.wrapped ? "WOPEN (wrapped OPEN, ERC-20)" : "OPEN (ERC-20)";
      if (options.json) {
        print(
          JSON.stringify({
            address: who,
            chainId,
            native: { symbol, wei: native.toString() },
            token: token && { address: token.address, wrapped: token.wrapped, wei: held?.toString() },
          }),
        );
        return;
      }
      print(`${who} on chain ${chainId}`);
      print(`  ${formatEther(native)} ${symbol} (native)`);
      if (token && held !== undefined) print(`  ${formatEther(held)} ${tokenLabel} at ${token.address}`);
      else print(`  no protocol token deployment for chain ${chainId} in ${options.deployments}/`);
    });
}
