import type { Block } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import type { EVMResult } from "@ethereumjs/evm";
import { Account, bytesToBigInt, createAddressFromString } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import type { CallRequest } from "./execution.ts";
import { type FastCall, runFastCall } from "./fastCall.ts";
import { hexKey } from "./hex.ts";

/**
 * EIPs that change runTx's intrinsic gas, warm set or top-level accounting in ways this path does not
 * reproduce; while any is active every call goes through runTx.
 */
const UNSUPPORTED_EIPS = [2780, 7864, 7928, 7976, 7981, 8037];
const MAX_UINT64 = 2n ** 64n - 1n;
const MAX_UINT256 = 2n ** 256n - 1n;
const ADDRESS_HEX = /^0x[0-9a-fA-F]{40}$/;
const SLOT_HEX = /^0x[0-9a-fA-F]{64}$/;

/** The intrinsic-gas parameters of a Common, read once (each `param` call walks its tables). */
interface GasParams {
  txGas: bigint;
  txCreationGas: bigint;
  zeroByte: bigint;
  nonZeroByte: bigint;
  accessListAddress: bigint;
  accessListSlot: bigint;
  /** EIP-3860, else undefined. */
  initCodeWord: bigint | undefined;
  maxInitCodeSize: bigint | undefined;
  /** EIP-7623, else undefined. */
  floorPerToken: bigint | undefined;
  /** EIP-7825, else undefined. */
  maxTxGas: bigint | undefined;
  /** At most 1/maxRefundQuotient of the gas spent is refunded (EIP-3529). */
  maxRefundQuotient: bigint;
  eip2929: boolean;
  eip3651: boolean;
}

const paramsByCommon = new WeakMap<Common, GasParams | null>();

/** The parameters, or null when the Common has an EIP active that this path does not reproduce. */
function gasParams(common: Common): GasParams | null {
  let p = paramsByCommon.get(common);
  if (p !== undefined) return p;
  const on = (eip: number) => common.isActivatedEIP(eip);
  p = UNSUPPORTED_EIPS.some(on)
    ? null
    : {
        txGas: common.param("txGas"),
        txCreationGas: common.param("txCreationGas"),
        zeroByte: common.param("txDataZeroGas"),
        nonZeroByte: common.param("txDataNonZeroGas"),
        accessListAddress: common.param("accessListAddressGas"),
        accessListSlot: common.param("accessListStorageKeyGas"),
        initCodeWord: on(3860) ? common.param("initCodeWordGas") : undefined,
        maxInitCodeSize: on(3860) ? common.param("maxInitCodeSize") : undefined,
        floorPerToken: on(7623) ? common.param("totalCostFloorPerToken") : undefined,
        maxTxGas: on(7825) ? common.param("maxTransactionGasLimit") : undefined,
        maxRefundQuotient: common.param("maxRefundQuotient"),
        eip2929: on(2929),
        eip3651: on(3651),
      };
  paramsByCommon.set(common, p);
  return p;
}

/** The access list as lowercase unprefixed hex (the journal's keys), or null if runTx must word it. */
function accessListHex(req: CallRequest): [string, string[]][] | null {
  const list = req.accessList ?? [];
  const out: [string, string[]][] = [];
  for (const entry of list) {
    const e = entry as unknown;
    if (typeof e !== "object" || e === null) return null;
    const { address, storageKeys } = e as { address?: unknown; storageKeys?: unknown };
    if (typeof address !== "string" || !ADDRESS_HEX.test(address) || !Array.isArray(storageKeys)) return null;
    const keys: string[] = [];
    for (const k of storageKeys) {
      if (typeof k !== "string" || !SLOT_HEX.test(k)) return null;
      keys.push(k.slice(2).toLowerCase());
    }
    out.push([address.slice(2).toLowerCase(), keys]);
  }
  return out;
}

/**
 * The gas runTx takes before execution (what `tx.getIntrinsicGas()` gives), EIP-7623's calldata floor
 * (0 without it), and the least gas limit runTx accepts (the higher of the two).
 */
