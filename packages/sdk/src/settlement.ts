import { MerkleTree, settlementLeaf } from "@openledger/merkle";
import {
  type Address,
  type Client,
  concat,
  encodeAbiParameters,
  encodeFunctionData,
  getAddress,
  type Hex,
  keccak256,
  numberToHex,
  parseAbiParameters,
  parseEventLogs,
  zeroHash,
} from "viem";
import { getChainId, readContract, signTypedData } from "viem/actions";
import { OpenLedgerTransactionError } from "./errors.ts";
import { inferenceSettlementAbi as abi } from "./generated/abis.ts";
import { signTransferAuthorization, type TransferAuthorization } from "./token.ts";
import { read, type Sent, transact, type WalletClientWithAccount } from "./transact.ts";

// InferenceSettlement (contracts/README.md, "Inference fees"): payers prepay an escrow and authorise each
// operator (cap, expiry, optionally voucher-only); operators post batches of debits plus the root of a sum
// tree over one attribution record per served output; contributors claim their payouts from the records.
// Deposits are pulled with transferFrom: approve (or permit) the settlement first, or use
// depositWithAuthorization (EIP-3009, no approval).

// ---------------------------------------------------------------- escrow

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

/**
 * Asks to withdraw `amount` of escrow. It becomes withdrawable at `readyAt` (after the withdrawal
 * delay, during which operators may still settle) and stays so until `expiresAt`.
 */
export async function requestWithdraw(
  client: WalletClientWithAccount,
  params: { settlement: Address; amount: bigint },
): Promise<Sent & { readyAt: bigint; expiresAt: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "requestWithdrawal", args: [params.amount] });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.requestWithdrawal",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "WithdrawalRequested" });
  return { ...sent, readyAt: event.args.readyAt, expiresAt: event.args.expiresAt };
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

// ---------------------------------------------------------------- authorisations and vouchers

/** What a payer lets one operator debit: a cumulative cap until an expiry. */
export interface SpendingAuthorization {
  payer: Address;
  operator: Address;
  cap: bigint;
  expiry: bigint;
  /** Every debit must be covered by the payer's voucher; the payer may dispute any that is not. */
  voucherOnly: boolean;
  nonce: bigint;
}

const AUTHORIZATION_TYPES = {
  SpendingAuthorization: [
    { name: "payer", type: "address" },
    { name: "operator", type: "address" },
    { name: "cap", type: "uint256" },
    { name: "expiry", type: "uint256" },
    { name: "voucherOnly", type: "bool" },
    { name: "nonce", type: "uint256" },
  ],
} as const;

const VOUCHER_TYPES = {
  Voucher: [
    { name: "payer", type: "address" },
    { name: "operator", type: "address" },
    { name: "cumulative", type: "uint256" },
  ],
} as const;

/** The settlement's EIP-712 domain (InferenceSettlement.domainSeparator). */
async function settlementDomain(client: Client, settlement: Address) {
  return {
    name: "OpenLedger InferenceSettlement",
    version: "1",
    chainId: await getChainId(client),
    verifyingContract: getAddress(settlement),
  } as const;
}

/** Authorises `operator` on chain, from the payer's own account. */
export function authorize(
  client: WalletClientWithAccount,
  params: { settlement: Address; operator: Address; cap: bigint; expiry: bigint; voucherOnly?: boolean },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "authorize",
    args: [params.operator, params.cap, params.expiry, params.voucherOnly ?? false],
  });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.authorize" });
}

/**
 * Signs a spending authorisation (EIP-712) for the operator to submit with
 * {@link authorizeWithSignature}; the nonce is read from the chain unless given.
 */
