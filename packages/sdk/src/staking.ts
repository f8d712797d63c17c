import { type Address, type Client, encodeFunctionData, parseEventLogs } from "viem";
import { readContract } from "viem/actions";
import { stakingAbi as abi } from "./generated/abis.ts";
import { read, type Sent, transact, type WalletClientWithAccount } from "./transact.ts";

// Staking pulls tokens with transferFrom: approve (or permit) the Staking contract first.

/**
 * Stakes `amount` into `operator`'s pool (default: the sender's own pool, which registers the sender
 * as an operator). Returns the pool shares minted: 0 when the pool has open settlement batches, in
 * which case the stake warms up until they close (see {@link warmingOf} and {@link activateStake}).
 */
export async function stake(
  client: WalletClientWithAccount,
  params: { staking: Address; amount: bigint; operator?: Address },
): Promise<Sent & { shares: bigint }> {
  const operator = params.operator ?? client.account.address;
  const data = encodeFunctionData({ abi, functionName: "stake", args: [operator, params.amount] });
  const sent = await transact(client, { to: params.staking, data, label: "Staking.stake" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "Staked" });
  return { ...sent, shares: event.args.shares };
}

/** Delegates `amount` to a registered operator's pool. */
export function delegate(
  client: WalletClientWithAccount,
  params: { staking: Address; operator: Address; amount: bigint },
): Promise<Sent & { shares: bigint }> {
  return stake(client, params);
}

/**
 * Starts unbonding `amount` (capped at the stake, warming stake first) from `operator`'s pool. An operator
 * cannot unbond its active self-stake while it has an open settlement batch (`SelfStakeLocked`).
 */
export async function unbond(
  client: WalletClientWithAccount,
  params: { staking: Address; operator: Address; amount: bigint },
): Promise<Sent & { unbondingId: bigint; amount: bigint; readyAt: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "unbond", args: [params.operator, params.amount] });
  const sent = await transact(client, { to: params.staking, data, label: "Staking.unbond" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "UnbondingStarted" });
  return {
    ...sent,
    unbondingId: event.args.unbondingId,
    amount: event.args.amount,
    readyAt: event.args.readyAt,
  };
}

/** Withdraws a finished unbonding. */
export async function withdrawUnbonded(
  client: WalletClientWithAccount,
  params: { staking: Address; unbondingId: bigint },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "withdraw", args: [params.unbondingId] });
  const sent = await transact(client, { to: params.staking, data, label: "Staking.withdraw" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "Withdrawn" });
  return { ...sent, amount: event.args.amount };
}

/** Claims the sender's rewards from `operator`'s pool. */
export async function claimRewards(
  client: WalletClientWithAccount,
  params: { staking: Address; operator: Address },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "claimRewards", args: [params.operator] });
  const sent = await transact(client, { to: params.staking, data, label: "Staking.claimRewards" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "RewardsClaimed" });
  return { ...sent, amount: event.args.amount };
}

export function isOperator(
  client: Client,
  params: { staking: Address; operator: Address },
): Promise<boolean> {
  return read("Staking.isOperator", () =>
    readContract(client, {
      address: params.staking,
      abi,
      functionName: "isOperator",
      args: [params.operator],
    }),
  );
}

export function stakeOf(
  client: Client,
  params: { staking: Address; operator: Address; account: Address },
): Promise<bigint> {
  return read("Staking.stakeOf", () =>
    readContract(client, {
      address: params.staking,
      abi,
      functionName: "stakeOf",
      args: [params.operator, params.account],
    }),
  );
}

export function pendingRewards(
  client: Client,
  params: { staking: Address; operator: Address; account: Address },
): Promise<bigint> {
  return read("Staking.pendingRewards", () =>
    readContract(client, {
      address: params.staking,
      abi,
      functionName: "pendingRewards",
      args: [params.operator, params.account],
    }),
  );
}

/** An operator pool: registered, active stake, shares, unbonding stake. */
export async function poolOf(client: Client, params: { staking: Address; operator: Address }) {
  const [registered, activeStake, shares, unbonding] = await read("Staking.poolOf", () =>
    readContract(client, { address: params.staking, abi, functionName: "poolOf", args: [params.operator] }),
  );
  return { registered, activeStake, shares, unbonding };
}

/** A pending unbonding: owner, operator, ready time, current amount (after any slash). */
export async function unbondingOf(client: Client, params: { staking: Address; unbondingId: bigint }) {
  const [account, operator, readyAt, amount] = await read("Staking.unbondingOf", () =>
    readContract(client, {
      address: params.staking,
      abi,
      functionName: "unbondingOf",
      args: [params.unbondingId],
    }),
  );
  return { account, operator, readyAt, amount };
}

/**
 * Activates `account`'s warming stake in `operator`'s pool (stake that arrived while the pool had open
 * settlement batches earns and is slashable only once they closed). Anyone may send it. Returns the
 * pool shares minted.
 */
export async function activateStake(
  client: WalletClientWithAccount,
  params: { staking: Address; operator: Address; account?: Address },
): Promise<Sent & { amount: bigint; shares: bigint }> {
  const account = params.account ?? client.account.address;
  const data = encodeFunctionData({ abi, functionName: "activate", args: [params.operator, account] });
  const sent = await transact(client, { to: params.staking, data, label: "Staking.activate" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "Activated" });
  return { ...sent, amount: event.args.amount, shares: event.args.shares };
}

/** `account`'s warming stake in `operator`'s pool and whether it can be activated now. */
export async function warmingOf(
  client: Client,
  params: { staking: Address; operator: Address; account: Address },
): Promise<{ amount: bigint; activatable: boolean }> {
  const [amount, activatable] = await read("Staking.warmingOf", () =>
    readContract(client, {
      address: params.staking,
      abi,
      functionName: "warmingOf",
      args: [params.operator, params.account],
    }),
  );
  return { amount, activatable };
}
