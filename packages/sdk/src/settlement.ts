import { MerkleTree, settlementLeaf } from "@openledger/merkle";
import {
  type Address,
  type Client,
  encodeFunctionData,
  getAddress,
  type Hex,
  parseEventLogs,
  zeroHash,
} from "viem";
import { readContract } from "viem/actions";
import { OpenLedgerTransactionError } from "./errors.ts";
import { inferenceSettlementAbi as abi } from "./generated/abis.ts";
import { signTransferAuthorization, type TransferAuthorization } from "./token.ts";
import { read, type Sent, transact, type WalletClientWithAccount } from "./transact.ts";

// InferenceSettlement pulls deposits with transferFrom: approve (or permit) it first, or use
// depositWithAuthorization (EIP-3009, no approval).

export async function deposit(
  client: WalletClientWithAccount,
  params: { settlement: Address; amount: bigint; account?: Address },
): Promise<Sent> {
  const data = params.account
    ? encodeFunctionData({ abi, functionName: "depositFor", args: [params.account, params.amount] })
    : encodeFunctionData({ abi, functionName: "deposit", args: [params.amount] });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.deposit" });
}

/** Signs an EIP-3009 ReceiveWithAuthorization that pays `value` into the settlement escrow. */
export function signDepositAuthorization(
  client: WalletClientWithAccount,
  params: {
    token: Address;
    settlement: Address;
    value: bigint;
    validBefore: bigint;
    validAfter?: bigint;
    nonce?: Hex;
  },
): Promise<TransferAuthorization> {
  return signTransferAuthorization(client, { ...params, to: params.settlement, kind: "receive" });
}

/** Deposits with a signed ReceiveWithAuthorization (anyone may send it; the escrow goes to `from`). */
export function depositWithAuthorization(
  client: WalletClientWithAccount,
  params: { settlement: Address; authorization: TransferAuthorization },
): Promise<Sent> {
  const a = params.authorization;
  if (a.kind !== "receive" || getAddress(a.to) !== getAddress(params.settlement)) {
    throw new OpenLedgerTransactionError(
      "the authorization must be a ReceiveWithAuthorization to the settlement",
    );
  }
  const data = encodeFunctionData({
    abi,
    functionName: "depositWithAuthorization",
    args: [a.from, a.value, a.validAfter, a.validBefore, a.nonce, a.signature],
  });
  return transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.depositWithAuthorization",
  });
}

/** Asks to withdraw `amount` of escrow; it becomes withdrawable after the withdrawal delay. */
export async function requestWithdraw(
  client: WalletClientWithAccount,
  params: { settlement: Address; amount: bigint },
): Promise<Sent & { readyAt: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "requestWithdrawal", args: [params.amount] });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.requestWithdrawal",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "WithdrawalRequested" });
  return { ...sent, readyAt: event.args.readyAt };
}

export async function withdraw(
  client: WalletClientWithAccount,
  params: { settlement: Address },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "withdraw" });
  const sent = await transact(client, { to: params.settlement, data, label: "InferenceSettlement.withdraw" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "Withdrawn" });
  return { ...sent, amount: event.args.amount };
}

export interface Payout {
  account: Address;
  amount: bigint;
}

export interface PayoutTree {
  /** Payouts after merging repeated accounts, in first-seen order (the tree's leaf order). */
  payouts: Payout[];
  tree: MerkleTree | undefined;
  root: Hex;
  total: bigint;
  /** The Merkle proof for `account`'s payout. */
  proof(account: Address): { amount: bigint; proof: Hex[] };
}

/** The Merkle tree over (account, amount) payout leaves that a batch commits to. */
export function buildPayoutTree(payouts: readonly Payout[]): PayoutTree {
  const merged = new Map<Address, bigint>();
  for (const p of payouts) {
    if (p.amount <= 0n) throw new OpenLedgerTransactionError(`payout to ${p.account} must be positive`);
    const account = getAddress(p.account);
    merged.set(account, (merged.get(account) ?? 0n) + p.amount);
  }
  const list = [...merged].map(([account, amount]) => ({ account, amount }));
  const tree = list.length
    ? MerkleTree.build(list.map((p) => settlementLeaf(p.account, p.amount)))
    : undefined;
  const index = new Map(list.map((p, i) => [p.account, i]));
  return {
    payouts: list,
    tree,
    root: tree ? tree.root : zeroHash,
    total: list.reduce((s, p) => s + p.amount, 0n),
    proof(account) {
      const i = index.get(getAddress(account));
      if (i === undefined || !tree)
        throw new OpenLedgerTransactionError(`${account} has no payout in this batch`);
      return { amount: list[i].amount, proof: tree.proof(i) };
    },
  };
}

/**
 * Posts a settlement batch (staked operators only): debits escrow per account and commits to the
 * contributors' payouts. The payouts must sum to the contributors' share of the fee (see splitFee).
 */
