import type { Command } from "commander";
import type { Address } from "viem";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { addWalletOptions, parseAddress } from "../options.ts";
import type { WalletOptions } from "../wallet.ts";

interface RewardsOptions extends WalletOptions {
  api: string;
  address?: Address;
  json: boolean;
}

/** The chain, the protocol addresses and the operator behind an API (GET /v1/payments). */
async function rewardsSources(options: RewardsOptions) {
  const { settlementWallet } = await import("./escrow.ts");
  const { readDeployment } = await import("@openledger/sdk");
  const w = await settlementWallet(options);
  const addresses = readDeployment(options.deployments, w.chainId)?.addresses;
  if (!addresses?.datanetRegistry || !addresses.staking)
    throw new CliError(`no DatanetRegistry or Staking in ${options.deployments}/${w.chainId}.json`);
  const url = `${options.api.replace(/\/+$/, "")}/v1/payments`;
  const info = (await fetch(url)
    .then((r) => r.json())
    .catch(() => {
      throw new CliError(`cannot reach ${url}`);
    })) as { operator?: Address };
  if (!info.operator) throw new CliError(`${url} names no operator`);
  return {
    w,
    sources: {
      api: options.api,
      settlement: w.settlement,
      datanetRegistry: addresses.datanetRegistry,
      staking: addresses.staking,
      operator: info.operator,
    },
  };
}

const json = (v: unknown) => JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x));

export function registerRewardsCommand(program: Command): void {
  const withOptions = (c: Command) =>
    addWalletOptions(c)
      .option("--api <url>", "the operator's HTTP API (serves /v1/settlement)", "http://127.0.0.1:8080")
      .option("--json", "print JSON", false);

  const rewards = withOptions(
    program
      .command("rewards")
      .description(
        "what an account earned from paid answers: payouts per contribution, Datanet and batch; model-owner and platform earnings; staking rewards",
      )
      .option("--address <address>", "whose rewards (default: the acting account)", parseAddress),
  ).action(async (_opts, command: Command) => {
    const { options, print } = commandContext<RewardsOptions>(command);
    const { rewardsOf, rewardTotals } = await import("@openledger/payments");
    const { formatEther } = await import("viem");
    const { w, sources } = await rewardsSources(options);
    const account = options.address ?? w.walletClient.account.address;
    const report = await rewardsOf(w.publicClient, sources, account);
    if (options.json) {
      print(json(report));
      return;
    }
    const open = (t: Record<string, bigint>) =>
      `${formatEther(t.claimable!)} claimable, ${formatEther(t.pending!)} pending, ${formatEther(t.claimed!)} claimed`;
    print(`rewards of ${report.account} (OPEN)`);
    const sections: [string, (p: (typeof report.payouts)[number]) => string][] = [
      [
        "per contribution",
        (p) => (p.contributionId === null ? "uncredited answers' share" : `contribution ${p.contributionId}`),
      ],
      [
        "per Datanet",
        (p) => (p.datanetId === null ? "training snapshots (uncredited)" : `Datanet ${p.datanetId}`),
      ],
      ["per batch", (p) => `batch ${p.batchId} (model ${p.modelId})`],
    ];
    for (const [title, key] of sections) {
      print(`  ${title}:`);
      const totals = rewardTotals(report.payouts, key);
      if (totals.size === 0) print("    none");
      for (const [k, t] of totals) print(`    ${k}: ${open(t)}`);
    }
    print(`  model owner / platform earnings: ${formatEther(report.earnings)} claimable`);
    print(`  staking rewards (operator ${sources.operator}): ${formatEther(report.staking)} claimable`);
  });

  withOptions(
    rewards
      .command("claim")
      .description(
        "claim the acting account's claimable payouts (with their proofs), earnings and staking rewards",
      ),
  ).action(async (_opts, command: Command) => {
    const { options, print } = commandContext<RewardsOptions>(command);
    const { claimAll, rewardsOf } = await import("@openledger/payments");
    const { formatEther } = await import("viem");
    const { w, sources } = await rewardsSources(options);
    const report = await rewardsOf(w.publicClient, sources, w.walletClient.account.address);
    const paid = await claimAll(w.walletClient, sources, report);
    if (options.json) {
      print(json({ account: report.account, ...paid }));
      return;
    }
    const pending = report.payouts.filter((p) => p.state === "pending").reduce((s, p) => s + p.amount, 0n);
    print(
      `claimed ${formatEther(paid.payouts + paid.earnings + paid.staking)} OPEN for ${report.account}: ${formatEther(paid.payouts)} in payouts, ${formatEther(paid.earnings)} earnings, ${formatEther(paid.staking)} staking rewards`,
    );
    if (pending > 0n)
      print(`  ${formatEther(pending)} OPEN more is in batches still in their challenge window`);
  });
}
