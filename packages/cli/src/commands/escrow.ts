import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { addWalletOptions, parseOpenAmount } from "../options.ts";
import type { WalletOptions } from "../wallet.ts";

/** The acting wallet and this chain's InferenceSettlement and token (escrow and keys share it). */
export async function settlementWallet(options: WalletOptions) {
  const { connectRpc } = await import("../rpc.ts");
  const { actingKey } = await import("../wallet.ts");
  const { readDeployment } = await import("@openledger/sdk");
  const probe = await connectRpc(options.rpc);
  const deployment = readDeployment(options.deployments, probe.chain.id);
  if (!deployment?.addresses.inferenceSettlement || !deployment.addresses.token) {
    throw new CliError(
      `no protocol deployment for chain ${probe.chain.id} in ${options.deployments}/; run \`openledger deploy --rpc ${options.rpc}\` first`,
    );
  }
  const { walletClient, publicClient } = await connectRpc(
    options.rpc,
    await actingKey(options, probe.chain.id),
  );
  if (!walletClient) throw new CliError("could not create a wallet client");
  return {
    walletClient,
    publicClient,
    chainId: probe.chain.id,
    settlement: deployment.addresses.inferenceSettlement,
    token: deployment.addresses.token,
  };
}

export function registerEscrowCommand(program: Command): void {
  const escrow = program
    .command("escrow")
    .description("the $OPEN your API keys draw on: prepaid escrow in InferenceSettlement");

  addWalletOptions(
    escrow
      .command("deposit")
      .description("approve and deposit $OPEN into the acting account's escrow")
      .argument("<amount>", "OPEN, e.g. 10 or 0.5", parseOpenAmount),
  ).action(async (amount: bigint, _opts, command: Command) => {
    const { options, print } = commandContext<WalletOptions>(command);
    const { approveToken, deposit, escrowOf, tokenBalance } = await import("@openledger/sdk");
    const { formatEther } = await import("viem");
    const w = await settlementWallet(options);
    const me = w.walletClient.account.address;
    const held = await tokenBalance(w.publicClient, { token: w.token, account: me });
    if (held < amount)
      throw new CliError(
        `${me} holds ${formatEther(held)} OPEN, less than the ${formatEther(amount)} to deposit`,
      );
    await approveToken(w.walletClient, { token: w.token, spender: w.settlement, amount });
    const { hash } = await deposit(w.walletClient, { settlement: w.settlement, amount });
    const total = await escrowOf(w.publicClient, { settlement: w.settlement, account: me });
    print(
      `deposited ${formatEther(amount)} OPEN; escrow of ${me} is ${formatEther(total)} OPEN (tx ${hash})`,
    );
  });

  addWalletOptions(
    escrow
      .command("withdraw")
      .description(
        "with an amount: request a withdrawal (ready after the settlement's delay); without: withdraw the matured request",
      )
      .argument("[amount]", "OPEN to request", parseOpenAmount),
  ).action(async (amount: bigint | undefined, _opts, command: Command) => {
    const { options, print } = commandContext<WalletOptions>(command);
    const { requestWithdraw, withdraw } = await import("@openledger/sdk");
    const { formatEther } = await import("viem");
    const w = await settlementWallet(options);
    if (amount !== undefined) {
      const r = await requestWithdraw(w.walletClient, { settlement: w.settlement, amount });
      print(
        `withdrawal of ${formatEther(amount)} OPEN requested: run \`openledger escrow withdraw\` between unix time ${r.readyAt} and ${r.expiresAt} (tx ${r.hash})`,
      );
      return;
    }
    const r = await withdraw(w.walletClient, { settlement: w.settlement });
    print(`withdrew ${formatEther(r.amount)} OPEN (tx ${r.hash})`);
  });

  addWalletOptions(
    escrow.command("show").description("escrow, what operators may debit, a pending withdrawal"),
  )
    .option("--json", "print JSON", false)
    .action(async (_opts, command: Command) => {
      const { options, print } = commandContext<WalletOptions & { json: boolean }>(command);
      const { debitableOf, escrowOf, withdrawalOf } = await import("@openledger/sdk");
      const { formatEther } = await import("viem");
      const w = await settlementWallet(options);
      const account = w.walletClient.account.address;
      const q = { settlement: w.settlement, account };
      const [balance, debitable, pending] = await Promise.all([
        escrowOf(w.publicClient, q),
        debitableOf(w.publicClient, q),
        withdrawalOf(w.publicClient, q),
      ]);
      if (options.json) {
        print(
          JSON.stringify({
            account,
            escrow: balance.toString(),
            debitable: debitable.toString(),
            withdrawal: { amount: pending.amount.toString(), readyAt: pending.readyAt.toString() },
          }),
        );
        return;
      }
      print(`escrow of ${account}: ${formatEther(balance)} OPEN (${formatEther(debitable)} debitable)`);
      if (pending.amount > 0n)
        print(
          `  withdrawal of ${formatEther(pending.amount)} OPEN requested, ready at unix time ${pending.readyAt}`,
        );
    });
}
