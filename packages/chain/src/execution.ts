import { type Block, createBlock } from "@ethereumjs/block";
import type { EVMResult, ExecResult, InterpreterStep, Message } from "@ethereumjs/evm";
import type { MerkleStateManager } from "@ethereumjs/statemanager";
import { createTx, type TypedTransaction } from "@ethereumjs/tx";
import {
  Account,
  type Address,
  bytesToHex,
  createAddressFromString,
  hexToBytes,
  setLengthLeft,
} from "@ethereumjs/util";
import { createVM, type RunTxResult, runTx, type VM } from "@ethereumjs/vm";
import { SerialQueue } from "@openledger/common";
import { CallReads, CallStateManager } from "./callState.ts";
import { type DirectCallResult, runDirectCall } from "./directCall.ts";
import { RpcCode, RpcError } from "./errors.ts";
import { quantity } from "./format.ts";
import { hexKey } from "./hex.ts";
import { TrieReadMemo } from "./memoTrie.ts";
import type { ChainNode } from "./node.ts";
import { executionReverted } from "./revert.ts";

/** A call as eth_call / eth_estimateGas take it (already parsed). */
export interface CallRequest {
  from?: string;
  to?: string;
  gas?: bigint;
  gasPrice?: bigint;
  maxFeePerGas?: bigint;
  maxPriorityFeePerGas?: bigint;
  value?: bigint;
  data?: Uint8Array;
  nonce?: bigint;
  accessList?: { address: string; storageKeys: string[] }[];
}

export interface AccountOverride {
  balance?: bigint;
  nonce?: bigint;
  code?: Uint8Array;
  state?: Record<string, string>;
  stateDiff?: Record<string, string>;
}

export type StateOverrides = Record<string, AccountOverride>;

const ZERO_ADDRESS = "0x0000000000000000000000000000000000000000";

/** Runs calls, estimates and traces on a throwaway copy of the state at some block. */
/** One call's result: see Executor.execute. */
export interface CallOutcome {
  exec: ExecResult;
  direct: boolean;
  totalGasSpent: bigint;
}

export class Executor {
  /** Trie lookups of every call's VM, shared (answers depend only on the trie root). */
  private readonly memo = new TrieReadMemo();
  /** Account, slot and code reads of every call's VM, shared (see callState.ts). */
  private readonly reads = new CallReads();

  constructor(private readonly node: ChainNode) {}

  /** The gas ceiling of a call: the block gas limit, capped by EIP-7825 when active. */
  get callGasCap(): bigint {
    const common = this.node.common;
    const cap = common.isActivatedEIP(7825) ? common.param("maxTransactionGasLimit") : undefined;
    return cap !== undefined && cap < this.node.blockGasLimit ? cap : this.node.blockGasLimit;
  }

  async vmAt(block: Block, overrides?: StateOverrides): Promise<{ vm: VM; state: MerkleStateManager }> {
    const root = await this.node.stateRootOf(block);
    const state = CallStateManager.over(this.node.stateAt(root, this.memo), this.reads, root);
    if (overrides) await applyOverrides(state, overrides);
    const vm = await createVM({
      common: this.node.common,
      stateManager: state,
      blockchain: this.node.blockchain,
      evmOpts: { customPrecompiles: this.node.precompiles.toEvm() },
    });
    this.node.common.events.removeAllListeners("hardforkChanged");
    return { vm, state };
  }

