import type { AdmissionHook, AdmissionRequest, AdmissionTicket, UsageRecord } from "@openledger/openlora";
import { authorizationOf, debitableOf } from "@openledger/sdk";
import {
  type Address,
  type Client,
  encodeAbiParameters,
  type Hex,
  keccak256,
  type LocalAccount,
  toHex,
} from "viem";
import { apiKeyHash, isApiKey } from "./api-keys.ts";
import type { PaymentsDb } from "./db.ts";
import { InvalidApiKeyError } from "./errors.ts";
import { feeFor, pricePer1k, recordPricePer1k } from "./price.ts";
import { encodeReceiptHeader, requestIdHash, signReceipt } from "./receipt.ts";
import { Reservations } from "./reservations.ts";

export const RECEIPT_HEADER = "openledger-receipt";

export interface PaymentGateOptions {
  client: Client;
  chainId: number;
  settlement: Address;
  /** the operator: signs receipts, and is the account payers authorise to debit them */
  operator: LocalAccount;
  db: PaymentsDb;
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
    const [escrow, auth] = await Promise.all([
      debitableOf(this.o.client, { settlement: this.o.settlement, account: payer }),
      authorizationOf(this.o.client, {
        settlement: this.o.settlement,
        payer,
        operator: this.o.operator.address,
      }),
    ]);
    const now = this.o.now?.() ?? BigInt(Math.floor(Date.now() / 1000));
    const authLeft = auth.expiry > now && auth.cap > auth.spent ? auth.cap - auth.spent : 0n;
    const limit = escrow < authLeft ? escrow : authLeft;
    return limit - this.unbatchedOf(payer);
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
    const payer = this.payerOf(req.credentials.authorization);
    const per1k = pricePer1k(req);
    const funds = await this.fundsOf(payer);
    // no await between reading the funds and reserving: concurrent admissions see each other's holds
    const hold = this.reservations.reserve(payer, feeFor(req.promptTokens + req.maxTokens, per1k), funds);
    return {
      settle: async (record) => {
        try {
          return await this.settle(record, payer);
        } finally {
          hold.release();
        }
      },
    };
  }

  private async settle(record: UsageRecord, payer: Address) {
    // the tokens that ran: a cancelled stream's counts stop where the client went away
    const fee = feeFor(record.promptTokens + record.completionTokens, recordPricePer1k(record));
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
        attribution: attributionCommitment(record.output, []),
      },
      { chainId: this.o.chainId, settlement: this.o.settlement },
    );
    this.o.db.addUsage({
      requestId: record.id,
      payer,
      modelId: record.model.modelId,
      promptTokens: record.promptTokens,
      completionTokens: record.completionTokens,
      fee,
      receipt: JSON.stringify(signed),
    });
    this.unbatched.set(payer, this.unbatchedOf(payer) + fee);
    return {
      headers: { [RECEIPT_HEADER]: encodeReceiptHeader(signed) },
      extension: { payer, fee: fee.toString(), receipt: signed },
    };
  }
}

/** A credited span of the answer: which contribution it reproduces and its share (basis points). */
export interface Credit {
  contributionId: bigint;
  shareBps: number;
}

/** keccak256(abi.encode(keccak256(output), keccak256(abi.encode(credits)))): binds answer and credits. */
export function attributionCommitment(output: string, credits: readonly Credit[]): Hex {
  const creditsHash = keccak256(
    encodeAbiParameters(
      [{ type: "uint256[]" }, { type: "uint32[]" }],
      [credits.map((c) => c.contributionId), credits.map((c) => c.shareBps)],
    ),
  );
  return keccak256(
    encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [keccak256(toHex(output)), creditsHash]),
  );
}
