import {
  type Abi,
  type Account,
  type Chain,
  type Client,
  type Hex,
  type TransactionReceipt,
  type Transport,
  zeroAddress,
} from "viem";
import { call, sendTransaction, waitForTransactionReceipt } from "viem/actions";
import { decodeContractError, OpenLedgerTransactionError } from "./errors.ts";

/** A viem client with an account that can sign and send (e.g. `createWalletClient({ account, ... })`). */
export type WalletClientWithAccount = Client<Transport, Chain | undefined, Account>;

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

export interface Sent {
  hash: Hex;
  receipt: TransactionReceipt;
}

/**
 * Simulates the call (so a revert surfaces as a decoded OpenLedgerContractError before anything is
 * signed), sends it from the client's account and waits for the receipt.
 */
export async function transact(client: WalletClientWithAccount, request: CallRequest): Promise<Sent> {
  const { to, data, value, label } = request;
  const account = client.account;
  if (!account) throw new OpenLedgerTransactionError(`${label}: the client has no account to send from`);
  if (to !== undefined && to === zeroAddress)
    throw new OpenLedgerTransactionError(`${label}: contract address is the zero address`);
  let hash: Hex;
  try {
    await call(client, { account, to, data, value });
    hash = await sendTransaction(client, { account, chain: client.chain ?? null, to, data, value });
  } catch (err) {
    throw decodeContractError(err, label, request.errorsAbi);
  }
  const receipt = await waitForTransactionReceipt(client, { hash });
  if (receipt.status !== "success") {
    throw new OpenLedgerTransactionError(
      `${label}: transaction ${hash} reverted in block ${receipt.blockNumber}`,
    );
  }
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
