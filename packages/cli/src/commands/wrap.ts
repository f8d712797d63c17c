import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { addWalletOptions, parseOpenAmount } from "../options.ts";
import type { WalletOptions } from "../wallet.ts";

/** Shared by wrap and unwrap: the acting wallet and the WrappedOpen token of this chain. */
async function wrappedToken(options: WalletOptions) {
  const { connectRpc } = await import("../rpc.ts");
  const { actingKey } = await import("../wallet.ts");
  const { deployedToken } = await import("../fast-chain.ts");
  const probe = await connectRpc(options.rpc);
  const token = deployedToken(options.deployments, probe.chain.id);
  if (!token) {
    throw new CliError(
      `no protocol deployment for chain ${probe.chain.id} in ${options.deployments}/; run \`openledger deploy --rpc ${options.rpc}\` first`,
    );
  }
  if (!token.wrapped) {
    throw new CliError(
      `the $OPEN token on chain ${probe.chain.id} is the ERC-20 OpenToken, not WrappedOpen: there is no native OPEN to wrap here`,
    );
  }
  const { walletClient, publicClient } = await connectRpc(
    options.rpc,
    await actingKey(options, probe.chain.id),
  );
  if (!walletClient) throw new CliError("could not create a wallet client");
  return { walletClient, publicClient, token: token.address };
}

export function registerWrapCommands(program: Command): void {
  addWalletOptions(
    program
      .command("wrap")
      .description("wrap native OPEN into the WrappedOpen ERC-20 (1:1), e.g. to pay for licences on the L2")
      .argument("<amount>", "OPEN to wrap, e.g. 10 or 0.5", parseOpenAmount),
  ).action(async (amount: bigint, _opts, command: Command) => {
    const { options, log, print } = commandContext<WalletOptions>(command);
    const { wrapOpen } = await import("@openledger/sdk");
    const { formatEther } = await import("viem");
    const { walletClient, token } = await wrappedToken(options);
    const { hash } = await wrapOpen(walletClient, { token, amount });
    log.info("wrapped", { account: walletClient.account.address, wei: amount, tx: hash });
    print(`wrapped ${formatEther(amount)} OPEN into WOPEN for ${walletClient.account.address} (tx ${hash})`);
  });

  addWalletOptions(
    program
      .command("unwrap")
      .description("unwrap WrappedOpen back into native OPEN (1:1)")
      .argument("<amount>", "WOPEN to unwrap, e.g. 10 or 0.5", parseOpenAmount),
  ).action(async (amount: bigint, _opts, command: Command) => {
    const { options, log, print } = commandContext<WalletOptions>(command);
    const { tokenBalance, unwrapOpen } = await import("@openledger/sdk");
    const { formatEther } = await import("viem");
    const { walletClient, publicClient, token } = await wrappedToken(options);
    const me = walletClient.account.address;
    const held = await tokenBalance(publicClient, { token, account: me });
    if (held < amount) {
      throw new CliError(
        `${me} holds ${formatEther(held)} WOPEN, less than the ${formatEther(amount)} asked`,
      );
    }
    const { hash } = await unwrapOpen(walletClient, { token, amount });
    log.info("unwrapped", { account: me, wei: amount, tx: hash });
    print(`unwrapped ${formatEther(amount)} WOPEN into native OPEN for ${me} (tx ${hash})`);
  });
}
