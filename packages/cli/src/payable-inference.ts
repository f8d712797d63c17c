import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { SpanIndex } from "@openledger/attribution";
import type { AdmissionHook, OpenLora } from "@openledger/openlora";
import type {
  PaymentGate,
  PaymentRoutesOptions,
  PaymentsDb,
  SettlementBatcher,
  SettlementRoutesOptions,
  X402RoutesOptions,
} from "@openledger/payments";
import type { Address, Hex } from "viem";
import type { Logger } from "./log.ts";
import type { SettlementSource } from "./settlement-sources.ts";

export interface PayableInferenceOptions {
  /** payments.sqlite (API keys, usage rows, batches) lives here */
  dataDir: string;
  /** the content store models are published to (grad-v1 reads base, adapter and gradient store there) */
  blobsDir: string;
  rpcUrl: string;
  addresses: {
    inferenceSettlement: Address;
    staking: Address;
    token: Address;
    datanetRegistry: Address;
    modelRegistry: Address;
  };
  /** the operator: signs receipts, is authorised by payers, posts batches; staked here when it is not */
  operatorKey: Hex;
  /** the settlement admin (sets the dev challenge window before the first batch) */
  adminKey: Hex;
  /** seconds a batch stays challengeable; applied only while the chain has no batch yet */
  challengeWindow: number;
  /** a model's batch closes at this many answers ... */
  batchSize: number;
  /** ... or once its oldest answer is this many seconds old */
  batchAge: number;
  spanIndexes: (snapshotIds: readonly bigint[]) => Promise<SpanIndex[]>;
  /** chunk texts, snapshot proofs and contributors, for settlement records */
  datanets: SettlementSource;
  /** grad-v1 borrows the base models and adapters its embedded engine has loaded (else loads its own) */
  openlora?: OpenLora;
  log: Logger;
}

/** The payment routes the API server registers. */
export interface PayableRoutes {
  payments: PaymentRoutesOptions;
  settlement: SettlementRoutesOptions;
  /** absent when the token cannot take x402 payments */
  x402?: X402RoutesOptions;
}

export interface PayableInference {
  gate: PaymentGate;
  db: PaymentsDb;
  batcher: SettlementBatcher;
  operator: Address;
  /** the gate, except that a model priced at 0 runs free for anyone (no key, no receipt) */
  admission: AdmissionHook;
  routes: PayableRoutes;
  /** starts posting batches, finalising them and answering evidence requests */
  start(): void;
  close(): Promise<void>;
}

/**
 * Payable inference for `openledger up`: the payments store, the operator staked in Staking (postBatch
 * takes batches only from staked operators), the dev challenge window, the PaymentGate that OpenLoRA
 * admits every request through (API keys and x402), and the SettlementBatcher that carries the
 * charged answers on-chain.
 */
export async function openPayableInference(o: PayableInferenceOptions): Promise<PayableInference> {
  const { connect, SendQueue } = await import("@openledger/sdk");
  const payments = await import("@openledger/payments");
  const { witnessChunksFrom, trainingSnapshotsFrom } = await import("./settlement-sources.ts");
  const { privateKeyToAccount } = await import("viem/accounts");
  const operator = privateKeyToAccount(o.operatorKey);
  const { publicClient, walletClient } = await connect(o.rpcUrl, operator);
  const wallet = walletClient!;
  const chainId = publicClient.chain.id;
  const settlement = o.addresses.inferenceSettlement;
  await ensureOperatorStake(publicClient, wallet, o.addresses, o.log);
  await applyChallengeWindow(o.rpcUrl, o.adminKey, settlement, o.challengeWindow, o.log);

  // one queue for everything this process sends from the operator (batches, x402 settlements)
  const queue = new SendQueue();
  let x402: { admission: InstanceType<typeof payments.X402Admission>; routes: X402RoutesOptions } | undefined;
  try {
    const terms = await payments.loadX402Terms(publicClient, {
      chainId,
      token: o.addresses.token,
      operator: operator.address,
    });
    const facilitator = new payments.X402Facilitator({ client: publicClient, wallet, queue, terms });
    x402 = {
      // requirements name the resource by its path (the API's URL is known once it listens)
      admission: new payments.X402Admission(facilitator),
      routes: { facilitator },
    };
  } catch (err) {
    o.log.warn("x402 payments off", { reason: (err as Error).message });
  }

  mkdirSync(o.dataDir, { recursive: true });
  const db = new payments.PaymentsDb(join(o.dataDir, "payments.sqlite"), {
    warn: (m, f) => o.log.warn(m, f),
  });
  const { FileBlobStore } = await import("@openledger/datanet");
  // grad-v1 of every paid answer, in the background, for models whose training wrote a gradient store
  const grad = new payments.GradAttributor({
    db,
    source: payments.registryGradSource({
      client: publicClient,
      modelRegistry: o.addresses.modelRegistry,
      blobs: new FileBlobStore(o.blobsDir),
    }),
    ...(o.openlora ? { lender: payments.openLoraLender(o.openlora) } : {}),
    onError: (err) => o.log.warn("grad-v1 attribution failed", { error: (err as Error).message }),
    onWarn: (message) => o.log.warn(message),
  });
  const gate = new payments.PaymentGate({
    client: publicClient,
    chainId,
    settlement,
    operator,
    db,
    spanIndexes: o.spanIndexes,
    witnessChunks: witnessChunksFrom(o.datanets),
    grad,
    ...(x402 ? { x402: x402.admission } : {}),
  });
  const batcher = new payments.SettlementBatcher({
    client: publicClient,
    wallet,
    queue,
    settlement,
    token: o.addresses.token,
    datanetRegistry: o.addresses.datanetRegistry,
    modelRegistry: o.addresses.modelRegistry,
    db,
    onBatched: (debits) => gate.batched(debits),
    maxRecords: o.batchSize,
    maxAgeMs: o.batchAge * 1000,
    trainingSnapshots: trainingSnapshotsFrom(o.datanets, publicClient, o.addresses.modelRegistry),
    onError: (err) =>
      o.log.warn("settlement round failed (retried next round)", { error: (err as Error).message }),
  });
  const admission: AdmissionHook = (req) =>
    payments.pricePer1k(req) === 0n ? Promise.resolve(null) : gate.admission(req);
  return {
    gate,
    db,
    batcher,
    operator: operator.address,
    admission,
    routes: {
      payments: { db, chainId, settlement, operator: operator.address },
      settlement: { db, settlement, operator: operator.address },
      ...(x402 ? { x402: x402.routes } : {}),
    },
    start: () => batcher.start(),
    close: async () => {
      await batcher.stop();
      await grad.close();
      db.close();
    },
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