  /**
   * Runs `fn` on a VM at `block`'s state. Without overrides the VM of the latest state root is kept
   * and reused (its caches stay warm); each use is serialised and rolled back afterwards.
   */
  private async withVm<T>(
    block: Block,
    overrides: StateOverrides | undefined,
    fn: (vm: VM) => Promise<T>,
  ): Promise<T> {
    if (overrides) return fn((await this.vmAt(block, overrides)).vm);
    const root = hexKey(await this.node.stateRootOf(block));
    if (this.cached?.root !== root) this.cached = { root, vm: this.vmAt(block).then((v) => v.vm) };
    const cached = this.cached;
    const run = async () => {
      const vm = await cached.vm;
      // Even a use that only reads needs the checkpoint: the state manager's caches record reads made
      // outside one, and the next revert to depth 0 would write them all back into the tries.
      await vm.stateManager.checkpoint();
      const depth = checkpointCount(vm);
      try {
        return await fn(vm);
      } finally {
        const clean = depth >= 0 && checkpointCount(vm) === depth;
        await vm.stateManager.revert();
        // An exception thrown out of the EVM can leave checkpoints open: never reuse that VM.
        if (!clean && this.cached === cached) this.cached = undefined;
      }
    };
    return this.queue.run(run);
  }

  private cached: { root: string; vm: Promise<VM> } | undefined;
  /** Uses of the cached VM run one at a time (each is rolled back before the next). */
  private readonly queue = new SerialQueue();

  /** Executes `req` on top of `block` the way geth's eth_call does (no nonce or balance checks). */
  async run(
    req: CallRequest,
    block: Block,
    overrides?: StateOverrides,
    gasLimit?: bigint,
  ): Promise<RunTxResult> {
    return this.withVm(block, overrides, (vm) => this.runOn(vm, req, block, gasLimit));
  }

  private async runOn(vm: VM, req: CallRequest, block: Block, gasLimit?: bigint): Promise<RunTxResult> {
    const from = createAddressFromString(req.from ?? ZERO_ADDRESS);
    const priced = req.gasPrice !== undefined || req.maxFeePerGas !== undefined;
    const tx = this.callTx(req, gasLimit ?? req.gas ?? this.callGasCap, from);
    const callBlock = this.callBlock(block, priced);
    try {
      return await runTx(vm, {
        tx,
        block: callBlock,
        skipNonce: true,
        skipBalance: !priced,
        skipBlockGasLimitValidation: true,
        skipHardForkValidation: true,
      });
    } catch (err) {
      throw new RpcError(RpcCode.Server, gethWording(err instanceof Error ? err.message : String(err)));
    }
  }

  /**
   * The block a call runs in: the child of `block`, free of base fee unless the call is priced; on
   * the head it has the timestamp the next block would get (as anvil's calls do).
   */
  private callBlock(block: Block, priced: boolean): Block {
    const timestamp =
      block.header.number === this.node.head.header.number
        ? this.node.nextTimestamp()
        : block.header.timestamp + 1n;
    // Most calls ask for the head again: matched by identity first, without hashing a key.
    const last = this.lastCallBlock;
    if (
      last !== undefined &&
      last.block === block &&
      last.priced === priced &&
      last.timestamp === timestamp
    ) {
      return last.callBlock;
    }
    const key = `${bytesToHex(block.hash())}:${priced}:${timestamp}`;
    const hit = this.callBlocks.get(key);
    if (hit) {
      this.lastCallBlock = { block, priced, timestamp, callBlock: hit };
      return hit;
    }
    const callBlock = createBlock(
      {
        header: {
          ...block.header.toJSON(),
          number: block.header.number + 1n,
          parentHash: block.hash(),
          timestamp,
          baseFeePerGas: priced ? block.header.calcNextBaseFee() : 0n,
          // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.min takes numbers
          gasLimit: this.node.blockGasLimit > this.callGasCap ? this.node.blockGasLimit : this.callGasCap,
        },
      },
      { common: this.node.common },
    );
    if (this.callBlocks.size >= 8) this.callBlocks.clear();
    this.callBlocks.set(key, callBlock);
    this.lastCallBlock = { block, priced, timestamp, callBlock };
    return callBlock;
  }

  private readonly callBlocks = new Map<string, Block>();
  private lastCallBlock: { block: Block; priced: boolean; timestamp: bigint; callBlock: Block } | undefined;

