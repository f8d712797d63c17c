import {
  answerEvidence,
  approveTokenWrite,
  authorizationOf,
  buildDebitTree,
  buildRecordTree,
  datanetRegistryAbi,
  debitableOf,
  finalizeBatch,
  getBatch,
  getDispute,
  getModel,
  inferenceSettlementAbi,
  SendQueue,
  splitFee,
  tokenAllowance,
  type WalletClientWithAccount,
  waitForWrite,
} from "@openledger/sdk";
import {
  type Address,
  type Client,
  encodeFunctionData,
  getAddress,
  type Hex,
  keccak256,
  maxUint256,
} from "viem";
import {
  getBlock,
  getBlockNumber,
  getContractEvents,
  getTransaction,
  getTransactionCount,
  readContract,
} from "viem/actions";
import { type BuiltBatch, buildBatch, type TrainingSnapshot, trainingToJson } from "./batch-builder.ts";
import type { BatchRow, PaymentsDb, PostingRow, UsageRow } from "./db.ts";
import { SettlementError } from "./errors.ts";
import { evidenceAnswer } from "./evidence.ts";

/** Batch status values of InferenceSettlement.BatchStatus. */
const PENDING = 1;
const FINALIZED = 2;
const REVERTED = 3;
/** InferenceSettlement.DisputeKind.Evidence */
const EVIDENCE = 2;
/** InferenceSettlement.DisputeStatus.Open */
const DISPUTE_OPEN = 1;

export interface SettlementBatcherOptions {
  /** reads (and waits for receipts) */
  client: Client;
  /** the operator: staked in Staking, authorised by the escrow payers, the account x402 payments reached */
  wallet: WalletClientWithAccount;
  /** share one queue with everything else this process sends from the operator */
  queue?: SendQueue;
  settlement: Address;
  token: Address;
  datanetRegistry: Address;
  modelRegistry: Address;
  db: PaymentsDb;
  /** told which escrow fees a mined batch carried (PaymentGate.batched) */
  onBatched?: (debits: readonly { account: Address; amount: bigint }[]) => void;
  /** a batch closes once a model has this many unbatched answers (default 256) */
  maxRecords?: number;
  /** ... or once its oldest unbatched answer is this old (ms, default 60,000) */
  maxAgeMs?: number;
  /** how often the batcher looks for work (ms, default 1,000) */
  intervalMs?: number;
  /** a model's training snapshots for answers that credit no span; absent: those shares go to the model owner */
  trainingSnapshots?: (modelId: bigint) => Promise<TrainingSnapshot[]>;
  /** errors of a round (a failed post is retried next round, nothing is lost); default: console.error */
  onError?: (err: unknown) => void;
}

/**
 * Carries charged answers on-chain: closes a model's batch by count or age, builds its records and
 * debits, posts it through the send queue, marks the usage rows once the batch is mined, finalises
 * batches whose window has passed and answers evidence requests against its batches. Every step is
 * idempotent against the SQLite store, so a crash or a failed post loses nothing: a posting is written
 * down before its transaction is sent and resolved against the chain on the next round.
 */
export class SettlementBatcher {
  private readonly queue: SendQueue;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  /** the block the evidence-request scan has reached */
  private scannedTo: bigint | undefined;

  constructor(private readonly o: SettlementBatcherOptions) {
    this.queue = o.queue ?? new SendQueue();
  }

  get operator(): Address {
    return this.o.wallet.account.address;
  }

  /** Starts the rounds (every `intervalMs`). */
  start(): void {
    if (this.timer) return;
    const loop = () => {
      this.timer = setTimeout(async () => {
        await this.tick();
        if (this.timer) loop();
      }, this.o.intervalMs ?? 1000);
    };
    loop();
  }

  /** Stops the rounds and waits for the one under way. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One round (what the timer runs); rounds never overlap. Errors go to `onError`. */
  tick(o: { force?: boolean } = {}): Promise<void> {
    if (this.running) return this.running;
    this.running = this.round(o.force ?? false)
      .catch((err) => (this.o.onError ?? console.error)(err))
      .finally(() => {
        this.running = undefined;
      });
    return this.running;
  }