function intrinsicGas(
  p: GasParams,
  data: Uint8Array,
  create: boolean,
  list: [string, string[]][],
): { intrinsic: bigint; floor: bigint; minimum: bigint } {
  let zeros = 0;
  for (let i = 0; i < data.length; i++) if (data[i] === 0) zeros++;
  const nonZeros = data.length - zeros;
  let intrinsic = p.txGas + BigInt(zeros) * p.zeroByte + BigInt(nonZeros) * p.nonZeroByte;
  if (create) {
    intrinsic += p.txCreationGas;
    if (p.initCodeWord !== undefined) intrinsic += p.initCodeWord * BigInt(Math.ceil(data.length / 32));
  }
  let slots = 0;
  for (const [, keys] of list) slots += keys.length;
  intrinsic += BigInt(list.length) * p.accessListAddress + BigInt(slots) * p.accessListSlot;
  if (p.floorPerToken === undefined) return { intrinsic, floor: 0n, minimum: intrinsic };
  const floor = p.txGas + p.floorPerToken * BigInt(zeros + 4 * nonZeros);
  return { intrinsic, floor, minimum: floor > intrinsic ? floor : intrinsic };
}

/** A call's EVM result, and the gas a transaction doing the same would be charged. */
export interface DirectCallResult {
  evm: EVMResult;
  /** runTx's `totalGasSpent`: intrinsic plus execution gas, less the capped refund, at least the floor. */
  totalGasSpent: bigint;
  /** Whether fastCall.ts ran it (else the EVM did). */
  fast: boolean;
}

/** What runTx charges for a call that ran with `intrinsic` taken before it. */
function gasSpent(
  p: GasParams,
  result: Pick<EVMResult, "execResult">,
  intrinsic: bigint,
  floor: bigint,
): bigint {
  let total = result.execResult.executionGasUsed + intrinsic;
  const refund = result.execResult.gasRefund ?? 0n;
  if (refund !== 0n) {
    const max = total / p.maxRefundQuotient;
    total -= refund < max ? refund : max;
  }
  return total < floor ? floor : total;
}

/** Precompile addresses of an EVM as numbers (they are warm in every call). */
const precompilesByEvm = new WeakMap<object, Set<bigint>>();

/** What fastCall.ts needs: the call's addresses as numbers and runTx's warm set. */
function fastCallOf(
  vm: VM,
  req: CallRequest,
  from: string,
  to: string,
  list: [string, string[]][],
  callBlock: Block,
  gasLimit: bigint,
): FastCall {
  let precompiles = precompilesByEvm.get(vm.evm);
  if (!precompiles) {
    precompiles = new Set([...vm.evm.precompiles.keys()].map((k) => BigInt(`0x${k}`)));
    precompilesByEvm.set(vm.evm, precompiles);
  }
  const caller = BigInt(from);
  const target = BigInt(to);
  const warm = new Set<bigint>();
  warm.add(caller);
  warm.add(target);
  if (vm.common.isActivatedEIP(3651)) warm.add(bytesToBigInt(callBlock.header.coinbase.bytes));
  const warmSlots = new Map<bigint, Set<bigint>>();
  for (const [address, keys] of list) {
    const a = BigInt(`0x${address}`);
    warm.add(a);
    if (keys.length === 0) continue;
    let slots = warmSlots.get(a);
    if (!slots) warmSlots.set(a, (slots = new Set()));
    for (const k of keys) slots.add(BigInt(`0x${k}`));
  }
  return {
    caller,
    to: target,
    value: req.value ?? 0n,
    data: req.data ?? new Uint8Array(),
    gasLimit,
    block: callBlock,
    precompiles,
    warm,
    warmSlots,
  };
}

/** A call runDirectCall can run: its parameters checked, its intrinsic gas and floor worked out. */
interface DirectCall {
  p: GasParams;
  list: [string, string[]][];
  intrinsic: bigint;
  floor: bigint;
  from: string;
  value: bigint;
  data: Uint8Array;
  create: boolean;
  gasLimit: bigint;
}

/** The checks runDirectCall makes before it runs anything; undefined where runTx must run the call. */
function directCallOf(vm: VM, req: CallRequest, gasLimit: bigint): DirectCall | undefined {
  if (req.gasPrice !== undefined || req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined)
    return undefined;
  const p = gasParams(vm.common);
  if (p === null) return undefined;
  const value = req.value ?? 0n;
  const data = req.data ?? new Uint8Array();
  const create = req.to === undefined;
  if (value > MAX_UINT256 || gasLimit > MAX_UINT64 || (req.nonce ?? 0n) >= MAX_UINT64) return undefined;
  if (p.maxTxGas !== undefined && gasLimit > p.maxTxGas) return undefined;
  if (create && p.maxInitCodeSize !== undefined && BigInt(data.length) > p.maxInitCodeSize) return undefined;
  const list = accessListHex(req);
  if (list === null) return undefined;
  const { intrinsic, floor, minimum } = intrinsicGas(p, data, create, list);
  if (gasLimit < minimum) return undefined;
  const from = req.from ?? "0x0000000000000000000000000000000000000000";
  return { p, list, intrinsic, floor, from, value, data, create, gasLimit };
}

