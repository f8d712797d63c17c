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
  // DatanetRegistry
  UnknownDatanet: "no Datanet has this id",
  UnknownContribution: "no contribution has this id",
  NotDatanetOwner: "only the Datanet's owner may do this",
  NotCurator: "only the Datanet's owner or one of its curators may curate",
  InvalidBps: "basis points must be at most 10000",
  BondTooLarge: "the contribution bond must fit in 96 bits",
  DuplicateContribution: "this content is already in the Datanet (see the existing id)",
  ContributionNotPending: "the contribution was already curated",
  EmptySnapshot: "a snapshot needs a non-zero chunk root and at least one chunk",
  SnapshotExceedsAccepted: "a snapshot cannot cover more contributions than were accepted",
  InvalidContributors: "give a contributors root together with a non-zero total weight, or neither",
  AlreadyLicensed: "this account already holds a license for the snapshot",
  RoyaltyExceedsPool: "the snapshot's contributor pool cannot cover this claim",
  InsufficientPool: "the Datanet's pool holds less than requested",
  // ModelRegistry
  UnknownModel: "no model has this id",
  UnknownVersion: "the model has no such version",
  NotModelOwner: "only the model's owner may do this",
  ModelIsRetired: "the model is retired",
  VersionIsRetired: "this model version is retired",
  NoTrainingSnapshots: "name at least one training snapshot",
  UnknownSnapshot: "no snapshot has this id",
  MissingLicense: "buy a training license for every snapshot the model was trained on first (buyLicense)",
  ZeroHash: "base model and adapter hashes must be non-zero",
  // InferenceSettlement
  InsufficientEscrow: "deposit more into the escrow first (a matured withdrawal request is reserved)",
  NoWithdrawalRequested: "request a withdrawal first (requestWithdraw)",
  WithdrawalNotReady: "the withdrawal delay has not passed yet",
  WithdrawalExpired: "the withdrawal request expired; request it again",
  SpendingAuthorizationExpired:
    "the payer has not authorised this operator, or the authorisation expired (authorize)",
  SpendingCapExceeded: "the debit would exceed the payer's cap for this operator",
  InvalidAuthorizationNonce: "sign the authorisation with the pair's current nonce (authorizationNonce)",
  InvalidSignature: "the signature is not the payer's over exactly these terms",
  AmountTooLarge: "the amount does not fit the contract's 96-bit balances (or 40-bit expiry)",
  NotOperator: "only operators staked above the minimum may post batches (stake first)",
  InactiveModel: "the model is unknown or retired",
  RecordsTotalMismatch:
    "the records' payouts must sum to exactly the contributors' share of the fee (see splitFee)",
  MissingRecordsRoot: "a batch paying contributors needs a records root",
  WindowsExceedUnbonding: "the challenge window plus two response windows must be shorter than unbonding",
  UnknownBatch: "no batch has this id",
  WrongBatchStatus: "the batch is not in a state that allows this (pending, finalized, reverted)",
  ChallengeWindowOpen: "wait until the batch's challenge window has closed",
  ChallengeWindowClosed: "the challenge window of this batch has closed",
  DisputesOpen: "the batch has unanswered disputes: answer them or wait and resolve them",
  VerifierNotSet: "the batch was posted without a challenge verifier",
  ChallengeRejected: "the verifier did not accept the evidence",
  InvalidRecordProof: "the record, its payouts or its proof do not match the batch's records root",
  InvalidDebitProof: "the debit or its proof do not match the batch's debits root",
  PayoutOutOfRange: "the record has no payout with this index (at most 256 per record)",
  AlreadyClaimed: "this payout was already claimed",
  AlreadyRefunded: "this debit was already refunded",
  UnknownDispute: "no dispute has this id",
  DuplicateDispute: "this debit or record is already disputed (see the dispute id)",
  NotPayer: "only the debited payer may dispute its debit",
  NotDisputable: "the payer's authorisation is not voucher-only, so its debits are bounded by the cap alone",
  WrongDispute: "the dispute is not open, or not of this kind, or not about this debit or record",
  NotTheOperator: "only the batch's operator may answer its disputes",
  AnswerWindowClosed: "the dispute's answer window has closed",
  AnswerWindowOpen: "the operator may still answer; resolve after the answer deadline",
  VoucherTooLow: "the voucher must cover the payer's cumulative total after the disputed debit",
  AnswerRejected: "the verifier found the evidence incomplete",
  NoParamsScheduled: "no parameters are scheduled",
  ParamsNotReady: "scheduled parameters take effect after PARAMS_DELAY",
  InvalidFeeSplit: "the four fee shares must sum to 10000 basis points",
  // shared names
  InvalidProof: "the Merkle proof does not match the committed root for this account and amount",
  NothingToClaim: "there is nothing to claim for this account",
  ZeroAmount: "the amount must be greater than zero",
  ZeroAddress: "the address must not be the zero address",
  EmptyBatch: "the batch is empty",
  LengthMismatch: "the parallel arrays must have the same length",
  // Staking
  UnknownOperator: "delegate only to a registered operator (one that staked to itself)",
  PoolWiped: "the operator's pool was slashed to zero; it cannot take new stake",
  NothingToActivate: "no warming stake to activate yet (the batches open at its arrival must close first)",
  SelfStakeLocked: "an operator cannot unbond its self-stake while it has an open settlement batch",
  BatchAlreadyOpened: "this batch is already open in the staking pool",
  NothingToUnbond: "this account has no stake with the operator",
  UnknownUnbonding: "no pending unbonding has this id",
  NotUnbondingOwner: "only the account that started the unbonding may withdraw it",
  UnbondingNotReady: "the unbonding period has not passed yet",
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
