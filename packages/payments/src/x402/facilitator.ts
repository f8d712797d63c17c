import {
  authorizationState,
  openTokenAbi,
  type SendQueue,
  tokenBalance,
  type WalletClientWithAccount,
  waitForWrite,
} from "@openledger/sdk";
import { x402Facilitator } from "@x402/core/facilitator";
import type {
  PaymentPayload,
  PaymentRequirements,
  SettleResponse,
  SupportedResponse,
  VerifyResponse,
} from "@x402/core/types";
import { ExactEvmScheme } from "@x402/evm/exact/facilitator";
import { type Address, type Client, type Hex, isAddressEqual } from "viem";
import { eip3009Of, MalformedPaymentError } from "./payload.ts";
import { facilitatorSigner } from "./signer.ts";
import type { X402Terms } from "./terms.ts";

/** Why a payment was refused: x402's reason codes (`@x402/evm`'s where it has one). */
export const X402Reason = {
  invalidPayload: "invalid_payload",
  invalidVersion: "invalid_x402_version",
  unsupportedScheme: "unsupported_scheme",
  invalidNetwork: "invalid_network",
  networkMismatch: "invalid_exact_evm_network_mismatch",
  assetMismatch: "invalid_exact_evm_asset_mismatch",
  recipientMismatch: "invalid_exact_evm_recipient_mismatch",
  domainMismatch: "invalid_exact_evm_token_name_mismatch",
  underpaid: "invalid_exact_evm_authorization_value",
  nonceUsed: "invalid_exact_evm_nonce_already_used",
  insufficientBalance: "invalid_exact_evm_insufficient_balance",
  simulationFailed: "invalid_exact_evm_transaction_simulation_failed",
  unexpectedVerify: "unexpected_verify_error",
  unexpectedSettle: "unexpected_settle_error",
} as const;

/** The scheme's reasons that say only that the transfer would not go through. */
const GENERIC = new Set([X402Reason.simulationFailed, "invalid_exact_evm_transaction_failed"]);

/** A refusal always names its reason and says why. */
type Refusal = VerifyResponse & { isValid: false; invalidReason: string; invalidMessage: string };

const refused = (reason: string, message: string, payer?: string): Refusal => ({
  isValid: false,
  invalidReason: reason,
  invalidMessage: message,
  ...(payer ? { payer } : {}),
});

/**
 * The project's own x402 facilitator: `@x402/evm`'s `exact` scheme (EIP-3009 signature, recipient,
 * validity window, value and an on-chain simulation) on this chain, settling with
 * `transferWithAuthorization` sent by the operator through the sdk's send queue. It takes only
 * payments in $OPEN to its operator on its own network (`terms`), says exactly why a simulation failed
 * (nonce already used, balance too low), and settles each authorization once even when the same
 * payment arrives twice at the same moment.
 */
export class X402Facilitator {
  private readonly inner = new x402Facilitator();
  /** `from:nonce` of authorizations being settled right now */
  private readonly settling = new Set<string>();

  constructor(
    private readonly o: {
      client: Client;
      /** the operator's wallet (sends and pays gas for the settling transaction) */
      wallet: WalletClientWithAccount;
      /** the process's send queue (shared with anything else sending from the operator) */
      queue: SendQueue;
      terms: X402Terms;
    },
  ) {
    this.inner.register(o.terms.network, new ExactEvmScheme(facilitatorSigner(o)));
  }

  get terms(): X402Terms {
    return this.o.terms;
  }

  /** `GET /supported`: the one kind this facilitator settles and the address that sends. */
  supported(): SupportedResponse {
    // its kinds' networks are the CAIP-2 id registered above (typed as plain strings by the library)
    return this.inner.getSupported() as SupportedResponse;
  }

  /** Checks a payment against requirements; refusals carry an x402 reason and a message a user can act on. */
  async verify(payment: PaymentPayload, requirements: PaymentRequirements): Promise<VerifyResponse> {
    const early = this.check(payment, requirements);
    if (early) return early;
    const auth = eip3009Of(payment);
    let res: VerifyResponse;
    try {
      res = await this.inner.verify(payment, requirements);
    } catch (err) {
      return refused(X402Reason.unexpectedVerify, (err as Error).message, auth.from);
    }
    if (res.isValid || res.invalidReason !== X402Reason.simulationFailed) return res;
    return (await this.diagnose(auth, requirements)) ?? res;
  }

