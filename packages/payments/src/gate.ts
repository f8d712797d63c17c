import {
  AttributionError,
  attributeSpanV2,
  resultToJson,
  type SpanIndex,
  type SpanV2Result,
} from "@openledger/attribution";
import type { AdmissionHook, AdmissionRequest, AdmissionTicket, UsageRecord } from "@openledger/openlora";
import { authorizationOf, debitableOf } from "@openledger/sdk";
import type { Address, Client, LocalAccount } from "viem";
import { getBlockNumber } from "viem/actions";
import { apiKeyHash, isApiKey } from "./api-keys.ts";
import type { PaymentKind, PaymentsDb } from "./db.ts";
import { InvalidApiKeyError } from "./errors.ts";
import { type StoredAttribution, storeAttribution, type WitnessChunks } from "./evidence.ts";
import type { GradAttributor } from "./grad-attribution.ts";
import { feeFor, pricePer1k, recordPricePer1k } from "./price.ts";
import { encodeReceiptHeader, requestIdHash, signReceipt } from "./receipt.ts";
import { Reservations } from "./reservations.ts";
import { PAYMENT_RESPONSE_HEADER, type X402Admission } from "./x402/admission.ts";

interface ChainFunds {
  block: bigint;
  escrow: bigint;
  auth: Awaited<ReturnType<typeof authorizationOf>>;
}
const MAX_CACHED_PAYERS = 10_000;

export const RECEIPT_HEADER = "openledger-receipt";
/** A receipt's `attribution` when span-v2 could not run on the answer (it credits no span). */
export const NOT_ATTRIBUTED = `0x${"00".repeat(32)}` as const;

export interface PaymentGateOptions {
  client: Client;
  chainId: number;
  settlement: Address;
  /** the operator: signs receipts, and is the account payers authorise to debit them */
  operator: LocalAccount;
  db: PaymentsDb;
  /**
   * The span indexes of the given Datanet snapshots (those a model was trained on); absent or
   * empty: answers credit nobody (their attribution is span-v2 over no chunks).
   */
  spanIndexes?: (snapshotIds: readonly bigint[]) => Promise<SpanIndex[]>;
  /**
   * The witness chunks of an answer with their texts and Merkle proofs (settlement records and
   * evidence answers need them); absent: answers are charged and receipted, but settle as uncredited.
   */
  witnessChunks?: WitnessChunks;
  /**
   * Per-call payment with no account (x402 v2, exact scheme, $OPEN by EIP-3009): a request with a
   * `PAYMENT-SIGNATURE` header, or with neither a key nor a payment (402 with the terms), pays this way.
   * Absent: API keys only (no key: 401).
   */
  x402?: X402Admission;
  /**
   * grad-v1 per answer: each settled answer is queued to it after its usage row is stored (the
   * response does not wait); absent: span-v2 only.
   */
  grad?: GradAttributor;
  /** unix seconds now (authorisation expiry); defaults to the wall clock */
  now?: () => bigint;
}

/**
 * Prepaid inference: resolves the request's API key to its payer, reserves the request's maximum
 * cost against what the payer may spend with this operator, and on settle charges only the tokens
 * that ran, signs the usage receipt and records the debit for the next settlement batch.
 */
export class PaymentGate {
  readonly reservations = new Reservations();
  /** fees charged but not yet carried by a batch, per payer (loaded from the store on first use) */
  private readonly unbatched = new Map<Address, bigint>();
  /** the payer's on-chain funds, read once per head block */
  private readonly chainFunds = new Map<Address, ChainFunds>();

  constructor(private readonly o: PaymentGateOptions) {}

  /** The hook to give OpenLoRA (`new OpenLora({ admission: gate.admission })`). */
  readonly admission: AdmissionHook = (req) => this.admit(req);