  private callTx(req: CallRequest, gasLimit: bigint, from: Address): TypedTransaction {
    const common = this.node.common;
    const base = {
      nonce: req.nonce ?? 0n,
      gasLimit,
      to: req.to as `0x${string}` | undefined,
      value: req.value ?? 0n,
      data: req.data ?? new Uint8Array(),
    };
    const tx =
      req.gasPrice !== undefined
        ? createTx(
            {
              ...base,
              type: 1,
              chainId: this.node.chainId,
              gasPrice: req.gasPrice,
              accessList: toAccessList(req),
            },
            { common, freeze: false },
          )
        : createTx(
            {
              ...base,
              type: 2,
              chainId: this.node.chainId,
              maxFeePerGas: req.maxFeePerGas ?? 0n,
              maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? 0n,
              accessList: toAccessList(req),
            },
            { common, freeze: false },
          );
    tx.getSenderAddress = () => from;
    return tx;
  }

  /**
   * eth_call's execution: on the EVM directly where `runDirectCall` reproduces runTx (unpriced calls,
   * see directCall.ts), else through runTx. `direct` says which ran; `totalGasSpent` is what a
   * transaction doing the same would be charged.
   */
  async execute(req: CallRequest, block: Block, overrides?: StateOverrides): Promise<CallOutcome> {
    return this.withVm(block, overrides, (vm) => this.executeOn(vm, req, block));
  }

  private async executeOn(vm: VM, req: CallRequest, block: Block, gasLimit?: bigint): Promise<CallOutcome> {
    const priced =
      req.gasPrice !== undefined || req.maxFeePerGas !== undefined || req.maxPriorityFeePerGas !== undefined;
    if (!priced) {
      let result: DirectCallResult | undefined;
      try {
        result = await runDirectCall(
          vm,
          req,
          this.callBlock(block, false),
          gasLimit ?? req.gas ?? this.callGasCap,
        );
      } catch (err) {
        throw new RpcError(RpcCode.Server, gethWording(err instanceof Error ? err.message : String(err)));
      }
      if (result) return { exec: result.evm.execResult, direct: true, totalGasSpent: result.totalGasSpent };
    }
    const r = await this.runOn(vm, req, block, gasLimit);
    return { exec: r.execResult, direct: false, totalGasSpent: r.totalGasSpent };
  }

  /** eth_call: the return data, or geth's revert / VM error. */
  async call(req: CallRequest, block: Block, overrides?: StateOverrides): Promise<Uint8Array> {
    const { exec } = await this.execute(req, block, overrides);
    const err = exec.exceptionError;
    if (err) {
      if (err.error === "revert") throw executionReverted(exec.returnValue);
      throw new RpcError(RpcCode.Server, err.error);
    }
    return exec.returnValue;
  }

  /** eth_estimateGas: the lowest gas limit that succeeds, found by binary search as geth does. */
  async estimateGas(req: CallRequest, block: Block, overrides?: StateOverrides): Promise<bigint> {
    return this.withVm(block, overrides, (vm) => this.search(vm, req, block));
  }