  private async round(force: boolean): Promise<void> {
    // each step on its own: a failing one (an answer the verifier refuses, one model's post) is
    // reported and retried next round without holding up the others
    const step = (fn: () => Promise<unknown>) => fn().catch((err) => (this.o.onError ?? console.error)(err));
    await step(() => this.reconcile());
    await step(() => this.answerEvidenceRequests());
    for (const m of this.o.db.unbatchedModels()) {
      const due =
        force ||
        m.count >= (this.o.maxRecords ?? 256) ||
        Date.now() - m.oldest >= (this.o.maxAgeMs ?? 60_000);
      if (due) await step(() => this.post(m.modelId));
    }
    await step(() => this.finalizeDue());
  }

  /** Builds and posts one batch of `modelId`'s oldest unbatched answers; returns its id once mined. */
  async post(modelId: bigint): Promise<bigint | undefined> {
    const rows = await this.coverable(this.o.db.unbatched(modelId, this.o.maxRecords ?? 256));
    if (rows.length === 0) return undefined;
    const fee = rows.reduce((s, r) => s + r.fee, 0n);
    const { contributors } = await splitFee(this.o.client, { settlement: this.o.settlement, fee });
    const ids = [
      ...new Set(rows.flatMap((r) => (r.attribution?.credits ?? []).map((c) => BigInt(c.contributionId)))),
    ];
    const owners = await Promise.all(
      ids.map((id) =>
        readContract(this.o.client, {
          address: this.o.datanetRegistry,
          abi: datanetRegistryAbi,
          functionName: "contributorOf",
          args: [id],
        }),
      ),
    );
    const contributorOf = new Map(ids.map((id, i) => [id, owners[i]!]));
    const model = await getModel(this.o.client, { registry: this.o.modelRegistry, modelId });
    const training = rows.some((r) => !r.attribution?.credits.length)
      ? ((await this.o.trainingSnapshots?.(modelId)) ?? [])
      : [];
    const built = buildBatch(rows, {
      contributorsShare: contributors,
      contributorOf: (id) => contributorOf.get(id)!,
      training,
      modelOwner: model.owner,
    });
    return this.postBuilt(built);
  }

  /**
   * Posts a batch built by {@link buildBatch} (what `post` does after building): approves the prepaid
   * fees, writes the posting down, sends, and records the batch once mined; returns its id.
   */
  async postBuilt(b: BuiltBatch): Promise<bigint> {
    const { settlement } = this.o;
    const wallet = this.o.wallet;
    if (b.prepaid > 0n) await this.approvePrepaid(b.prepaid);
    const recordTree = buildRecordTree(b.records);
    const debits = await this.debitEntries(b);
    const posting: PostingRow = {
      recordsRoot: recordTree.root,
      modelId: b.modelId,
      txHash: null,
      prepaid: b.prepaid,
      fromBlock: await getBlockNumber(this.o.client, { cacheTime: 0 }),
      batch: {
        requestIds: b.requestIds,
        records: b.records.map((r) => ({
          attribution: r.attribution,
          payouts: r.payouts.map((p) => ({ account: getAddress(p.account), amount: p.amount.toString() })),
        })),
        debits: debits.map((d) => ({
          ...d,
          amount: d.amount.toString(),
          spentAfter: d.spentAfter.toString(),
        })),
        ...(b.training.length ? { training: trainingToJson(b.training) } : {}),
      },
    };
    // written down before the transaction leaves: a crash from here on is resolved by reconcile()
    this.o.db.addPosting(posting);
    const label = "InferenceSettlement.postBatch";
    let hash: Hex;
    try {
      hash = await this.queue.sendCall(wallet, {
        to: settlement,
        label,
        data: encodeFunctionData({
          abi: inferenceSettlementAbi,
          functionName: "postBatch",
          args: [
            b.modelId,
            b.debits.map((d) => d.account),
            b.debits.map((d) => d.amount),
            b.prepaid,
            recordTree.root,
            recordTree.total,
          ],
        }),
      });
    } catch (err) {
      // refused before it was sent (the simulation reverted): nothing is on-chain, the rows stay unbatched
      this.o.db.dropPosting(recordTree.root);
      throw err;
    }
    this.o.db.setPostingTx(recordTree.root, hash);
    const mined = await waitForWrite(this.o.client, {
      hash,
      label,
      abi: inferenceSettlementAbi,
      eventName: "BatchPosted",
    }).catch((err) => {
      this.o.db.dropPosting(recordTree.root);
      throw err;
    });
    const event = mined.events[0]!.args;
    return this.commit({ ...posting, txHash: hash }, event.batchId, hash, event.fee, event.challengeDeadline);
  }