export async function signSpendingAuthorization(
  client: WalletClientWithAccount,
  params: {
    settlement: Address;
    operator: Address;
    cap: bigint;
    expiry: bigint;
    voucherOnly?: boolean;
    nonce?: bigint;
  },
): Promise<{ authorization: SpendingAuthorization; signature: Hex }> {
  const payer = client.account.address;
  const nonce =
    params.nonce ??
    (await authorizationNonce(client, { settlement: params.settlement, payer, operator: params.operator }));
  const authorization: SpendingAuthorization = {
    payer,
    operator: getAddress(params.operator),
    cap: params.cap,
    expiry: params.expiry,
    voucherOnly: params.voucherOnly ?? false,
    nonce,
  };
  const signature = await signTypedData(client, {
    account: client.account,
    domain: await settlementDomain(client, params.settlement),
    types: AUTHORIZATION_TYPES,
    primaryType: "SpendingAuthorization",
    message: authorization,
  });
  return { authorization, signature };
}

/** Submits a payer's signed authorisation (anyone may, typically the operator). */
export function authorizeWithSignature(
  client: WalletClientWithAccount,
  params: { settlement: Address; authorization: SpendingAuthorization; signature: Hex },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "authorizeWithSignature",
    args: [params.authorization, params.signature],
  });
  return transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.authorizeWithSignature",
  });
}

/**
 * Signs a cumulative voucher: the payer agrees that `operator` may have debited `cumulative` in total.
 * The operator answers a debit dispute with the latest one ({@link answerDebit}).
 */
export async function signVoucher(
  client: WalletClientWithAccount,
  params: { settlement: Address; operator: Address; cumulative: bigint },
): Promise<Hex> {
  return signTypedData(client, {
    account: client.account,
    domain: await settlementDomain(client, params.settlement),
    types: VOUCHER_TYPES,
    primaryType: "Voucher",
    message: {
      payer: client.account.address,
      operator: getAddress(params.operator),
      cumulative: params.cumulative,
    },
  });
}

// ---------------------------------------------------------------- batch trees

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

/**
 * A Merkle tree over (account, amount) leaves (`settlementLeaf`), as a snapshot's contributors root
 * (DatanetRegistry royalties) commits to.
 */
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

/** One served output's record: the verifier's attribution bytes and the payouts it makes. */
export interface RecordInput {
  attribution: Hex;
  payouts: readonly Payout[];
}

export interface SumNode {
  hash: Hex;
  sum: bigint;
}

/** A record's place in its batch: what claims, challenges and evidence requests send. */
export interface RecordProof {
  index: bigint;
  attribution: Hex;
  attributionHash: Hex;
  payouts: Payout[];
  proof: SumNode[];
}

export interface RecordTree {
  root: Hex;
  /** The payouts' sum: must equal the contributors' share of the batch's fee (see splitFee). */
  total: bigint;
  records: RecordInput[];
  proof(index: number): RecordProof;
  /** Every payout to `account`, ready for {@link claim}. */
  claimsOf(account: Address): Claim[];
}

export interface Claim {
  index: bigint;
  attributionHash: Hex;
  payouts: Payout[];
  entry: bigint;
  proof: SumNode[];
}

const LEAF_ABI = parseAbiParameters("bytes32, (address account, uint256 amount)[]");

function sumLeaf(attributionHash: Hex, payouts: readonly Payout[]): SumNode {
  return {
    hash: keccak256(encodeAbiParameters(LEAF_ABI, [attributionHash, payouts])),
    sum: payouts.reduce((s, p) => s + p.amount, 0n),
  };
}

function sumParent(l: SumNode, r: SumNode): SumNode {
  return {
    hash: keccak256(
      concat([l.hash, numberToHex(l.sum, { size: 32 }), r.hash, numberToHex(r.sum, { size: 32 })]),
    ),
    sum: l.sum + r.sum,
  };
}

/**
 * The Merkle sum tree over a batch's records (contracts/src/libraries/RecordTree.sol): leaf
 * `keccak256(abi.encode(keccak256(attribution), payouts))` with the payouts' sum, parents over
 * `(left.hash, left.sum, right.hash, right.sum)`, padded with (0, 0) to a power of two.
 */
