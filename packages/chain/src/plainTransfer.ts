import type { Block } from "@ethereumjs/block";
import { type Common, ConsensusType } from "@ethereumjs/common";
import type { TypedTransaction } from "@ethereumjs/tx";
import { Account, bytesToUnprefixedHex, equalsBytes, KECCAK256_NULL, MAX_INTEGER } from "@ethereumjs/util";
import { Bloom, type RunTxResult, type VM } from "@ethereumjs/vm";
import { DecodedAccountsStateManager } from "./accountCache.ts";

/**
 * EIPs under which a value transfer does more than move balances and charge 21,000 gas (transfer
 * logs, state gas, witnesses, block access lists, refund-free block gas), or without which it is
 * charged differently (no EIP-1559 base fee): with any of them so, every transaction takes runTx.
 */
const CHANGES_TRANSFERS = [2780, 6800, 7708, 7778, 7864, 7928, 8037];

/** Whether `plainTransfer` may be used on this chain's rules at all. */
export function plainTransfersApply(common: Common): boolean {
  return (
    common.isActivatedEIP(1559) &&
    common.consensusType() === ConsensusType.ProofOfStake &&
    CHANGES_TRANSFERS.every((eip) => !common.isActivatedEIP(eip))
  );
}

const EMPTY = new Uint8Array();

/** One all-zero bloom per Common, shared by the results of plain transfers (nothing writes a result's bloom). */
const emptyBlooms = new WeakMap<Common, Bloom>();
function emptyBloom(common: Common): Bloom {
  let bloom = emptyBlooms.get(common);
  if (bloom === undefined) emptyBlooms.set(common, (bloom = new Bloom(undefined, common)));
  return bloom;
}

/**
 * Runs a plain value transfer the way @ethereumjs's runTx does, without the EVM: a type 0, 1 or 2
 * transaction with no data and no access list, to an address that is no precompile and holds no
 * code (so no 7702 delegation either), from an existing sender without code that can pay for it,
 * with the right nonce, no empty account among recipient and coinbase (which EIP-161 would
 * delete on touch), and no credit that would take a balance past 2^256 - 1. Anything else, including every transaction runTx would refuse, returns
 * undefined before any state is written, and the caller runs it through runTx, which gives the
 * refusal its usual words. The state changes and the result are runTx's: intrinsic gas (21,000)
 * used, the base fee burned, the sender's nonce up by one, `value` to the recipient (created only
 * when it receives value), the priority fee to the coinbase (created only when the fee is not
 * zero), a status-1 receipt with no logs. `test/plainTransfer.test.ts` runs seeded sequences
 * through both and compares state roots and receipts after every block.
 */
export async function plainTransfer(
  vm: VM,
  tx: TypedTransaction,
  block: Block,
  blockGasUsed: bigint,
): Promise<RunTxResult | undefined> {
  if (tx.type > 2 || tx.to === undefined || tx.data.length > 0) return undefined;
  if ("accessList" in tx && tx.accessList.length > 0) return undefined;
  const to = tx.to;
  if (vm.evm.precompiles.has(bytesToUnprefixedHex(to.bytes))) return undefined;
  const { baseFeePerGas, coinbase } = block.header;
  if (baseFeePerGas === undefined) return undefined;
  const gasUsed = tx.getIntrinsicGas();
  if (tx.gasLimit < gasUsed) return undefined;

  let maxFee: bigint;
  let inclusionFee: bigint;
  if ("maxFeePerGas" in tx) {
    maxFee = tx.maxFeePerGas;
    if (maxFee < baseFeePerGas) return undefined;
    inclusionFee = tx.getEffectivePriorityFee(baseFeePerGas);
  } else {
    const { gasPrice } = tx as { gasPrice: bigint };
    if (gasPrice < baseFeePerGas) return undefined;
    maxFee = gasPrice;
    inclusionFee = gasPrice - baseFeePerGas;
  }
  const gasPrice = baseFeePerGas + inclusionFee;

  const state = vm.stateManager;
  // The live state's cache answers, and takes writes, without a promise (most of a transfer's
  // cost otherwise); any other state manager goes the interface's way.
  const cache = state instanceof DecodedAccountsStateManager ? state : undefined;
  const caller = tx.getSenderAddress();
  const sender = cache?.peekAccount(caller) ?? (await state.getAccount(caller));
  if (sender === undefined || !equalsBytes(sender.codeHash, KECCAK256_NULL)) return undefined;
  if (sender.nonce !== tx.nonce) return undefined;
  // runTx checks the upfront cost at the effective price and at the fee cap; the cap is the larger.
  if (sender.balance < tx.gasLimit * maxFee + tx.value) return undefined;
  const recipient = cache?.peekAccount(to) ?? (await state.getAccount(to));
  if (recipient !== undefined && (!equalsBytes(recipient.codeHash, KECCAK256_NULL) || recipient.isEmpty())) {
    return undefined;
  }
  const minerValue = gasUsed * inclusionFee;
  const miner = cache?.peekAccount(coinbase) ?? (await state.getAccount(coinbase));
  if (miner?.isEmpty()) return undefined;
  // A credit past 2^256 - 1 is the EVM's "value overflow" (status 0): left to runTx. Counting the
  // value and the fee on both accounts covers recipient = coinbase at the cost of a needless fallback
  // within a fee of the maximum.
  const credit = tx.value + minerValue;
  if ((recipient?.balance ?? 0n) + credit > MAX_INTEGER || (miner?.balance ?? 0n) + credit > MAX_INTEGER) {
    return undefined;
  }

  // The same writes, in the same order, as runTx: each account is read again after the write
  // before it, so a sender that is also the recipient or the coinbase sees its own changes.
  const amountSpent = gasUsed * gasPrice;
  sender.balance -= amountSpent + tx.value;
  sender.nonce += 1n;
  if (cache) cache.putAccountNow(caller, sender);
  else await state.putAccount(caller, sender);
  if (tx.value > 0n) {
    const receiving = cache?.peekAccount(to) ?? (await state.getAccount(to)) ?? new Account();
    receiving.balance += tx.value;
    if (cache) cache.putAccountNow(to, receiving);
    else await state.putAccount(to, receiving);
  }
  if (minerValue > 0n) {
    const mining = cache?.peekAccount(coinbase) ?? (await state.getAccount(coinbase)) ?? new Account();
    mining.balance += minerValue;
    if (cache) cache.putAccountNow(coinbase, mining);
    else await state.putAccount(coinbase, mining);
  }

  const bloom = emptyBloom(vm.common);
  return {
    execResult: { executionGasUsed: 0n, returnValue: EMPTY, logs: [] },
    bloom,
    amountSpent,
    totalGasSpent: gasUsed,
    blockGasSpent: gasUsed,
    gasRefund: 0n,
    minerValue,
    receipt: {
      status: 1,
      cumulativeBlockGasUsed: blockGasUsed + gasUsed,
      bitvector: bloom.bitvector,
      logs: [],
    },
  };
}
