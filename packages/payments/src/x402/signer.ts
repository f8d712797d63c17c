import { type ContractWrite, callOf, type SendQueue, type WalletClientWithAccount } from "@openledger/sdk";
import type { FacilitatorEvmSigner } from "@x402/evm";
import { type Abi, type Client, concat, type Hex } from "viem";
import { getCode, readContract, verifyTypedData, waitForTransactionReceipt } from "viem/actions";

const RECEIPT_POLL_MS = 200;

/**
 * The chain access `@x402/evm`'s facilitator needs, on this project's own paths: reads and
 * signature checks through `client`, and every transaction from the operator's `wallet` through the
 * process's `SendQueue` (simulated first, so a revert comes back decoded and nothing is signed; one
 * nonce order shared with the settlement batcher, which sends from the same account).
 */
export function facilitatorSigner(o: {
  client: Client;
  wallet: WalletClientWithAccount;
  queue: SendQueue;
}): FacilitatorEvmSigner {
  const { client, wallet, queue } = o;
  return {
    getAddresses: () => [wallet.account.address],
    readContract: (args) =>
      readContract(client, {
        address: args.address,
        abi: args.abi as Abi,
        functionName: args.functionName,
        args: args.args,
      }),
    verifyTypedData: (args) =>
      verifyTypedData(client, args as Parameters<typeof verifyTypedData>[1]).catch(() => false),
    writeContract: (args) => {
      const call = callOf({
        address: args.address,
        abi: args.abi as Abi,
        functionName: args.functionName,
        args: args.args,
        label: `x402 ${args.functionName}`,
      } as ContractWrite);
      const data = args.dataSuffix ? concat([call.data, args.dataSuffix]) : call.data;
      return queue.sendCall(wallet, { ...call, data });
    },
    sendTransaction: (args) =>
      queue.sendCall(wallet, { to: args.to, data: args.data, label: "x402 transaction" }),
    waitForTransactionReceipt: async (args) => {
      const receipt = await waitForTransactionReceipt(client, {
        hash: args.hash as Hex,
        // the request waits on this receipt: poll well below viem's 4 s default (blocks come every ~1 s)
        pollingInterval: RECEIPT_POLL_MS,
        ...(args.timeout !== undefined ? { timeout: args.timeout } : {}),
      });
      return { status: receipt.status, logs: receipt.logs };
    },
    getCode: (args) => getCode(client, { address: args.address }),
  };
}