  /**
   * The rows whose escrow payers can be debited now (authorisation cap left, not expired, debitable
   * escrow): a payer that withdrew or cut the operator off would make the whole batch revert, so its
   * rows wait (reported through onError) and the others settle.
   */
  private async coverable(rows: UsageRow[]): Promise<UsageRow[]> {
    const owed = new Map<Address, bigint>();
    for (const r of rows)
      if (r.payment !== "x402") owed.set(getAddress(r.payer), (owed.get(getAddress(r.payer)) ?? 0n) + r.fee);
    if (owed.size === 0) return rows;
    const now = (await getBlock(this.o.client, { blockTag: "latest" })).timestamp;
    const short = new Set<Address>();
    for (const [payer, amount] of owed) {
      const [auth, escrow] = await Promise.all([
        authorizationOf(this.o.client, { settlement: this.o.settlement, payer, operator: this.operator }),
        debitableOf(this.o.client, { settlement: this.o.settlement, account: payer }),
      ]);
      const left = auth.expiry > now && auth.cap > auth.spent ? auth.cap - auth.spent : 0n;
      if (amount > left || amount > escrow) {
        short.add(payer);
        (this.o.onError ?? console.error)(
          new SettlementError(
            `${payer} owes ${amount} wei for ${rows.filter((r) => getAddress(r.payer) === payer).length} answers but its authorisation of ${this.operator} leaves ${left} and its debitable escrow is ${escrow}: those answers wait for the next batch`,
          ),
        );
      }
    }
    return rows.filter((r) => r.payment === "x402" || !short.has(getAddress(r.payer)));
  }

  /** Each debit's cumulative `spentAfter`, as the contract's debits tree records it. */
  private async debitEntries(b: BuiltBatch) {
    const states = await Promise.all(
      b.debits.map((d) =>
        authorizationOf(this.o.client, {
          settlement: this.o.settlement,
          payer: d.account,
          operator: this.operator,
        }),
      ),
    );
    const entries = b.debits.map((d, i) => ({
      account: getAddress(d.account),
      amount: d.amount,
      spentAfter: states[i]!.spent + d.amount,
      voucherOnly: states[i]!.voucherOnly,
    }));
    return entries;
  }

  /** The settlement pulls x402 fees from the operator: keep its allowance above what a batch brings. */
  private async approvePrepaid(amount: bigint): Promise<void> {
    const allowance = await tokenAllowance(this.o.client, {
      token: this.o.token,
      owner: this.operator,
      spender: this.o.settlement,
    });
    if (allowance >= amount) return;
    const hash = await this.queue.sendWrite(
      this.o.wallet,
      approveTokenWrite({ token: this.o.token, spender: this.o.settlement, amount: maxUint256 }),
    );
    // mined before the batch is simulated, which pulls the prepaid fees
    await waitForWrite(this.o.client, { hash, label: "approve" });
  }

  private commit(
    p: PostingRow,
    batchId: bigint,
    txHash: Hex,
    fee: bigint,
    challengeDeadline: bigint,
  ): bigint {
    const row: BatchRow = {
      ...p.batch,
      batchId,
      modelId: p.modelId,
      prepaid: p.prepaid,
      txHash,
      fee,
      challengeDeadline,
      status: "pending",
    };
    this.o.db.commitPosting(p.recordsRoot, row);
    this.o.onBatched?.(row.debits.map((d) => ({ account: d.account, amount: BigInt(d.amount) })));
    return batchId;
  }

