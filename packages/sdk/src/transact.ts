import { KeyedSerialQueue } from "@openledger/common";
import {
  type Abi,
  type Account,
  type Address,
  type Chain,
  type Client,
  type ContractEventName,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type ContractFunctionParameters,
  type EncodeFunctionDataParameters,
  encodeFunctionData,
  type Hex,
  type ParseEventLogsReturnType,
  parseEventLogs,
  type TransactionReceipt,
  type Transport,
  zeroAddress,
} from "viem";
import {
  estimateGas,
  getBlock,
  getTransaction,
  sendTransaction,
  waitForTransactionReceipt,
} from "viem/actions";
import { decodeContractError, OpenLedgerTransactionError } from "./errors.ts";

// The write path, split as viem splits writeContract and waitForTransactionReceipt:
//   sendWrite / sendCall  simulate (a revert surfaces decoded, before anything is signed), send, return the hash
//   waitForWrite          wait for the receipt, check its status, decode the events asked for
//   transact              both, for callers that want the receipt right away
// SendQueue (send-queue.ts) orders many sends from one account without waiting for receipts in between.

/** A viem client with an account that can sign and send (e.g. `createWalletClient({ account, ... })`). */
export type WalletClientWithAccount = Client<Transport, Chain | undefined, Account>;

/** A raw call: calldata already encoded. */
export interface CallRequest {
  /** Contract called; undefined for a contract creation. */
  to: Hex | undefined;
  data: Hex;
  value?: bigint;
  /** `Contract.function`, named in errors. */
  label: string;
  /** Extra ABI to decode errors with (the protocol's errors are always tried). */
  errorsAbi?: Abi;
}

type Mutability = "nonpayable" | "payable";

/** A typed contract write: viem's `{ address, abi, functionName, args }` plus a label for errors. */
export type ContractWrite<
  abi extends Abi | readonly unknown[] = Abi,
  functionName extends ContractFunctionName<abi, Mutability> = ContractFunctionName<abi, Mutability>,
  args extends ContractFunctionArgs<abi, Mutability, functionName> = ContractFunctionArgs<
    abi,
    Mutability,
    functionName
  >,
> = ContractFunctionParameters<abi, Mutability, functionName, args> & {
  value?: bigint;
  /** `Contract.function`, named in errors (default: the function name). */
  label?: string;
  errorsAbi?: Abi;
};

export interface Sent {
  hash: Hex;
  receipt: TransactionReceipt;
}

/** A mined, successful write and the events asked for, decoded with the contract's ABI. */
export type Written<
  abi extends Abi | readonly unknown[] = Abi,
  eventName extends ContractEventName<abi> | undefined = undefined,
> = Sent & { events: ParseEventLogsReturnType<abi, eventName, true> };

/**
 * Every send from one account in this process, one at a time: a send takes the account's pending
 * nonce, so two at once (two parts of a service sending from one account: a job's publication and
 * a licence purchase) would both take the same one and the second be refused. Held only until the
 * node has the transaction, never across a receipt.
 */
const accountSends = new KeyedSerialQueue();

/** Simulates `request` from the client's account, then sends it; returns the transaction hash. */
export async function sendCall(client: WalletClientWithAccount, request: CallRequest): Promise<Hex> {
  const { to, data, value, label } = request;
  const account = client.account;
  if (!account) throw new OpenLedgerTransactionError(`${label}: the client has no account to send from`);
  if (to !== undefined && to === zeroAddress)
    throw new OpenLedgerTransactionError(`${label}: contract address is the zero address`);
  return accountSends.run(account.address.toLowerCase(), async () => {
    try {
      // The estimate doubles as the simulation: a revert here carries the decoded reason.
      const estimate = await estimateGas(client, { account, to, data, value });
      const gas = await withGasMargin(client, estimate);
      return await sendTransaction(client, { account, chain: client.chain ?? null, to, data, value, gas });
    } catch (err) {
      throw decodeContractError(err, label, request.errorsAbi);
    }
  });
}

/**
 * The estimate is exact for the block it was made on; the block the transaction lands in can take
 * another branch (a later timestamp flips a deadline check, another sender's write changes a slot)
 * and run out of gas. A fifth more, never above the block's gas limit, covers such branches; unused
 * gas is not charged.
 */