export function buildRecordTree(records: readonly RecordInput[]): RecordTree {
  if (records.length === 0) throw new OpenLedgerTransactionError("a record tree needs at least one record");
  const list = records.map((r) => ({
    attribution: r.attribution,
    payouts: r.payouts.map((p) => {
      if (p.amount < 0n) throw new OpenLedgerTransactionError(`payout to ${p.account} must not be negative`);
      return { account: getAddress(p.account), amount: p.amount };
    }),
  }));
  if (list.some((r) => r.payouts.length > 256)) {
    throw new OpenLedgerTransactionError("a record pays at most 256 accounts");
  }
  let width = 1;
  while (width < list.length) width *= 2;
  const levels: SumNode[][] = [
    Array.from({ length: width }, (_, i) =>
      i < list.length
        ? sumLeaf(keccak256(list[i].attribution), list[i].payouts)
        : { hash: zeroHash, sum: 0n },
    ),
  ];
  while (levels[levels.length - 1].length > 1) {
    const below = levels[levels.length - 1];
    levels.push(
      Array.from({ length: below.length / 2 }, (_, i) => sumParent(below[2 * i], below[2 * i + 1])),
    );
  }
  const top = levels[levels.length - 1][0];
  const proof = (index: number): RecordProof => {
    if (!Number.isInteger(index) || index < 0 || index >= list.length) {
      throw new OpenLedgerTransactionError(`no record ${index} in this tree of ${list.length}`);
    }
    return {
      index: BigInt(index),
      attribution: list[index].attribution,
      attributionHash: keccak256(list[index].attribution),
      payouts: list[index].payouts,
      proof: levels.slice(0, -1).map((level, d) => level[(index >> d) ^ 1]),
    };
  };
  return {
    root: top.hash,
    total: top.sum,
    records: list,
    proof,
    claimsOf(account) {
      const who = getAddress(account);
      const claims: Claim[] = [];
      list.forEach((r, i) => {
        r.payouts.forEach((p, entry) => {
          if (p.account !== who || p.amount === 0n) return;
          const { index, attributionHash, payouts, proof: path } = proof(i);
          claims.push({ index, attributionHash, payouts, entry: BigInt(entry), proof: path });
        });
      });
      return claims;
    },
  };
}

/** One debit as the batch's debits tree holds it. */
export interface DebitEntry extends Payout {
  /** The payer's cumulative total with the operator after this debit. */
  spentAfter: bigint;
  voucherOnly: boolean;
}

/** A debit with its proof: what {@link disputeDebit} and {@link refund} send. */
export interface DebitProof extends DebitEntry {
  proof: Hex[];
}

const DEBIT_ABI = parseAbiParameters("address, uint256, uint256, bool");

/** The leaf of a debit (InferenceSettlement.debitLeaf). */
export function debitLeaf(d: DebitEntry): Hex {
  return keccak256(
    keccak256(encodeAbiParameters(DEBIT_ABI, [d.account, d.amount, d.spentAfter, d.voucherOnly])),
  );
}

/** The debits tree in posting order (@openledger/merkle's layout, as the contract computes it). */
export function buildDebitTree(entries: readonly DebitEntry[]): {
  root: Hex;
  entries: DebitEntry[];
  proof(index: number): DebitProof;
  proofsOf(account: Address): DebitProof[];
} {
  const list = entries.map((e) => ({ ...e, account: getAddress(e.account) }));
  const tree = list.length ? MerkleTree.build(list.map(debitLeaf)) : undefined;
  const proof = (index: number): DebitProof => {
    if (!tree || index < 0 || index >= list.length) {
      throw new OpenLedgerTransactionError(`no debit ${index} in this batch`);
    }
    return { ...list[index], proof: tree.proof(index) };
  };
  return {
    root: tree ? tree.root : zeroHash,
    entries: list,
    proof,
    proofsOf: (account) => list.flatMap((e, i) => (e.account === getAddress(account) ? [proof(i)] : [])),
  };
}

// ---------------------------------------------------------------- batches