/** fastCall.ts's answer for a checked call, or undefined (nothing changed) where the EVM must run it. */
async function runPrepared(
  vm: VM,
  req: CallRequest,
  callBlock: Block,
  c: DirectCall,
): Promise<DirectCallResult | undefined> {
  if (req.to === undefined || !c.p.eip2929) return undefined;
  const exec = await runFastCall(
    vm,
    fastCallOf(vm, req, c.from, req.to, c.list, callBlock, c.gasLimit - c.intrinsic),
  );
  if (!exec) return undefined;
  return {
    evm: { execResult: exec },
    totalGasSpent: gasSpent(c.p, { execResult: exec }, c.intrinsic, c.floor),
    fast: true,
  };
}

/**
 * eth_call on the EVM directly, without runTx: the same top-level message runTx would run for an
 * unpriced call (no gasPrice or fee fields, so the gas price is 0 and no balance is charged), with
 * the same warm set (access list, precompiles, sender, recipient, coinbase), the same intrinsic gas
 * taken from the gas limit, and the sender's account written as runTx leaves it (nonce + 1, balance
 * raised to the value if short, as runTx's skipBalance does). It skips what an eth_call never
 * observes: the transaction object, fee refunds, the miner's reward, receipts and bloom.
 *
 * Returns undefined, before changing anything, for every call it does not reproduce or that runTx
 * refuses (priced calls, bounds that runTx's transaction constructor checks, a bad access list, a
 * too-low gas limit): runTx then runs the call and words the refusal. Unlike runTx, a sender with
 * code is accepted, as geth's and anvil's eth_call accept it.
 * `callBlock` is the block runTx would get. Exceptions out of the EVM propagate as from runTx.
 * With `fast`, a call that fastCall.ts can run exactly (one frame of legacy code) skips the EVM.
 */
export async function runDirectCall(
  vm: VM,
  req: CallRequest,
  callBlock: Block,
  gasLimit: bigint,
  fast = true,
): Promise<DirectCallResult | undefined> {
  const c = directCallOf(vm, req, gasLimit);
  if (c === undefined) return undefined;
  if (fast) {
    const done = await runPrepared(vm, req, callBlock, c);
    if (done) return done;
  }
  const { p, list, intrinsic, floor, from, value, data, create } = c;
  const state = vm.stateManager;
  const caller = createAddressFromString(from);
  // No EIP-3607 check: geth and anvil let eth_call simulate a call from a contract's address (a
  // multisig, a pool), which runTx would refuse as a transaction.
  const account = (await state.getAccount(caller)) ?? new Account();
  const to = create ? undefined : createAddressFromString(req.to as string);

  const evm = vm.evm;
  const journal = evm.journal;
  await journal.cleanup();
  try {
    for (const [address, keys] of list) {
      journal.addAlwaysWarmAddress(address, true);
      for (const key of keys) journal.addAlwaysWarmSlot(address, key, true);
    }
    if (p.eip2929) {
      for (const address of evm.precompiles.keys()) journal.addAlwaysWarmAddress(address);
      // The journal's keys are lowercase hex; from strings already at hand (Address.toString builds
      // one string per byte).
      journal.addAlwaysWarmAddress(from.toLowerCase());
      if (req.to !== undefined) journal.addAlwaysWarmAddress(req.to.toLowerCase());
      if (p.eip3651) journal.addAlwaysWarmAddress(hexKey(callBlock.header.coinbase.bytes));
    }
    if (account.balance < value) account.balance = value;
    account.nonce += 1n;
    await journal.putAccount(caller, account);
    // runTx runs this inside two checkpoints of its own, committed unless an exception escapes (each
    // costs a checkpoint and a commit of every cache and the trie). Executor.withVm's checkpoint
    // rolls the call back anyway, and it never reuses a VM that an exception left unbalanced.
    const result = await evm.runCall({
      block: callBlock,
      gasPrice: 0n,
      caller,
      gasLimit: gasLimit - intrinsic,
      to,
      value,
      data,
      skipNonceIncrement: true,
    });
    return { evm: result, totalGasSpent: gasSpent(p, result, intrinsic, floor), fast: false };
  } finally {
    if (p.eip2929) journal.cleanJournal();
    (state as unknown as { originalStorageCache: { clear(): void } }).originalStorageCache.clear();
  }
}