async function withGasMargin(client: Client, estimate: bigint): Promise<bigint> {
  const gas = estimate + estimate / 5n;
  if (gas <= 15_000_000n) return gas;
  const { gasLimit } = await getBlock(client, { blockTag: "latest" });
  return gas < gasLimit ? gas : gasLimit;
}

/** Encodes a typed contract write, simulates it, sends it; returns the transaction hash. */
export function sendWrite<
  const abi extends Abi | readonly unknown[],
  functionName extends ContractFunctionName<abi, Mutability>,
  args extends ContractFunctionArgs<abi, Mutability, functionName>,
>(client: WalletClientWithAccount, write: ContractWrite<abi, functionName, args>): Promise<Hex> {
  return sendCall(client, callOf(write as ContractWrite));
}

/** The raw call of a typed write (calldata encoded against its ABI). */
export function callOf(write: ContractWrite): CallRequest {
  const data = encodeFunctionData({
    abi: write.abi,
    functionName: write.functionName,
    args: write.args,
  } as EncodeFunctionDataParameters);
  return {
    to: write.address as Address,
    data,
    value: write.value,
    label: write.label ?? String(write.functionName),
    errorsAbi: write.errorsAbi,
  };
}

/**
 * Waits for a sent transaction's receipt; a reverted transaction throws OpenLedgerTransactionError.
 * With `abi` (and optionally `eventName`), the receipt's logs are decoded with it: `events` is typed
 * by the ABI, and holds only the named event(s) when `eventName` is given.
 */
export async function waitForWrite<
  const abi extends Abi | readonly unknown[] = readonly [],
  eventName extends ContractEventName<abi> | undefined = undefined,
>(
  client: Client,
  params: { hash: Hex; label: string; abi?: abi; eventName?: eventName },
): Promise<Written<abi, eventName>> {
  const { hash, label } = params;
  const receipt = await waitForTransactionReceipt(client, { hash });
  if (receipt.status !== "success") {
    const why = await explainRevert(client, receipt, label);
    throw new OpenLedgerTransactionError(
      `${label}: transaction ${hash} reverted in block ${receipt.blockNumber}${why ? `: ${why}` : ""}`,
    );
  }
  const events = (
    params.abi
      ? parseEventLogs({ abi: params.abi, logs: receipt.logs, eventName: params.eventName, strict: true })
      : []
  ) as ParseEventLogsReturnType<abi, eventName, true>;
  if (params.eventName !== undefined && events.length === 0) {
    throw new OpenLedgerTransactionError(
      `${label}: transaction ${hash} emitted no ${String(params.eventName)} event`,
    );
  }
  return { hash, receipt, events };
}

/**
 * Why a mined transaction reverted, as far as the node can tell: out of gas when it used its whole
 * limit, otherwise the revert data from a call trace (geth's `callTracer`), decoded against the
 * protocol's errors. Undefined when the node has no tracer.
 */
async function explainRevert(
  client: Client,
  receipt: TransactionReceipt,
  label: string,
): Promise<string | undefined> {
  try {
    const tx = await getTransaction(client, { hash: receipt.transactionHash });
    if (receipt.gasUsed >= tx.gas) return `out of gas (used all ${tx.gas} of its limit)`;
    const trace = (await client.request({
      method: "debug_traceTransaction",
      params: [receipt.transactionHash, { tracer: "callTracer" }],
    } as never)) as { output?: Hex; error?: string };
    if (trace.output && trace.output.length >= 10) {
      const decoded = decodeContractError({ data: trace.output }, label);
      if (decoded instanceof Error) return decoded.message.replace(`${label} reverted: `, "");
    }
    return trace.error;
  } catch {
    return undefined;
  }
}

/** sendCall + waitForWrite: simulates, sends from the client's account and waits for the receipt. */
export async function transact(client: WalletClientWithAccount, request: CallRequest): Promise<Sent> {
  const hash = await sendCall(client, request);
  const { receipt } = await waitForWrite(client, { hash, label: request.label });
  return { hash, receipt };
}

/** A read-only call; reverts become OpenLedgerContractError. */
export async function read<T>(label: string, run: () => Promise<T>, errorsAbi?: Abi): Promise<T> {
  try {
    return await run();
  } catch (err) {
    throw decodeContractError(err, label, errorsAbi);
  }
}
