import {
  type Claim,
  claim,
  claimEarnings,
  claimRewards,
  earningsOf,
  getBatch,
  getContribution,
  isClaimed,
  pendingRewards,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import { type Address, type Client, getAddress, type Hex } from "viem";
import { getBlock } from "viem/actions";
import { SettlementError } from "./errors.ts";

/** One payout to an account, as `GET /v1/settlement/accounts/:address/payouts` serves it. */
interface PayoutJson {
  batchId: string;
  modelId: string;
  index: number;
  entry: number;
  amount: string;
  contributionId: string | null;
  attributionHash: Hex;
  payouts: { account: Address; amount: string }[];
  proof: { hash: Hex; sum: string }[];
}

/** A payout with where it stands on-chain. */
export interface AccountPayout {
  batchId: bigint;
  modelId: bigint;
  index: number;
  amount: bigint;
  /** the credited contribution it pays; null: an uncredited answer's share (training snapshots' contributors) */
  contributionId: bigint | null;
  datanetId: bigint | null;
  /** pending: in its challenge window; claimable: finalised or due; claimed; reverted: never paid */
  state: "pending" | "claimable" | "claimed" | "reverted";
  claim: Claim;
}

export interface RewardsReport {
  account: Address;
  payouts: AccountPayout[];
  /** platform and model-owner shares and challenge rewards credited in InferenceSettlement */
  earnings: bigint;
  /** Staking rewards pending from the operator's pool (stakers' shares reach delegators here) */
  staking: bigint;
}

export interface RewardsSources {
  api: string;
  settlement: Address;
  datanetRegistry: Address;
  staking: Address;
  /** the operator whose pool's staking rewards to show */
  operator: Address;
}

const BATCH_FINALIZED = 2;
const BATCH_REVERTED = 3;

/** Everything `account` has earned through an operator's batches, and where each payout stands. */
export async function rewardsOf(client: Client, o: RewardsSources, account: Address): Promise<RewardsReport> {
  const who = getAddress(account);
  const url = `${o.api.replace(/\/+$/, "")}/v1/settlement/accounts/${who}/payouts`;
  let res: Response;
  try {
    res = await fetch(url);
  } catch {
    throw new SettlementError(`cannot reach ${url}`);
  }
  const body = (await res.json().catch(() => null)) as {
    data?: PayoutJson[];
    error?: { message: string };
  } | null;
  if (!res.ok || !body?.data)
    throw new SettlementError(`${url}: ${body?.error?.message ?? `HTTP ${res.status}`}`);
  const now = (await getBlock(client, { blockTag: "latest" })).timestamp;
  const batches = new Map<string, Awaited<ReturnType<typeof getBatch>>>();
  const datanets = new Map<string, bigint>();
  const payouts: AccountPayout[] = [];
  for (const p of body.data) {
    let b = batches.get(p.batchId);
    if (!b) {
      b = await getBatch(client, { settlement: o.settlement, batchId: BigInt(p.batchId) });
      batches.set(p.batchId, b);
    }
    const claimed = await isClaimed(client, {
      settlement: o.settlement,
      batchId: BigInt(p.batchId),
      index: BigInt(p.index),
      entry: BigInt(p.entry),
    });
    const due = b.status === BATCH_FINALIZED || (b.openDisputes === 0 && now >= b.finalizableAt);
    const state = claimed
      ? "claimed"
      : b.status === BATCH_REVERTED
        ? "reverted"
        : due
          ? "claimable"
          : "pending";
    let datanetId: bigint | null = null;
    if (p.contributionId !== null) {
      datanetId = datanets.get(p.contributionId) ?? null;
      if (datanetId === null) {
        const c = await getContribution(client, {
          registry: o.datanetRegistry,
          contributionId: BigInt(p.contributionId),
        });
        datanetId = BigInt(c.datanetId);
        datanets.set(p.contributionId, datanetId);
      }
    }
    payouts.push({
      batchId: BigInt(p.batchId),
      modelId: BigInt(p.modelId),
      index: p.index,
      amount: BigInt(p.amount),
      contributionId: p.contributionId === null ? null : BigInt(p.contributionId),
      datanetId,
      state,
      claim: {
        index: BigInt(p.index),
        attributionHash: p.attributionHash,
        payouts: p.payouts.map((x) => ({ account: getAddress(x.account), amount: BigInt(x.amount) })),
        entry: BigInt(p.entry),
        proof: p.proof.map((n) => ({ hash: n.hash, sum: BigInt(n.sum) })),
      },
    });
  }
  const [earnings, staking] = await Promise.all([
    earningsOf(client, { settlement: o.settlement, account: who }),
    pendingRewards(client, { staking: o.staking, operator: o.operator, account: who }),
  ]);
  return { account: who, payouts, earnings, staking };
}

/** Sums of a report's payouts by a key (contribution, Datanet, batch), per state. */
export function rewardTotals(
  payouts: readonly AccountPayout[],
  key: (p: AccountPayout) => string,
): Map<string, Record<AccountPayout["state"], bigint>> {
  const out = new Map<string, Record<AccountPayout["state"], bigint>>();
  for (const p of payouts) {
    const k = key(p);
    const t = out.get(k) ?? { pending: 0n, claimable: 0n, claimed: 0n, reverted: 0n };
    t[p.state] += p.amount;
    out.set(k, t);
  }
  return out;
}

/**
 * Claims everything claimable: record payouts (one `claim` per batch, each payout to its own
 * account), the settlement earnings and the Staking rewards. Returns what each part paid.
 */
export async function claimAll(
  wallet: WalletClientWithAccount,
  o: RewardsSources,
  report: RewardsReport,
): Promise<{ payouts: bigint; earnings: bigint; staking: bigint }> {
  const byBatch = new Map<bigint, Claim[]>();
  for (const p of report.payouts)
    if (p.state === "claimable") byBatch.set(p.batchId, [...(byBatch.get(p.batchId) ?? []), p.claim]);
  let payouts = 0n;
  for (const [batchId, claims] of byBatch)
    payouts += (await claim(wallet, { settlement: o.settlement, batchId, claims })).amount;
  const earnings =
    report.earnings > 0n ? (await claimEarnings(wallet, { settlement: o.settlement })).amount : 0n;
  const staking =
    report.staking > 0n
      ? (await claimRewards(wallet, { staking: o.staking, operator: o.operator })).amount
      : 0n;
  return { payouts, earnings, staking };
}