  /** The payer of a bearer key; throws InvalidApiKeyError (401). */
  payerOf(authorization: string | undefined): Address {
    if (!authorization)
      throw new InvalidApiKeyError("this server charges for inference and the request has no API key");
    const m = /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!m) throw new InvalidApiKeyError("the Authorization header must be 'Bearer <key>'");
    const key = m[1]!;
    if (!isApiKey(key))
      throw new InvalidApiKeyError("the API key is malformed (keys look like olk_ + 64 hex digits)");
    const row = this.o.db.key(apiKeyHash(key));
    if (!row) throw new InvalidApiKeyError("the API key is not bound to any account here");
    return row.payer;
  }

  /**
   * What `payer` may still spend with this operator, before reservations: its debitable escrow and
   * its authorisation's remaining cap (zero once expired), whichever is less, less unbatched fees.
   */
  async fundsOf(payer: Address): Promise<bigint> {
    const { escrow, auth } = await this.chainFundsOf(payer);
    const now = this.o.now?.() ?? BigInt(Math.floor(Date.now() / 1000));
    const authLeft = auth.expiry > now && auth.cap > auth.spent ? auth.cap - auth.spent : 0n;
    const limit = escrow < authLeft ? escrow : authLeft;
    return limit - this.unbatchedOf(payer);
  }

  /**
   * The payer's escrow and authorisation as of the head block. Both change only in a new block, so
   * one read per payer per block serves every request admitted meanwhile (two eth_calls were most of
   * the latency payments add). A batch reaches `batched` only once mined, so the head has moved past
   * any read taken before it and the debit is never counted twice.
   */
  private async chainFundsOf(payer: Address): Promise<ChainFunds> {
    const block = await getBlockNumber(this.o.client, { cacheTime: 0 });
    const hit = this.chainFunds.get(payer);
    if (hit && hit.block === block) return hit;
    const [escrow, auth] = await Promise.all([
      debitableOf(this.o.client, { settlement: this.o.settlement, account: payer, blockNumber: block }),
      authorizationOf(this.o.client, {
        settlement: this.o.settlement,
        payer,
        operator: this.o.operator.address,
        blockNumber: block,
      }),
    ]);
    if (this.chainFunds.size >= MAX_CACHED_PAYERS) this.chainFunds.clear();
    const read = { block, escrow, auth };
    this.chainFunds.set(payer, read);
    return read;
  }

  private unbatchedOf(payer: Address): bigint {
    let v = this.unbatched.get(payer);
    if (v === undefined) {
      v = this.o.db.unbatchedFees(payer);
      this.unbatched.set(payer, v);
    }
    return v;
  }

  private async admit(req: AdmissionRequest): Promise<AdmissionTicket> {
    const { authorization, payment } = req.credentials;
    if (this.o.x402 && (payment !== undefined || authorization === undefined))
      return this.admitX402(this.o.x402, req);
    const payer = this.payerOf(authorization);
    const per1k = pricePer1k(req);
    const funds = await this.fundsOf(payer);
    // no await between reading the funds and reserving: concurrent admissions see each other's holds
    const hold = this.reservations.reserve(payer, feeFor(req.promptTokens + req.maxTokens, per1k), funds);
    const snapshotIds = snapshotIdsOf(req);
    return {
      settle: async (record) => {
        try {
          return await this.settleUsage(record, payer, snapshotIds);
        } finally {
          hold.release();
        }
      },
      abandon: async () => hold.release(),
    };
  }

  /**
   * x402: the payment for the request's maximum cost is verified and settled on chain before the
   * request runs (402 otherwise); the usage row records the amount transferred as its fee, and the
   * answer carries the settlement in `PAYMENT-RESPONSE` and `openledger.x402`.
   */
  private async admitX402(x402: X402Admission, req: AdmissionRequest): Promise<AdmissionTicket> {
    const paid = await x402.pay(req, feeFor(req.promptTokens + req.maxTokens, pricePer1k(req)));
    const snapshotIds = snapshotIdsOf(req);
    return {
      // known before the run, so a stream's headers carry it too
      headers: { [PAYMENT_RESPONSE_HEADER]: paid.header },
      // the run failed (queue full, backend error): the payment goes back to the payer
      abandon: async () => {
        await x402.facilitator.repay(paid.payer, paid.amount);
      },
      settle: async (record) => {
        const s = await this.settleUsage(record, paid.payer, snapshotIds, {
          payment: "x402",
          fee: paid.amount,
        });
        return { headers: s.headers, extension: { ...s.extension, x402: paid.settlement } };
      },
    };
  }

  /** span-v2 of the answer over the snapshots its model (and adapters) were trained on. */
  async attribute(output: string, snapshotIds: readonly bigint[]): Promise<SpanV2Result> {
    const indexes = snapshotIds.length && this.o.spanIndexes ? await this.o.spanIndexes(snapshotIds) : [];
    return attributeSpanV2(output, indexes);
  }

  /** Fees a posted batch debited from escrows no longer count as unbatched (the batcher calls this). */
  batched(debits: readonly { account: Address; amount: bigint }[]): void {
    for (const d of debits) {
      const left = this.unbatchedOf(d.account) - d.amount;
      this.unbatched.set(d.account, left > 0n ? left : 0n);
    }
  }

  /**
   * Charges a finished request: attributes the answer, signs its receipt and stores the usage row the
   * settlement batcher carries on-chain (output, span-v2 result with proven witnesses, payment kind).
   * `payment` 'x402': the payer already paid the operator `fee` (the amount transferred), so nothing
   * is owed from its escrow; absent: 'escrow', charged the fee of the tokens that ran.
   */
  async settleUsage(
    record: UsageRecord,
    payer: Address,
    snapshotIds: readonly bigint[],
    o: { payment?: PaymentKind; fee?: bigint } = {},
  ) {
    const payment = o.payment ?? "escrow";
    // an answer span-v2 cannot take (over its output limits) is charged all the same and credits no span
    const attribution = await this.attribute(record.output, snapshotIds).catch((err: unknown) => {
      if (err instanceof AttributionError) return err;
      throw err;
    });
    // the tokens that ran: a cancelled stream's counts stop where the client went away
    const fee = o.fee ?? feeFor(record.promptTokens + record.completionTokens, recordPricePer1k(record));
    const signed = await signReceipt(
      this.o.operator,
      {
        requestId: requestIdHash(record.id),
        modelId: record.model.modelId,
        modelVersion: record.model.version,
        payer,
        promptTokens: record.promptTokens,
        completionTokens: record.completionTokens,
        fee,
        attribution: attribution instanceof AttributionError ? NOT_ATTRIBUTED : attribution.commitment,
      },
      { chainId: this.o.chainId, settlement: this.o.settlement },
    );
    let stored: StoredAttribution | null = null;
    if (!(attribution instanceof AttributionError) && this.o.witnessChunks) {
      const chunks = attribution.witnesses.length
        ? await this.o.witnessChunks(snapshotIds, attribution.witnesses)
        : [];
      stored = storeAttribution(attribution, chunks);
    }
    // read before the row is stored: a first read loads the store's sum, which must not count it twice
    const owed = payment === "escrow" ? this.unbatchedOf(payer) : 0n;
    this.o.db.addUsage({
      requestId: record.id,
      payer,
      modelId: record.model.modelId,
      promptTokens: record.promptTokens,
      completionTokens: record.completionTokens,
      fee,
      receipt: JSON.stringify(signed),
      payment,
      output: record.output,
      snapshotIds: [...snapshotIds],
      attribution: stored,
    });
    if (payment === "escrow") this.unbatched.set(payer, owed + fee);
    this.o.grad?.enqueue(record);
    return {
      headers: { [RECEIPT_HEADER]: encodeReceiptHeader(signed) },
      extension: {
        payer,
        fee: fee.toString(),
        receipt: signed,
        attribution:
          attribution instanceof AttributionError
            ? { error: attribution.message, snapshotIds: snapshotIds.map(String) }
            : { ...resultToJson(attribution), snapshotIds: snapshotIds.map(String) },
      },
    };
  }
}

/** The Datanet snapshots a request's model and adapters were trained on (each once). */
function snapshotIdsOf(req: AdmissionRequest): bigint[] {
  return [...new Set([req.model, ...req.adapters.map((a) => a.model)].flatMap((m) => m.snapshotIds))];
}