  private async search(vm: VM, req: CallRequest, block: Block): Promise<bigint> {
    let hi = req.gas ?? this.callGasCap;
    const state = vm.stateManager;
    // each try as eth_call runs it (on the EVM directly where it can, so a contract's address may be
    // the sender, as in geth), rolled back after
    const attempt = async (gas: bigint) => {
      await state.checkpoint();
      try {
        return await this.executeOn(vm, req, block, gas);
      } finally {
        await state.revert();
      }
    };
    // A plain transfer to an account without code costs exactly the intrinsic gas (geth's shortcut).
    if (req.to && (req.data?.length ?? 0) === 0 && (req.accessList?.length ?? 0) === 0) {
      const code = await state.getCode(createAddressFromString(req.to));
      if (code.length === 0 && hi >= 21000n) {
        const result = await attempt(21000n);
        if (!result.exec.exceptionError) return 21000n;
      }
    }
    const first = await attempt(hi);
    const err = first.exec.exceptionError;
    if (err) {
      if (err.error === "revert") throw executionReverted(first.exec.returnValue);
      if (err.error === "out of gas")
        throw new RpcError(RpcCode.Server, `gas required exceeds allowance (${hi})`);
      throw new RpcError(RpcCode.Server, err.error);
    }
    const used = first.totalGasSpent;
    let lo = used - 1n;
    // Most calls succeed with used * 64/63 (the gas kept back from sub-calls); try that first.
    const guess = (used * 64n) / 63n + 2300n;
    if (guess < hi) {
      const r = await attempt(guess);
      if (!r.exec.exceptionError) hi = guess;
      else lo = guess;
    }
    while (lo + 1n < hi) {
      if ((hi - lo) * 1000n < hi * 15n) break; // within 1.5%, geth's estimateGasErrorRatio
      const mid = (lo + hi) / 2n;
      const r = await attempt(mid);
      if (r.exec.exceptionError) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /** Re-executes a mined transaction on its parent state, tracing it with `tracer`. */
  async traceTransaction(hash: Uint8Array, tracer: Tracer): Promise<unknown> {
    const found = this.node.minedTransaction(hash);
    if (!found) throw new RpcError(RpcCode.Server, "transaction not found");
    const parent = this.node.blockByNumber(found.block.header.number - 1n);
    if (!parent) throw new RpcError(RpcCode.Server, "parent block not found");
    const { vm } = await this.vmAt(parent);
    for (let i = 0; i < found.index; i++) {
      await runTx(vm, { tx: found.block.transactions[i], block: found.block, skipHardForkValidation: true });
    }
    tracer.attach(vm);
    try {
      const result = await runTx(vm, { tx: found.tx, block: found.block, skipHardForkValidation: true });
      return tracer.result(result, found.tx, found.from);
    } finally {
      tracer.detach(vm);
    }
  }

  /** debug_traceCall: traces a call on top of `block`. */
  async traceCall(req: CallRequest, block: Block, tracer: Tracer): Promise<unknown> {
    const { vm } = await this.vmAt(block);
    tracer.attach(vm);
    try {
      // run as eth_call runs it (so a contract's address may be the sender, as in geth and anvil)
      const { exec, totalGasSpent } = await this.executeOn(vm, req, block);
      const tx = this.callTx(
        req,
        req.gas ?? this.callGasCap,
        createAddressFromString(req.from ?? ZERO_ADDRESS),
      );
      return tracer.result({ execResult: exec, totalGasSpent }, tx, req.from ?? ZERO_ADDRESS);
    } finally {
      tracer.detach(vm);
    }
  }
}

/** Open state checkpoints of a VM (-1 when the library hides the count: treated as unknown). */
function checkpointCount(vm: VM): number {
  const n = (vm.stateManager as unknown as { _checkpointCount?: unknown })._checkpointCount;
  return typeof n === "number" ? n : -1;
}

function toAccessList(req: CallRequest) {
  return (req.accessList ?? []).map((e) => ({
    address: e.address as `0x${string}`,
    storageKeys: e.storageKeys as `0x${string}`[],
  }));
}

async function applyOverrides(state: MerkleStateManager, overrides: StateOverrides): Promise<void> {
  await state.checkpoint();
  for (const [address, o] of Object.entries(overrides)) {
    const addr = createAddressFromString(address);
    const acct = (await state.getAccount(addr)) ?? new Account();
    if (o.balance !== undefined) acct.balance = o.balance;
    if (o.nonce !== undefined) acct.nonce = o.nonce;
    await state.putAccount(addr, acct);
    if (o.code !== undefined) await state.putCode(addr, o.code);
    if (o.state) {
      await state.clearStorage(addr);
      for (const [k, v] of Object.entries(o.state)) await putSlot(state, addr, k, v);
    }
    if (o.stateDiff) for (const [k, v] of Object.entries(o.stateDiff)) await putSlot(state, addr, k, v);
  }
  await state.commit();
}

async function putSlot(state: MerkleStateManager, addr: Address, key: string, value: string): Promise<void> {
  const v = hexToBytes(value as `0x${string}`);
  let start = 0;
  while (start < v.length && v[start] === 0) start++;
  await state.putStorage(addr, setLengthLeft(hexToBytes(key as `0x${string}`), 32), v.subarray(start));
}

/** Maps @ethereumjs runTx errors to the geth wording clients expect. */
function gethWording(message: string): string {
  if (/sender doesn't have enough funds|insufficient balance/i.test(message))
    return "insufficient funds for gas * price + value";
  if (
    /maxFeePerGas .*less than.*base fee|maxFeePerGas \(\d+\) is less than the block's baseFeePerGas/i.test(
      message,
    )
  ) {
    return "max fee per gas less than block base fee";
  }
  if (/gasLimit is too low|intrinsic/i.test(message)) return "intrinsic gas too low";
  // @ethereumjs appends "(vm hf=… -> block number=… tx hash=…)" to its messages
  return message
    .replace(/ \(vm hf=.*$/s, "")
    .replace(/ -> .*$/, "")
    .split(" (block number")[0];
}

/** A tracer for debug_traceTransaction / debug_traceCall. */
export interface Tracer {
  attach(vm: VM): void;
  detach(vm: VM): void;
  result(result: TracedResult, tx: TypedTransaction, from: string): unknown;
}

/** What a tracer reads of a run: the EVM's result and the gas a transaction would be charged. */
export type TracedResult = Pick<RunTxResult, "execResult" | "totalGasSpent">;

interface CallFrame {
  type: string;
  from: string;
  to?: string;
  value?: string;
  gas: string;
  gasUsed: string;
  input: string;
  output?: string;
  error?: string;
  revertReason?: string;
  calls?: CallFrame[];
  logs?: { address: string; topics: string[]; data: string; position: string }[];
}

/** geth's callTracer: the tree of calls with gas, input, output and errors. */
export class CallTracer implements Tracer {
  private stack: CallFrame[] = [];
  private root: CallFrame | undefined;
  private readonly onBefore = (msg: Message) => {
    const type =
      msg.isCreate || msg.to === undefined
        ? msg.salt
          ? "CREATE2"
          : "CREATE"
        : msg.delegatecall
          ? "DELEGATECALL"
          : msg.isStatic &&
              this.stack.length > 0 &&
              !this.stack[this.stack.length - 1].type.startsWith("STATIC")
            ? "STATICCALL"
            : "CALL";
    // A DELEGATECALL runs the implementation's code in the caller's context: geth reports the
    // calling contract as `from`, the code's address as `to` and the value it inherits.
    const frame: CallFrame = {
      type: msg.isStatic && type === "CALL" && this.stack.length > 0 ? "STATICCALL" : type,
      from: type === "DELEGATECALL" ? (msg.to?.toString() ?? "") : msg.caller.toString(),
      // A CREATE's `to` is the new contract, set once it exists (a failed CREATE has none).
      to:
        type === "DELEGATECALL"
          ? msg.codeAddress.toString()
          : type.startsWith("CREATE")
            ? undefined
            : msg.to?.toString(),
      value: type === "STATICCALL" ? undefined : quantity(msg.value),
      gas: quantity(msg.gasLimit),
      gasUsed: "0x0",
      input: bytesToHex(msg.data),
    };
    if (this.stack.length > 0) {
      const parent = this.stack[this.stack.length - 1];
      parent.calls = [...(parent.calls ?? []), frame];
    } else {
      this.root = frame;
    }
    this.stack.push(frame);
  };
  private readonly onAfter = (res: EVMResult) => {
    const frame = this.stack.pop();
    if (!frame) return;
    const exec = res.execResult;
    frame.gasUsed = quantity(exec.executionGasUsed);
    if (exec.returnValue.length > 0) frame.output = bytesToHex(exec.returnValue);
    if (res.createdAddress && !exec.exceptionError) frame.to = res.createdAddress.toString();
    if (exec.exceptionError) {
      frame.error = exec.exceptionError.error === "revert" ? "execution reverted" : exec.exceptionError.error;
      if (exec.exceptionError.error === "revert") {
        const reason = executionReverted(exec.returnValue).message.replace(/^execution reverted:? ?/, "");
        if (reason) frame.revertReason = reason;
      }
    }
  };

  /** SELFDESTRUCT is a frame of its own in geth's trace: the contract's balance to the beneficiary. */
  private readonly onStep = (step: InterpreterStep) => {
    if (step.opcode.name !== "SELFDESTRUCT" || this.stack.length === 0) return;
    const parent = this.stack[this.stack.length - 1];
    const beneficiary = step.stack[step.stack.length - 1] ?? 0n;
    parent.calls = [
      ...(parent.calls ?? []),
      {
        type: "SELFDESTRUCT",
        from: step.address.toString(),
        to: `0x${beneficiary.toString(16).padStart(40, "0").slice(-40)}`,
        value: quantity(step.account.balance),
        gas: "0x0",
        gasUsed: "0x0",
        input: "0x",
      },
    ];
  };

  constructor(private readonly config: { onlyTopCall?: boolean; withLog?: boolean } = {}) {}

  attach(vm: VM): void {
    vm.evm.events?.on("beforeMessage", this.onBefore);
    vm.evm.events?.on("afterMessage", this.onAfter);
    vm.evm.events?.on("step", this.onStep);
  }

  detach(vm: VM): void {
    vm.evm.events?.off("beforeMessage", this.onBefore);
    vm.evm.events?.off("afterMessage", this.onAfter);
    vm.evm.events?.off("step", this.onStep);
  }

  result(result: TracedResult, tx: TypedTransaction, from: string): unknown {
    const root = this.root ?? {
      type: tx.to ? "CALL" : "CREATE",
      from,
      to: tx.to?.toString(),
      value: quantity(tx.value),
      gas: quantity(tx.gasLimit),
      gasUsed: "0x0",
      input: bytesToHex(tx.data),
    };
    root.from = from.toLowerCase();
    // As geth: the top frame's gas is what execution got (the gas limit less the intrinsic gas),
    // its gasUsed what the whole transaction used.
    root.gasUsed = quantity(result.totalGasSpent);
    if (this.config.withLog) {
      root.logs = (result.execResult.logs ?? []).map(([address, topics, data], i) => ({
        address: bytesToHex(address),
        topics: topics.map((t) => bytesToHex(t)),
        data: bytesToHex(data),
        position: quantity(i),
      }));
    }
    if (this.config.onlyTopCall) delete root.calls;
    return root;
  }
}

/** geth's default struct logger (opcodes with gas, depth and stack). */
export class StructLogTracer implements Tracer {
  private logs: Record<string, unknown>[] = [];
  private readonly onStep = (step: InterpreterStep) => {
    if (this.logs.length >= 100_000) return;
    this.logs.push({
      pc: step.pc,
      op: step.opcode.name,
      gas: Number(step.gasLeft),
      gasCost: Number(BigInt(step.opcode.fee) + (step.opcode.dynamicFee ?? 0n)),
      depth: step.depth + 1,
      stack: this.config.disableStack ? undefined : step.stack.map((v) => quantity(v)),
    });
  };

  constructor(private readonly config: { disableStack?: boolean } = {}) {}

  attach(vm: VM): void {
    vm.evm.events?.on("step", this.onStep);
  }

  detach(vm: VM): void {
    vm.evm.events?.off("step", this.onStep);
  }

  result(result: TracedResult): unknown {
    return {
      gas: Number(result.totalGasSpent),
      failed: result.execResult.exceptionError !== undefined,
      returnValue: bytesToHex(result.execResult.returnValue).slice(2),
      structLogs: this.logs,
    };
  }
}

export { ZERO_ADDRESS };