  /**
   * Checks, then sends `transferWithAuthorization` from the operator and waits for it to be mined.
   * A payment already being settled is refused as a used nonce (one authorization pays once).
   */
  async settle(payment: PaymentPayload, requirements: PaymentRequirements): Promise<SettleResponse> {
    const failed = (reason: string, message: string, payer?: string): SettleResponse => ({
      success: false,
      errorReason: reason,
      errorMessage: message,
      transaction: "",
      network: requirements.network,
      ...(payer ? { payer } : {}),
    });
    const early = this.check(payment, requirements);
    if (early) return failed(early.invalidReason, early.invalidMessage, early.payer);
    const auth = eip3009Of(payment);
    const key = `${auth.from.toLowerCase()}:${auth.nonce.toLowerCase()}`;
    if (this.settling.has(key))
      return failed(
        X402Reason.nonceUsed,
        "this authorization is already being settled; sign a new payment",
        auth.from,
      );
    this.settling.add(key);
    try {
      // the scheme re-verifies (signature, window, value) and the send simulates before signing, so a
      // separate verify with its own simulation first would only add round trips
      const res = await this.inner.settle(payment, requirements);
      if (res.success || !GENERIC.has(res.errorReason ?? "")) return res;
      // a reverted send's reason is generic: say whether the nonce or the balance was it
      const why = await this.diagnose(auth, requirements);
      return why ? failed(why.invalidReason, why.invalidMessage, auth.from) : res;
    } catch (err) {
      return failed(X402Reason.unexpectedSettle, (err as Error).message, auth.from);
    } finally {
      this.settling.delete(key);
    }
  }

  /**
   * Sends a settled amount back to its payer from the operator (a request that was paid for but
   * could not run); resolves with the mined transaction's hash.
   */
  async repay(to: Address, amount: bigint): Promise<Hex> {
    const { client, wallet, queue, terms } = this.o;
    const label = "OpenToken.transfer (x402 refund)";
    const hash = await queue.sendWrite(wallet, {
      address: terms.asset,
      abi: openTokenAbi,
      functionName: "transfer",
      args: [to, amount],
      label,
    });
    await waitForWrite(client, { hash, label });
    return hash;
  }

  /** Refuses what the library's scheme would not check against this server's terms, and malformed payloads. */
  private check(payment: PaymentPayload, req: PaymentRequirements): Refusal | undefined {
    const t = this.o.terms;
    let from: string | undefined;
    try {
      from = eip3009Of(payment).from;
    } catch (err) {
      if (err instanceof MalformedPaymentError) return refused(err.reason, err.message);
      throw err;
    }
    const a = payment.accepted;
    if (req.scheme !== "exact" || a.scheme !== "exact")
      return refused(X402Reason.unsupportedScheme, "only the 'exact' scheme is settled here", from);
    if (req.network !== t.network)
      return refused(X402Reason.invalidNetwork, `this facilitator settles on ${t.network} only`, from);
    if (a.network !== req.network)
      return refused(
        X402Reason.networkMismatch,
        `the payment is for ${a.network}; this server takes payments on ${t.network}`,
        from,
      );
    if (!sameAddress(req.asset, t.asset) || !sameAddress(a.asset, t.asset))
      return refused(X402Reason.assetMismatch, `payments here are in $OPEN (${t.asset}) only`, from);
    if (!sameAddress(req.payTo, t.payTo) || !sameAddress(a.payTo, t.payTo))
      return refused(X402Reason.recipientMismatch, `payments here go to the operator ${t.payTo} only`, from);
    if (req.extra?.name !== t.name || req.extra?.version !== t.version)
      return refused(
        X402Reason.domainMismatch,
        `the token's EIP-712 domain is name '${t.name}', version '${t.version}'`,
        from,
      );
    return undefined;
  }

  /** Why an authorization that looked right cannot execute: its nonce is spent, or the payer is short. */
  private async diagnose(
    auth: ReturnType<typeof eip3009Of>,
    req: PaymentRequirements,
  ): Promise<Refusal | undefined> {
    const { client, terms } = this.o;
    const [used, balance] = await Promise.all([
      authorizationState(client, { token: terms.asset, authorizer: auth.from, nonce: auth.nonce }),
      tokenBalance(client, { token: terms.asset, account: auth.from }),
    ]);
    if (used)
      return refused(
        X402Reason.nonceUsed,
        `the authorization nonce ${auth.nonce} of ${auth.from} was already used (a replayed payment); sign a new one`,
        auth.from,
      );
    if (balance < BigInt(req.amount))
      return refused(
        X402Reason.insufficientBalance,
        `${auth.from} holds ${balance} wei of OPEN, less than the ${req.amount} wei it signed`,
        auth.from,
      );
    return undefined;
  }
}

function sameAddress(a: string, b: string): boolean {
  try {
    return isAddressEqual(a as `0x${string}`, b as `0x${string}`);
  } catch {
    return false;
  }
}