/**
 * Posts a settlement batch (staked operators only): debits each payer within its authorisation of the
 * sender, pulls `prepaid` (x402 payments already collected) from the sender, and commits to the records.
 * The records' payouts must sum to the contributors' share of the fee (see splitFee). Each debit's
 * `spentAfter` is computed from the payers' authorisations read before sending (pass `spentBefore` when
 * this operator posts several batches at once); the posted debits root is checked against it.
 */
export async function postBatch(
  client: WalletClientWithAccount,
  params: {
    settlement: Address;
    modelId: bigint;
    debits: readonly Payout[];
    records: readonly RecordInput[];
    prepaid?: bigint;
    spentBefore?: ReadonlyMap<Address, { spent: bigint; voucherOnly: boolean }>;
  },
): Promise<
  Sent & {
    batchId: bigint;
    fee: bigint;
    challengeDeadline: bigint;
    recordTree: RecordTree;
    debitTree: ReturnType<typeof buildDebitTree>;
  }
> {
  const operator = client.account.address;
  const recordTree = buildRecordTree(params.records);
  const known = new Map<Address, { spent: bigint; voucherOnly: boolean }>();
  for (const [account, state] of params.spentBefore ?? []) known.set(getAddress(account), { ...state });
  const payers = [...new Set(params.debits.map((d) => getAddress(d.account)))].filter((p) => !known.has(p));
  const states = await Promise.all(
    payers.map((payer) => authorizationOf(client, { settlement: params.settlement, payer, operator })),
  );
  for (const [i, payer] of payers.entries()) {
    known.set(payer, { spent: states[i].spent, voucherOnly: states[i].voucherOnly });
  }
  const entries = params.debits.map((d) => {
    const state = known.get(getAddress(d.account))!;
    state.spent += d.amount;
    return { account: d.account, amount: d.amount, spentAfter: state.spent, voucherOnly: state.voucherOnly };
  });
  const debitTree = buildDebitTree(entries);
  const data = encodeFunctionData({
    abi,
    functionName: "postBatch",
    args: [
      params.modelId,
      params.debits.map((d) => d.account),
      params.debits.map((d) => d.amount),
      params.prepaid ?? 0n,
      recordTree.root,
      recordTree.total,
    ],
  });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.postBatch",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "BatchPosted" });
  if (event.args.debitsRoot !== debitTree.root) {
    throw new OpenLedgerTransactionError(
      `batch ${event.args.batchId} was posted, but its debits root differs from the one computed here: another batch of this operator debited the same payers first; rebuild the debit proofs with spentBefore`,
    );
  }
  return {
    ...sent,
    batchId: event.args.batchId,
    fee: event.args.fee,
    challengeDeadline: event.args.challengeDeadline,
    recordTree,
    debitTree,
  };
}

/** Finalizes a batch after its challenge window when no dispute is open (claims finalize on their own). */
export function finalizeBatch(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint },
) {
  const data = encodeFunctionData({ abi, functionName: "finalizeBatch", args: [params.batchId] });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.finalizeBatch" });
}

/** Claims record payouts (from {@link RecordTree.claimsOf}); each goes to its own account. */
export async function claim(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; claims: readonly Claim[] },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "claim", args: [params.batchId, params.claims] });
  const sent = await transact(client, { to: params.settlement, data, label: "InferenceSettlement.claim" });
  const events = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "Claimed" });
  return { ...sent, amount: events.reduce((s, e) => s + e.args.amount, 0n) };
}

function recordArg(r: RecordProof) {
  return { index: r.index, attribution: r.attribution, payouts: r.payouts, proof: r.proof };
}

/** Proves a record wrong through the batch's verifier; a proven challenge reverts and slashes. */
export async function challenge(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; record: RecordProof; evidence: Hex },
): Promise<Sent & { slashed: bigint; reward: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "challenge",
    args: [params.batchId, recordArg(params.record), params.evidence],
  });
  const sent = await transact(client, {
    to: params.settlement,
    data,
    label: "InferenceSettlement.challenge",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "BatchReverted" });
  return { ...sent, slashed: event.args.slashed, reward: event.args.reward };
}

