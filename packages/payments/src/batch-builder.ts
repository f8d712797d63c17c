import { payoutsForCredits } from "@openledger/attribution";
import type { Payout, RecordInput } from "@openledger/sdk";
import { type Address, getAddress } from "viem";
import type { TrainingSnapshotJson, UsageRow } from "./db.ts";
import { SettlementError } from "./errors.ts";
import { creditsOf, recordAttribution, unattributedRecord } from "./evidence.ts";

/**
 * A training snapshot of a model as the uncredited rule needs it: the tokens the training job took
 * from it and its contributors root's leaves `(account, weight)` in leaf order.
 */
export interface TrainingSnapshot {
  snapshotId: bigint;
  trainingTokens: bigint;
  totalWeight: bigint;
  contributors: readonly { account: Address; weight: bigint }[];
}

/** A training snapshot as stored and served (decimal strings). */
export function trainingToJson(t: readonly TrainingSnapshot[]): TrainingSnapshotJson[] {
  return t.map((s) => ({
    snapshotId: s.snapshotId.toString(),
    trainingTokens: s.trainingTokens.toString(),
    totalWeight: s.totalWeight.toString(),
    contributors: s.contributors.map((c) => ({
      account: getAddress(c.account),
      weight: c.weight.toString(),
    })),
  }));
}

export function trainingFromJson(t: readonly TrainingSnapshotJson[]): TrainingSnapshot[] {
  return t.map((s) => ({
    snapshotId: BigInt(s.snapshotId),
    trainingTokens: BigInt(s.trainingTokens),
    totalWeight: BigInt(s.totalWeight),
    contributors: s.contributors.map((c) => ({ account: getAddress(c.account), weight: BigInt(c.weight) })),
  }));
}

/** One settlement batch of one model, ready for `postBatch`. */
export interface BuiltBatch {
  modelId: bigint;
  /** record i settles request requestIds[i] */
  requestIds: string[];
  records: RecordInput[];
  /** one debit per escrow payer (its fees summed), in first-seen order */
  debits: Payout[];
  /** the x402 fees already at the operator */
  prepaid: bigint;
  fee: bigint;
  /** the training snapshots uncredited records were paid by (empty when every record is credited) */
  training: readonly TrainingSnapshot[];
}

/**
 * Each record's part of the batch's contributors' share `total`: `floor(total * fee_i / sum fee)`,
 * and the rounding dust (`total` less their sum, under one wei per record) to record 0, the batch's
 * oldest answer.
 */
export function recordTotals(fees: readonly bigint[], total: bigint): bigint[] {
  const sum = fees.reduce((a, b) => a + b, 0n);
  if (sum === 0n) return fees.map((_, i) => (i === 0 ? total : 0n));
  const parts = fees.map((f) => (total * f) / sum);
  parts[0]! += total - parts.reduce((a, b) => a + b, 0n);
  return parts;
}

/** `floor(total * w_i / sum)` each, the first taking the dust; zero total or weights: all zero. */
function splitFirstTakesDust(total: bigint, weights: readonly bigint[], sum: bigint): bigint[] {
  if (sum === 0n || weights.length === 0) return weights.map(() => 0n);
  const parts = weights.map((w) => (total * w) / sum);
  parts[0]! += total - parts.reduce((a, b) => a + b, 0n);
  return parts;
}

/**
 * The payouts of a record that credits no span (settlement-interface rule): the record's share over the
 * model's training snapshots with contributors, pro rata to their training tokens (the first takes the
 * dust), and inside each snapshot over its contributors root's leaves by weight (the first leaf takes
 * the dust). Zero amounts are left out. No such snapshot: the whole share to the model owner.
 */
export function uncreditedPayouts(
  total: bigint,
  snapshots: readonly TrainingSnapshot[],
  modelOwner: Address,
): Payout[] {
  if (total === 0n) return [];
  const eligible = snapshots.filter(
    (s) => s.totalWeight > 0n && s.trainingTokens > 0n && s.contributors.length > 0,
  );
  if (eligible.length === 0) return [{ account: getAddress(modelOwner), amount: total }];
  const tokens = eligible.map((s) => s.trainingTokens);
  const parts = splitFirstTakesDust(
    total,
    tokens,
    tokens.reduce((a, b) => a + b, 0n),
  );
  return eligible.flatMap((s, k) => {
    const amounts = splitFirstTakesDust(
      parts[k]!,
      s.contributors.map((c) => c.weight),
      s.totalWeight,
    );
    return s.contributors
      .map((c, i) => ({ account: getAddress(c.account), amount: amounts[i]! }))
      .filter((p) => p.amount > 0n);
  });
}

/**
 * Builds one model's batch from its usage rows: a record per answer (span-v2 attribution bytes and
 * payouts), the escrow debits, the x402 fees as prepaid. `contributorsShare` is the settlement's
 * `splitFee(fee).contributors` for this batch's fee; the records' payouts sum to it exactly.
 */
export function buildBatch(
  rows: readonly UsageRow[],
  o: {
    contributorsShare: bigint;
    contributorOf: (contributionId: bigint) => Address;
    training: readonly TrainingSnapshot[];
    modelOwner: Address;
  },
): BuiltBatch {
  if (rows.length === 0) throw new SettlementError("a settlement batch needs at least one answer");
  const modelId = rows[0]!.modelId;
  if (rows.some((r) => r.modelId !== modelId))
    throw new SettlementError("a settlement batch settles the answers of one model");
  const fee = rows.reduce((s, r) => s + r.fee, 0n);
  const totals = recordTotals(
    rows.map((r) => r.fee),
    o.contributorsShare,
  );
  const records = rows.map((r, i): RecordInput => {
    const credits = creditsOf(r.attribution);
    const attribution = r.attribution
      ? recordAttribution(r.attribution, r.snapshotIds ?? [])
      : unattributedRecord(r.output ?? "");
    const payouts = credits.length
      ? payoutsForCredits(credits, totals[i]!, (id) => o.contributorOf(id)).map((p) => ({
          account: getAddress(p.account),
          amount: p.amount,
        }))
      : uncreditedPayouts(totals[i]!, o.training, o.modelOwner);
    return { attribution, payouts };
  });
  const owed = new Map<Address, bigint>();
  let prepaid = 0n;
  for (const r of rows) {
    if (r.payment === "x402") prepaid += r.fee;
    else owed.set(getAddress(r.payer), (owed.get(getAddress(r.payer)) ?? 0n) + r.fee);
  }
  const debits = [...owed]
    .filter(([, amount]) => amount > 0n)
    .map(([account, amount]) => ({ account, amount }));
  const uncredited = rows.some((r) => creditsOf(r.attribution).length === 0);
  return {
    modelId,
    requestIds: rows.map((r) => r.requestId),
    records,
    debits,
    prepaid,
    fee,
    training: uncredited ? o.training : [],
  };
}
