import { type Abi, BaseError, decodeErrorResult, type Hex } from "viem";
import { protocolErrorsAbi } from "./generated/abis.ts";

// What to do about each revert a user can cause. Names not listed get no hint.
const HINTS: Record<string, string> = {
  // OpenZeppelin
  AccessControlUnauthorizedAccount: "the sender lacks the required role; ask the role's admin to grant it",
  OwnableUnauthorizedAccount: "only the owner may call this",
  ERC20InsufficientBalance: "the sender's token balance is too low",
  ERC20InsufficientAllowance: "approve (or permit) the spender for at least this amount first",
  ERC20InvalidReceiver: "the receiver must not be the zero address",
  ERC20InvalidSender: "the sender must not be the zero address",
  ERC2612ExpiredSignature: "the permit's deadline has passed; sign a new permit",
  ERC2612InvalidSigner: "the permit was not signed by the owner (wrong key, nonce, chain or token)",
  ERC5805FutureLookup: "query a block that is already mined",
  EnforcedPause: "the contract is paused",
  ReentrancyGuardReentrantCall: "re-entrant calls are refused",
  SafeERC20FailedOperation: "the token transfer failed; check balances and allowances",
  // EIP-3009
  AuthorizationAlreadyUsed:
    "this authorization nonce was used or cancelled; sign again with a fresh random nonce",
  AuthorizationExpired: "the authorization's validBefore has passed; sign a new one",
  AuthorizationNotYetValid: "the authorization's validAfter is still in the future; wait or sign a new one",
  InvalidAuthorizationSignature: "the authorization was not signed by `from` (wrong key, chain or token)",
  CallerNotPayee: "receiveWithAuthorization must be sent by the payee; use transferWithAuthorization instead",
};

// Solidity panic codes (Panic(uint256)).
const PANICS: Record<string, string> = {
  "1": "assertion failed",
  "17": "arithmetic overflow or underflow: an amount is too large (or too small) for this operation",
  "18": "division or modulo by zero",
  "33": "invalid enum value",
  "50": "array index out of bounds",
  "65": "out of memory",
};

/** Adds or replaces hints (e.g. for errors of contracts the SDK does not know). */
export function registerErrorHints(hints: Record<string, string>): void {
  Object.assign(HINTS, hints);
}

/** A contract call reverted. `errorName`/`args` are the decoded custom error when it is known. */
export class OpenLedgerContractError extends Error {
  override name = "OpenLedgerContractError";
  readonly errorName: string;
  readonly args: readonly unknown[];
  readonly hint: string | undefined;
  readonly functionName: string;
  readonly data: Hex | undefined;

  constructor(params: {
    functionName: string;
    errorName: string;
    args: readonly unknown[];
    data?: Hex;
    detail?: string;
    cause?: unknown;
  }) {
    const hint = params.errorName === "Panic" ? PANICS[String(params.args[0])] : HINTS[params.errorName];
    const call = params.args.length
      ? `${params.errorName}(${params.args.map(formatArg).join(", ")})`
      : params.errorName;
    const detail = params.detail ? ` ${params.detail}` : "";
    super(`${params.functionName} reverted: ${call}${detail}${hint ? ` — ${hint}` : ""}`, {
      cause: params.cause,
    });
    this.errorName = params.errorName;
    this.args = params.args;
    this.hint = hint;
    this.functionName = params.functionName;
    this.data = params.data;
  }
}

/** The transaction was mined but failed, or the node refused it for a reason other than a revert. */
export class OpenLedgerTransactionError extends Error {
  override name = "OpenLedgerTransactionError";
}

function formatArg(value: unknown): string {
  if (typeof value === "bigint") return value.toString();
  if (typeof value === "string") return value;
  if (Array.isArray(value)) return `[${value.map(formatArg).join(", ")}]`;
  return JSON.stringify(value, (_, v) => (typeof v === "bigint" ? v.toString() : v));
}

/** Finds the revert data (`0x` + selector + args) anywhere in a viem error chain. */
export function revertData(err: unknown): Hex | undefined {
  let found: Hex | undefined;
  const visit = (e: unknown): boolean => {
    if (!e || typeof e !== "object") return false;
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && /^0x[0-9a-fA-F]*$/.test(data) && data.length >= 10) {
      found = data as Hex;
      return true;
    }
    if (data && typeof data === "object" && typeof (data as { data?: unknown }).data === "string") {
      return visit(data);
    }
    return false;
  };
  if (err instanceof BaseError) err.walk(visit);
  else visit(err);
  return found;
}

/**
 * Turns a failed call into an OpenLedgerContractError when the revert data decodes against the
 * protocol's errors (or the extra ABI given); any other error is returned as it is.
 */
export function decodeContractError(err: unknown, functionName: string, extraAbi: Abi = []): unknown {
  if (err instanceof OpenLedgerContractError) return err;
  const data = revertData(err);
  if (data) {
    for (const abi of [protocolErrorsAbi as Abi, extraAbi]) {
      try {
        const decoded = decodeErrorResult({ abi, data });
        return new OpenLedgerContractError({
          functionName,
          errorName: decoded.errorName,
          args: decoded.args ?? [],
          data,
          cause: err,
        });
      } catch {
        // not in this ABI
      }
    }
    return new OpenLedgerContractError({
      functionName,
      errorName: "UnknownError",
      args: [data.slice(0, 10)],
      data,
      detail: "(selector not in the protocol ABIs)",
      cause: err,
    });
  }
  const reason = err instanceof BaseError ? err.shortMessage : undefined;
  if (reason && /revert/i.test(reason)) {
    return new OpenLedgerContractError({
      functionName,
      errorName: "Reverted",
      args: [],
      detail: reason,
      cause: err,
    });
  }
  return err;
}