async function opened(sent: Sent): Promise<Sent & { disputeId: bigint; answerBy: bigint }> {
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "DisputeOpened" });
  return { ...sent, disputeId: event.args.disputeId, answerBy: event.args.answerBy };
}

/** Asks the operator for a record's evidence; unanswered by `answerBy`, the batch reverts. */
export async function requestEvidence(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; record: RecordProof },
) {
  const data = encodeFunctionData({
    abi,
    functionName: "requestEvidence",
    args: [params.batchId, recordArg(params.record)],
  });
  return opened(
    await transact(client, { to: params.settlement, data, label: "InferenceSettlement.requestEvidence" }),
  );
}

/** The operator answers an evidence request with the record's attribution and the verifier's answer. */
export function answerEvidence(
  client: WalletClientWithAccount,
  params: { settlement: Address; disputeId: bigint; attribution: Hex; answer: Hex },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "answerEvidence",
    args: [params.disputeId, params.attribution, params.answer],
  });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.answerEvidence" });
}

/** A voucher-only payer disputes its debit; the operator must answer with a voucher covering it. */
export async function disputeDebit(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; debit: DebitProof },
) {
  const data = encodeFunctionData({
    abi,
    functionName: "disputeDebit",
    args: [params.batchId, params.debit],
  });
  return opened(
    await transact(client, { to: params.settlement, data, label: "InferenceSettlement.disputeDebit" }),
  );
}

/** The operator answers a debit dispute with the payer's voucher ({@link signVoucher}). */
export function answerDebit(
  client: WalletClientWithAccount,
  params: { settlement: Address; disputeId: bigint; debit: DebitEntry; cumulative: bigint; voucher: Hex },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "answerDebit",
    args: [
      params.disputeId,
      params.debit.account,
      params.debit.spentAfter,
      params.cumulative,
      params.voucher,
    ],
  });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.answerDebit" });
}

/** Upholds an unanswered dispute past its deadline: the batch reverts, the opener is rewarded. */
export function resolveDispute(
  client: WalletClientWithAccount,
  params: { settlement: Address; disputeId: bigint },
): Promise<Sent> {
  const data = encodeFunctionData({ abi, functionName: "resolveDispute", args: [params.disputeId] });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.resolveDispute" });
}

/** Returns debits of a reverted batch to their escrows (any subset, each once). */
export async function refund(
  client: WalletClientWithAccount,
  params: { settlement: Address; batchId: bigint; debits: readonly DebitProof[] },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({ abi, functionName: "refund", args: [params.batchId, params.debits] });
  const sent = await transact(client, { to: params.settlement, data, label: "InferenceSettlement.refund" });
  const events = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "DebitRefunded" });
  return { ...sent, amount: events.reduce((s, e) => s + e.args.amount, 0n) };
}

/** Withdraws the sender's earnings (platform and model-owner shares, challenge rewards) to `to`. */
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

// ---------------------------------------------------------------- parameters

/**
 * Sets the challenge verifier (admin only). Before the first batch it applies at once; afterwards it is
 * scheduled and takes effect through {@link activateParams} after the contract's PARAMS_DELAY.
 */
export function setVerifier(
  client: WalletClientWithAccount,
  params: { settlement: Address; verifier: Address },
) {
  const data = encodeFunctionData({ abi, functionName: "setVerifier", args: [params.verifier] });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.setVerifier" });
}

/** Activates scheduled parameters once their delay has passed (anyone). */
export function activateParams(client: WalletClientWithAccount, params: { settlement: Address }) {
  const data = encodeFunctionData({ abi, functionName: "activateParams" });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.activateParams" });
}

// ---------------------------------------------------------------- views

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