export async function postBatch(
  client: WalletClientWithAccount,
  params: { settlement: Address; modelId: bigint; debits: readonly Payout[]; payouts: readonly Payout[] },
): Promise<Sent & { batchId: bigint; fee: bigint; challengeDeadline: bigint; payoutTree: PayoutTree }> {
  const payoutTree = buildPayoutTree(params.payouts);
  const data = encodeFunctionData({
    abi,
    functionName: "postBatch",
    args: [
      params.modelId,
      params.debits.map((d) => d.account),
      params.debits.map((d) => d.amount),
      payoutTree.root,
      payoutTree.total,
    ],
  });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.postBatch",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "BatchPosted" });
  return {
    ...sent,
    batchId: event.args.batchId,
    fee: event.args.fee,
    challengeDeadline: event.args.challengeDeadline,
    payoutTree,
  };
}

/** Finalizes a batch after its challenge window (claims finalize on their own). */
export function finalizeBatch(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint },
) {
  const data = encodeFunctionData({ abi, functionName: "finalizeBatch", args: [params.batchId] });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.finalizeBatch" });
}

/** Claims a contributor payout with its Merkle proof (for `account`, default the sender). */
export async function claim(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; amount: bigint; proof: readonly Hex[]; account?: Address },
): Promise<Sent & { amount: bigint }> {
  const data = params.account
    ? encodeFunctionData({
        abi,
        functionName: "claimFor",
        args: [params.batchId, params.account, params.amount, params.proof],
      })
    : encodeFunctionData({ abi, functionName: "claim", args: [params.batchId, params.amount, params.proof] });
  const sent = await transact(client, { to: params.settlement, data, label: "InferenceSettlement.claim" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "Claimed" });
  return { ...sent, amount: event.args.amount };
}

/** Challenges a pending batch with verifier-specific evidence; a proven challenge slashes the operator. */
export async function challenge(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; evidence: Hex },
): Promise<Sent & { slashed: bigint; challengerReward: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "challenge",
    args: [params.batchId, params.evidence],
  });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.challenge",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "BatchChallenged" });
  return { ...sent, slashed: event.args.slashed, challengerReward: event.args.challengerReward };
}

/** Challenges a batch whose tree holds a leaf larger than the whole contributors' share. */
export async function challengeInvalidLeaf(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; account: Address; amount: bigint; proof: readonly Hex[] },
): Promise<Sent & { slashed: bigint; challengerReward: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "challengeInvalidLeaf",
    args: [params.batchId, params.account, params.amount, params.proof],
  });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.challengeInvalidLeaf",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "BatchChallenged" });
  return { ...sent, slashed: event.args.slashed, challengerReward: event.args.challengerReward };
}

/** Returns the debits of a reverted batch to the escrow (the batch's exact debit list). */
export function refundRevertedBatch(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; debits: readonly Payout[] },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "refundRevertedBatch",
    args: [params.batchId, params.debits.map((d) => d.account), params.debits.map((d) => d.amount)],
  });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.refundRevertedBatch" });
}

/** Withdraws the sender's earnings (platform, model-owner shares, slash proceeds) to `to`. */
export async function claimEarnings(
  client: WalletClientWithAccount,
  params: { settlement: Address; to?: Address },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "claimEarnings",
    args: [params.to ?? client.account.address],
  });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.claimEarnings",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "EarningsClaimed" });
  return { ...sent, amount: event.args.amount };
}

/** Sets the challenge verifier (admin only). */
export function setVerifier(
  client: WalletClientWithAccount,
  params: { settlement: Address; verifier: Address },
) {
  const data = encodeFunctionData({ abi, functionName: "setVerifier", args: [params.verifier] });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.setVerifier" });
}

export function escrowOf(client: Client, params: { settlement: Address; account: Address }): Promise<bigint> {
  return read("InferenceSettlement.escrowOf", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "escrowOf",
      args: [params.account],
    }),
  );
}

export function earningsOf(
  client: Client,
  params: { settlement: Address; account: Address },
): Promise<bigint> {
  return read("InferenceSettlement.earningsOf", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "earningsOf",
      args: [params.account],
    }),
  );
}

export function getBatch(client: Client, params: { settlement: Address; batchId: bigint }) {
  return read("InferenceSettlement.getBatch", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "getBatch",
      args: [params.batchId],
    }),
  );
}

export function hasClaimed(
  client: Client,
  params: { settlement: Address; batchId: bigint; account: Address },
): Promise<boolean> {
  return read("InferenceSettlement.hasClaimed", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "hasClaimed",
      args: [params.batchId, params.account],
    }),
  );
}

/** How a fee splits: platform, model owner, stakers, contributors (sums to the fee to the wei). */
export async function splitFee(client: Client, params: { settlement: Address; fee: bigint }) {
  const [platform, modelOwner, stakers, contributors] = await read("InferenceSettlement.splitFee", () =>
    readContract(client, { address: params.settlement, abi, functionName: "splitFee", args: [params.fee] }),
  );
  return { platform, modelOwner, stakers, contributors };
}

/** A pending withdrawal request (amount 0 when none). */
export function withdrawalOf(client: Client, params: { settlement: Address; account: Address }) {
  return read("InferenceSettlement.withdrawalOf", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "withdrawalOf",
      args: [params.account],
    }),
  );
}

/** The current fee split in basis points. */
export function getFeeSplit(client: Client, params: { settlement: Address }) {
  return read("InferenceSettlement.feeSplit", () =>
    readContract(client, { address: params.settlement, abi, functionName: "feeSplit" }),
  );
}