  /**
   * Resolves postings left by an earlier run: mined (found by its records root among this operator's
   * BatchPosted events) → the batch is recorded and its rows marked; never sent, reverted or dropped
   * by the node → forgotten, and its rows are batched again.
   */
  async reconcile(): Promise<void> {
    for (const p of this.o.db.postings()) {
      const events = await getContractEvents(this.o.client, {
        address: this.o.settlement,
        abi: inferenceSettlementAbi,
        eventName: "BatchPosted",
        args: { operator: this.operator, modelId: p.modelId },
        fromBlock: p.fromBlock,
        strict: true,
      });
      const found = events.find((e) => e.args.recordsRoot === p.recordsRoot);
      if (found) {
        this.commit(
          p,
          found.args.batchId,
          found.transactionHash,
          found.args.fee,
          found.args.challengeDeadline,
        );
        continue;
      }
      if (p.txHash) {
        const tx = await getTransaction(this.o.client, { hash: p.txHash }).catch(() => undefined);
        // still waiting in the pool: decide next round
        if (tx && tx.blockNumber === null) continue;
        this.o.db.dropPosting(p.recordsRoot);
        continue;
      }
      // no hash written: the transaction may or may not have left; it has not if nothing is pending
      const [latest, pending] = await Promise.all([
        getTransactionCount(this.o.client, { address: this.operator, blockTag: "latest" }),
        getTransactionCount(this.o.client, { address: this.operator, blockTag: "pending" }),
      ]);
      if (latest === pending) this.o.db.dropPosting(p.recordsRoot);
    }
  }

  /** Finalises this operator's pending batches whose window has passed; records reverted ones. */
  async finalizeDue(): Promise<void> {
    const pending = this.o.db.batches({ status: "pending" });
    if (pending.length === 0) return;
    const now = (await getBlock(this.o.client, { blockTag: "latest" })).timestamp;
    for (const b of pending) {
      const onChain = await getBatch(this.o.client, { settlement: this.o.settlement, batchId: b.batchId });
      if (onChain.status === FINALIZED) this.o.db.setBatchStatus(b.batchId, "finalized");
      else if (onChain.status === REVERTED) this.o.db.setBatchStatus(b.batchId, "reverted");
      else if (onChain.status === PENDING && onChain.openDisputes === 0 && now >= onChain.finalizableAt) {
        await this.queue.turn(this.operator, () =>
          finalizeBatch(this.o.wallet, { settlement: this.o.settlement, batchId: b.batchId }),
        );
        this.o.db.setBatchStatus(b.batchId, "finalized");
      }
    }
  }

  /** Answers every open evidence request against this operator's pending batches. */
  async answerEvidenceRequests(): Promise<void> {
    const pending = this.o.db.batches({ status: "pending" });
    const head = await getBlockNumber(this.o.client, { cacheTime: 0 });
    if (pending.length === 0) {
      this.scannedTo = head;
      return;
    }
    const from = this.scannedTo === undefined ? 0n : this.scannedTo + 1n;
    if (from > head) return;
    const events = await getContractEvents(this.o.client, {
      address: this.o.settlement,
      abi: inferenceSettlementAbi,
      eventName: "DisputeOpened",
      fromBlock: from,
      toBlock: head,
      strict: true,
    });
    let scanned = head;
    for (const e of events) {
      if (e.args.kind !== EVIDENCE) continue;
      const batch = pending.find((b) => b.batchId === e.args.batchId);
      if (!batch) continue;
      const index = batch.records.findIndex((r) => keccak256(r.attribution) === e.args.subject);
      if (index < 0) continue;
      const row = this.o.db.usage(batch.requestIds[index]!);
      if (!row) continue;
      const attribution = batch.records[index]!.attribution;
      try {
        // after a restart the scan starts over: requests answered already are left alone
        const d = await getDispute(this.o.client, {
          settlement: this.o.settlement,
          disputeId: e.args.disputeId,
        });
        if (d.status !== DISPUTE_OPEN) continue;
        await this.queue.turn(this.operator, () =>
          answerEvidence(this.o.wallet, {
            settlement: this.o.settlement,
            disputeId: e.args.disputeId,
            attribution,
            answer: evidenceAnswer(row.output ?? "", row.attribution ?? null),
          }),
        );
      } catch (err) {
        // answered again next round: an unanswered request reverts the batch
        if (e.blockNumber - 1n < scanned) scanned = e.blockNumber - 1n;
        (this.o.onError ?? console.error)(err);
      }
    }
    this.scannedTo = scanned;
  }
}

/** The debits tree of a stored batch (what disputes and refunds prove against). */
export function storedDebitTree(b: BatchRow) {
  return buildDebitTree(
    b.debits.map((d) => ({ ...d, amount: BigInt(d.amount), spentAfter: BigInt(d.spentAfter) })),
  );
}
