import { KeyedSerialQueue } from "@openledger/common";
import type { Abi, Address, ContractFunctionArgs, ContractFunctionName, Hex } from "viem";
import {
  type CallRequest,
  type ContractWrite,
  callOf,
  sendCall,
  type WalletClientWithAccount,
} from "./transact.ts";

type Mutability = "nonpayable" | "payable";

/**
 * Per-account, nonce-ordered sending: each account's sends are simulated and sent one at a time in
 * call order (each takes the next pending nonce), but nobody waits for a receipt before the next
 * send, so many transactions from one account, and from different accounts, share blocks. Wait for
 * the receipts with `waitForWrite`, together (`Promise.all`).
 *
 * Sends themselves never race for a nonce (`sendCall` takes one account's sends one at a time
 * across the process); a queue adds call order, and turns held across several sends.
 */
export class SendQueue {
  /** Per account (lower-case): its turns, one at a time. */
  private readonly turns = new KeyedSerialQueue();

  /**
   * Runs `fn` once `account`'s earlier turns have finished; later turns wait for this one. Hold a
   * turn across a send that must be mined before the next is simulated (an approval before the
   * call that spends it).
   */
  turn<T>(account: Address, fn: () => Promise<T>): Promise<T> {
    return this.turns.run(account.toLowerCase(), fn);
  }

  /** `sendCall` in the client account's turn: resolves with the hash once the node has the transaction. */
  sendCall(client: WalletClientWithAccount, request: CallRequest): Promise<Hex> {
    return this.turn(client.account.address, () => sendCall(client, request));
  }

  /** `sendWrite` in the client account's turn. */
  sendWrite<
    const abi extends Abi | readonly unknown[],
    functionName extends ContractFunctionName<abi, Mutability>,
    args extends ContractFunctionArgs<abi, Mutability, functionName>,
  >(client: WalletClientWithAccount, write: ContractWrite<abi, functionName, args>): Promise<Hex> {
    return this.sendCall(client, callOf(write as ContractWrite));
  }
}
