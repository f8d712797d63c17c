import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { SpanIndex } from "@openledger/attribution";
import type { AdmissionHook } from "@openledger/openlora";
import type { PaymentGate, PaymentRoutesOptions, PaymentsDb } from "@openledger/payments";
import type { Address, Hex } from "viem";
import type { Logger } from "./log.ts";

export interface PayableInferenceOptions {
  /** payments.sqlite (API keys, usage rows) lives here */
  dataDir: string;
  rpcUrl: string;
  addresses: { inferenceSettlement: Address; staking: Address; token: Address };
  /** the operator: signs receipts, is authorised by payers, posts batches; staked here when it is not */
  operatorKey: Hex;
  /** the settlement admin (sets the dev challenge window before the first batch) */
  adminKey: Hex;
  /** seconds a batch stays challengeable; applied only while the chain has no batch yet */
  challengeWindow: number;
  spanIndexes: (snapshotIds: readonly bigint[]) => Promise<SpanIndex[]>;
  log: Logger;
}

export interface PayableInference {
  gate: PaymentGate;
  db: PaymentsDb;
  operator: Address;
  /** the gate, except that a model priced at 0 runs free for anyone (no key, no receipt) */
  admission: AdmissionHook;
  /** what the API server registers the payment routes with */
  routes: PaymentRoutesOptions;
  close(): Promise<void>;
}

/**
 * Payable inference for `openledger up`: the payments store, the operator staked in Staking (postBatch
 * takes batches only from staked operators), the dev challenge window, and the PaymentGate that
 * OpenLoRA admits every request through.
 */
export async function openPayableInference(o: PayableInferenceOptions): Promise<PayableInference> {
  const { connect } = await import("@openledger/sdk");
  const { PaymentGate, PaymentsDb, pricePer1k } = await import("@openledger/payments");
  const { privateKeyToAccount } = await import("viem/accounts");
  const operator = privateKeyToAccount(o.operatorKey);
  const { publicClient, walletClient } = await connect(o.rpcUrl, operator);
  const chainId = publicClient.chain.id;
  await ensureOperatorStake(publicClient, walletClient!, o.addresses, o.log);
  await applyChallengeWindow(o.rpcUrl, o.adminKey, o.addresses.inferenceSettlement, o.challengeWindow, o.log);

  mkdirSync(o.dataDir, { recursive: true });
  const db = new PaymentsDb(join(o.dataDir, "payments.sqlite"));
  const gate = new PaymentGate({
    client: publicClient,
    chainId,
    settlement: o.addresses.inferenceSettlement,
    operator,
    db,
    spanIndexes: o.spanIndexes,
  });
  const admission: AdmissionHook = (req) =>
    pricePer1k(req) === 0n ? Promise.resolve(null) : gate.admission(req);
  return {
    gate,
    db,
    operator: operator.address,
    admission,
    routes: { db, chainId, settlement: o.addresses.inferenceSettlement, operator: operator.address },
    close: async () => db.close(),
  };
}

type Connection = Awaited<ReturnType<typeof import("@openledger/sdk").connect>>;

/** Wraps and self-stakes the minimum operator stake once, so the operator may post batches. */
async function ensureOperatorStake(
  client: Connection["publicClient"],
  wallet: NonNullable<Connection["walletClient"]>,
  a: PayableInferenceOptions["addresses"],
  log: Logger,
): Promise<void> {
  const sdk = await import("@openledger/sdk");
  const operator = wallet.account.address;
  if (await sdk.isOperator(client, { staking: a.staking, operator })) return;
  const min = (await client.readContract({
    address: a.staking,
    abi: sdk.stakingAbi,
    functionName: "minOperatorStake",
  })) as bigint;
  const held = await sdk.tokenBalance(client, { token: a.token, account: operator });
  if (held < min) await sdk.wrapOpen(wallet, { token: a.token, amount: min - held });
  await sdk.approveToken(wallet, { token: a.token, spender: a.staking, amount: min });
  await sdk.stake(wallet, { staking: a.staking, amount: min });
  log.info("operator staked", { operator, stake: min.toString() });
}

/**
 * Gives the settlement the dev challenge window (and the same evidence response window). Parameters
 * apply at once only before the first batch; later a change would wait the contract's 3-day delay, so
 * a chain that already has batches keeps its window and says so.
 */
async function applyChallengeWindow(
  rpcUrl: string,
  adminKey: Hex,
  settlement: Address,
  seconds: number,
  log: Logger,
): Promise<void> {
  const sdk = await import("@openledger/sdk");
  const { publicClient: client, walletClient: admin } = await sdk.connect(rpcUrl, adminKey);
  const params = await sdk.currentParams(client, { settlement });
  const window = BigInt(seconds);
  if (params.challengeWindow === window && params.responseWindow === window) return;
  // status None (0): no batch 1, so no batch at all
  const first = await sdk.getBatch(client, { settlement, batchId: 1n });
  if (first.status !== 0) {
    log.warn("challenge window unchanged: this chain already has batches", {
      window: Number(params.challengeWindow),
      asked: seconds,
    });
    return;
  }
  await sdk.setParams(admin!, {
    settlement,
    params: { ...params, challengeWindow: window, responseWindow: window },
  });
  log.info("settlement challenge window set", { seconds });
}