/** What operators may debit from `account` (its escrow less a matured withdrawal), at `blockNumber` or latest. */
export function debitableOf(
  client: Client,
  params: { settlement: Address; account: Address; blockNumber?: bigint },
) {
  return read("InferenceSettlement.debitableOf", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "debitableOf",
      args: [params.account],
      blockNumber: params.blockNumber,
    }),
  );
}

/** A payer's pending withdrawal request (amount 0 when none). */
export async function withdrawalOf(client: Client, params: { settlement: Address; account: Address }) {
  const e = await read("InferenceSettlement.escrowDetails", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "escrowDetails",
      args: [params.account],
    }),
  );
  return { amount: BigInt(e.withdrawal), readyAt: BigInt(e.readyAt), expiresAt: BigInt(e.expiresAt) };
}

/** `payer`'s authorisation of `operator`: cap, spent so far, expiry, voucher-only. */
export async function authorizationOf(
  client: Client,
  params: { settlement: Address; payer: Address; operator: Address; blockNumber?: bigint },
) {
  const a = await read("InferenceSettlement.authorizationOf", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "authorizationOf",
      args: [params.payer, params.operator],
      blockNumber: params.blockNumber,
    }),
  );
  return { cap: BigInt(a.cap), spent: BigInt(a.spent), expiry: BigInt(a.expiry), voucherOnly: a.voucherOnly };
}

/** The nonce the payer's next signed authorisation of `operator` must carry. */
export function authorizationNonce(
  client: Client,
  params: { settlement: Address; payer: Address; operator: Address },
): Promise<bigint> {
  return read("InferenceSettlement.authorizationNonce", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "authorizationNonce",
      args: [params.payer, params.operator],
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

export function getDispute(client: Client, params: { settlement: Address; disputeId: bigint }) {
  return read("InferenceSettlement.getDispute", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "getDispute",
      args: [params.disputeId],
    }),
  );
}

/** Whether payout `entry` of record `index` in the batch was claimed. */
export function isClaimed(
  client: Client,
  params: { settlement: Address; batchId: bigint; index: bigint; entry: bigint },
): Promise<boolean> {
  return read("InferenceSettlement.isClaimed", () =>
    readContract(client, {
      address: params.settlement,
      abi,
      functionName: "isClaimed",
      args: [params.batchId, params.index, params.entry],
    }),
  );
}

/** How a fee splits now: platform, model owner, stakers, contributors (sums to the fee to the wei). */
export async function splitFee(client: Client, params: { settlement: Address; fee: bigint }) {
  const [platform, modelOwner, stakers, contributors] = await read("InferenceSettlement.splitFee", () =>
    readContract(client, { address: params.settlement, abi, functionName: "splitFee", args: [params.fee] }),
  );
  return { platform, modelOwner, stakers, contributors };
}

/** The parameters new batches are posted with (verifier, windows, slash, treasury, split). */
export async function currentParams(client: Client, params: { settlement: Address }) {
  const id = await read("InferenceSettlement.currentParamsId", () =>
    readContract(client, { address: params.settlement, abi, functionName: "currentParamsId" }),
  );
  return read("InferenceSettlement.paramsOf", () =>
    readContract(client, { address: params.settlement, abi, functionName: "paramsOf", args: [id] }),
  );
}

/** The current fee split in basis points. */
export async function getFeeSplit(client: Client, params: { settlement: Address }) {
  return (await currentParams(client, params)).split;
}

/** The settlement parameters as a whole: what {@link setParams} takes. */
export type SettlementParams = Awaited<ReturnType<typeof currentParams>>;

/**
 * Sets the whole parameter set (admin only; start from {@link currentParams}). Before the first batch it
 * applies at once; afterwards it takes effect through {@link activateParams} after PARAMS_DELAY.
 */
export function setParams(
  client: WalletClientWithAccount,
  params: { settlement: Address; params: SettlementParams },
) {
  const data = encodeFunctionData({ abi, functionName: "setParams", args: [params.params] });
  return transact(client, { to: params.settlement, data, label: "InferenceSettlement.setParams" });
}
