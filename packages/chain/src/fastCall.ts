import type { Block } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import { EVMError, type ExecResult } from "@ethereumjs/evm";
import {
  type Address,
  bigIntToBytes,
  bytesToBigInt,
  bytesToHex,
  createAddressFromBigInt,
} from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { wasmKeccak256 } from "./crypto.ts";

/**
 * A synchronous interpreter for the common eth_call and eth_estimateGas: legacy code that reads and
 * writes storage and calls other contracts with CALL (no value), DELEGATECALL and STATICCALL (a
 * token's balanceOf, allowance or transfer, a proxy in front of one, a pool's getReserves, a router's
 * quote over its pairs). It reproduces @ethereumjs/evm exactly for the opcodes it knows, gas, refunds
 * and logs included (base fees come from the EVM's own opcode table, so fork rules stay the
 * library's), and gives up on anything else: a CALL with value, CALLCODE, CREATE of any kind,
 * SELFDESTRUCT, BLOCKHASH, blob opcodes, EOF or delegated code, a precompile as target. It never writes
 * the state manager (SSTOREs stay in the call), so giving up leaves nothing to undo: the caller runs
 * the call on the EVM. @ethereumjs's interpreter awaits every opcode and allocates a few hundred bytes
 * per step; this loop awaits only for state reads.
 */
type EVMErrorMessage = ConstructorParameters<typeof EVMError>[0];

const M256 = (1n << 256n) - 1n;
const SIGN = 1n << 255n;
const ADDRESS_MASK = (1n << 160n) - 1n;
const EMPTY = new Uint8Array(0);
const KECCAK_EMPTY = wasmKeccak256(EMPTY);
/**
 * EIPs that change what an opcode here costs or does (EOF, Verkle and binary-tree witnesses, block
 * access lists, EIP-8024's immediates, state gas, EIP-2780's call costs): while one is active the EVM
 * runs every call.
 */
const UNSUPPORTED_EIPS = [3540, 6800, 7864, 7928, 8024, 8037, 8038, 2780];
/** Calls with more gas go to the EVM (gas is counted in doubles here, and memory stays allocatable). */
const MAX_GAS = 1n << 32n;
/** Memory reaching past this costs more than MAX_GAS (2^26 words: 2^43 gas), so it is out of gas. */
const MAX_MEMORY = 2n ** 31n;

interface OpInfo {
  fee: number;
  isInvalid: boolean;
}
type OpcodeMap = { opcodeInfo: OpInfo }[];

/** Gas parameters as numbers: every amount here stays below 2^53 (gas limits up to MAX_GAS). */
interface Params {
  memory: number;
  quad: number;
  keccakWord: number;
  copy: number;
  expByte: number;
  coldAccount: number;
  warmRead: number;
  coldSload: number;
  logTopic: number;
  logData: number;
  /** EIP-2200's SSTORE schedule (Istanbul and later), or null: SSTORE then goes to the EVM. */
  sstore: {
    sentry: number;
    noop: number;
    init: number;
    clean: number;
    dirty: number;
    reset: number;
    clearRefund: number;
    initRefund: number;
    cleanRefund: number;
  } | null;
  prevRandao: boolean;
  clz: boolean;
}
const paramsByCommon = new WeakMap<Common, Params | null>();

function params(common: Common): Params | null {
  let p = paramsByCommon.get(common);
  if (p !== undefined) return p;
  const on = (eip: number) => common.isActivatedEIP(eip);
  p =
    UNSUPPORTED_EIPS.some(on) || !on(2929) || !on(1153) || !on(5656) || !on(3855)
      ? null
      : {
          memory: Number(common.param("memoryGas")),
          quad: Number(common.param("quadCoefficientDivGas")),
          keccakWord: Number(common.param("keccak256WordGas")),
          copy: Number(common.param("copyGas")),
          expByte: Number(common.param("expByteGas")),
          coldAccount: Number(common.param("coldaccountaccessGas")),
          warmRead: Number(common.param("warmstoragereadGas")),
          coldSload: Number(common.param("coldsloadGas")),
          logTopic: Number(common.param("logTopicGas")),
          logData: Number(common.param("logDataGas")),
          sstore:
            common.gteHardfork("istanbul") && common.hardfork() !== "constantinople"
              ? {
                  sentry: Number(common.param("sstoreSentryEIP2200Gas")),
                  noop: Number(common.param("sstoreNoopEIP2200Gas")),
                  init: Number(common.param("sstoreInitEIP2200Gas")),
                  clean: Number(common.param("sstoreCleanEIP2200Gas")),
                  dirty: Number(common.param("sstoreDirtyEIP2200Gas")),
                  reset: Number(common.param("sstoreResetGas")),
                  clearRefund: Number(common.param("sstoreClearRefundEIP2200Gas")),
                  initRefund: Number(common.param("sstoreInitRefundEIP2200Gas")),
                  cleanRefund: Number(common.param("sstoreCleanRefundEIP2200Gas")),
                }
              : null,
          prevRandao: on(4399),
          clz: on(7939),
        };
  paramsByCommon.set(common, p);
  return p;
}

/** A stack word as 32 big-endian bytes. */
function word32(v: bigint): Uint8Array {
  const out = new Uint8Array(32);
  const raw = bigIntToBytes(v);
  out.set(raw, 32 - raw.length);
  return out;
}

/** A code's JUMPDESTs and the value of each PUSH (by its position; zero-padded past the end). */
interface Analysis {
  jumps: Uint8Array;
  pushes: bigint[];
}
/** Analyses by code array (the node's state reads hand back the same array for the same code). */
const analyses = new WeakMap<Uint8Array, Analysis>();

function analyse(code: Uint8Array): Analysis {
  let a = analyses.get(code);
  if (a) return a;
  a = { jumps: new Uint8Array(code.length), pushes: [] };
  for (let i = 0; i < code.length; i++) {
    const op = code[i];
    if (op >= 0x60 && op <= 0x7f) {
      const n = op - 0x5f;
      let hex = "0x";
      for (let k = 1; k <= n; k++) hex += (code[i + k] ?? 0).toString(16).padStart(2, "0");
      a.pushes[i] = BigInt(hex);
      i += n;
    } else if (op === 0x5b) a.jumps[i] = 1;
  }
  analyses.set(code, a);
  return a;
}

/**
 * Code (by array) and 4-byte selector for which the fast path gave up: those go to the EVM at once.
 * Past GAVE_UP_SELECTORS selectors a code is given up whole (callers choose the selectors: a hostile
 * one sending random ones to a contract whose fallback calls out must not grow the set).
 */
const gaveUp = new WeakMap<Uint8Array, Set<number> | "all">();
const GAVE_UP_SELECTORS = 64;

function selectorOf(data: Uint8Array): number {
  return data.length >= 4 ? ((data[0] << 24) | (data[1] << 16) | (data[2] << 8) | data[3]) >>> 0 : -1;
}

/** Thrown inside the loop when the call needs something this interpreter does not do. */
class GiveUp {}
const GIVE_UP = new GiveUp();

export interface FastCall {
  caller: bigint;
  to: bigint;
  value: bigint;
  data: Uint8Array;
  /** Gas for execution (the transaction's limit less its intrinsic gas). */
  gasLimit: bigint;
  block: Block;
  /** The EVM's precompile addresses (warm in every call; a call to one goes to the EVM). */
  precompiles: ReadonlySet<bigint>;
  /** Other addresses warm before execution (sender, recipient, coinbase, access list). */
  warm: Set<bigint>;
  /** Slots the access list warms, by address. */
  warmSlots: Map<bigint, Set<bigint>>;
}

/**
 * Runs `call` when it can, answering what `evm.runCall` would put in `execResult`; undefined (having
 * read state only) when the EVM must run it. The VM's state must already hold the call's pre-state.
 */
export async function runFastCall(vm: VM, call: FastCall): Promise<ExecResult | undefined> {
  const p = params(vm.common);
  const table = (vm.evm as unknown as { _opcodeMap?: OpcodeMap })._opcodeMap;
  if (p === null || !table || call.gasLimit > MAX_GAS) return undefined;
  const events = vm.evm.events;
  if (events && events.eventNames().length > 0) return undefined;
  const state = vm.stateManager;
  const toAddress = createAddressFromBigInt(call.to);
  const code = await state.getCode(toAddress);
  if (code.length === 0) return undefined;
  if (code[0] === 0xef) return undefined; // EOF container or EIP-7702 delegation
  if (call.precompiles.has(call.to)) return undefined;
  const selector = selectorOf(call.data);
  const known = gaveUp.get(code);
  if (known === "all" || known?.has(selector)) return undefined;
  const tx = new Tx(vm, p, table, call);
  try {
    return await tx.execute(code, toAddress);
  } catch (err) {
    if (err !== GIVE_UP) throw err;
    if (known === undefined) gaveUp.set(code, new Set([selector]));
    else if (known.size >= GAVE_UP_SELECTORS) gaveUp.set(code, "all");
    else known.add(selector);
    return undefined;
  }
}

/** A frame's context: whose code runs, for whom, with what. */
interface FrameEnv {
  address: bigint;
  account: Address;
  caller: bigint;
  value: bigint;
  data: Uint8Array;
  code: Uint8Array;
  gasLimit: number;
  /** A STATICCALL's frame, or one below it: no state may change. */
  isStatic: boolean;
  depth: number;
}

/** The most frames deep a call may go (@ethereumjs's stackLimit param, 1024 in every fork). */
const MAX_DEPTH = 1024;

/**
 * What the frames of one call share: the warm sets, storage read and written, transient storage,
 * balances after the call's value moved, logs and the refund counter. An inner frame that fails takes
 * back what it changed (EIP-2929's warm sets included): changes are journaled as undo steps, and logs
 * and refunds return to their marks.
 */
class Tx {
  readonly warm: Set<bigint>;
  readonly warmSlots: Map<bigint, Set<bigint>>;
  /** Undo steps of the warm sets, storage writes and transient writes, in order. */
  readonly journal: (() => void)[] = [];
  /** Slots written during the call, by contract (the state keeps the values from before: the originals). */
  readonly written = new Map<bigint, Map<bigint, bigint>>();
  /** Slots read from the state, by contract (the state manager's storage cache is slow to ask twice). */
  readonly stored = new Map<bigint, Map<bigint, bigint>>();
  readonly transient = new Map<bigint, Map<bigint, bigint>>();
  /** Balances after the call's value moved (runCall moves it before the code runs). */
  readonly balances = new Map<bigint, bigint>();
  readonly logs: [Uint8Array, Uint8Array[], Uint8Array][] = [];
  refund = 0;

  constructor(
    readonly vm: VM,
    readonly p: Params,
    readonly table: OpcodeMap,
    readonly call: FastCall,
  ) {
    this.warm = call.warm;
    this.warmSlots = call.warmSlots;
  }

  /** EIP-2929 access cost of an address, warming it. */
  accessAddress(address: bigint): number {
    if (this.warm.has(address) || this.call.precompiles.has(address)) return this.p.warmRead;
    this.warm.add(address);
    this.journal.push(() => this.warm.delete(address));
    return this.p.coldAccount;
  }

  isWarmSlot(address: bigint, key: bigint): boolean {
    return this.warmSlots.get(address)?.has(key) ?? false;
  }

  warmSlot(address: bigint, key: bigint): void {
    let set = this.warmSlots.get(address);
    if (!set) this.warmSlots.set(address, (set = new Set()));
    set.add(key);
    this.journal.push(() => set.delete(key));
  }

  /** Writes a slot (storage or transient) of `address` in `maps`, journaled. */
  write(maps: Map<bigint, Map<bigint, bigint>>, address: bigint, key: bigint, value: bigint): void {
    let slots = maps.get(address);
    if (!slots) maps.set(address, (slots = new Map()));
    const before = slots.get(key);
    slots.set(key, value);
    const written = slots;
    this.journal.push(() => (before === undefined ? written.delete(key) : written.set(key, before)));
  }

  /** Where the shared state stands, for `revertTo`. */
  mark(): { journal: number; logs: number; refund: number } {
    return { journal: this.journal.length, logs: this.logs.length, refund: this.refund };
  }

  /** Takes back what a failed inner frame changed since `m`. */
  revertTo(m: { journal: number; logs: number; refund: number }): void {
    while (this.journal.length > m.journal) (this.journal.pop() as () => void)();
    this.logs.length = m.logs;
    this.refund = m.refund;
  }

  /** A slot as the state holds it (its value before this call). */
  async storedValue(account: Address, address: bigint, key: bigint): Promise<bigint> {
    let byKey = this.stored.get(address);
    if (!byKey) this.stored.set(address, (byKey = new Map()));
    let v = byKey.get(key);
    if (v === undefined) {
      const value = await this.vm.stateManager.getStorage(account, word32(key));
      v = value.length === 0 ? 0n : bytesToBigInt(value);
      byKey.set(key, v);
    }
    return v;
  }

  /** A slot as this call sees it: what it wrote, else what the state holds. */
  async slotValue(account: Address, address: bigint, key: bigint): Promise<bigint> {
    return this.written.get(address)?.get(key) ?? (await this.storedValue(account, address, key));
  }

  async balanceOf(address: bigint): Promise<bigint> {
    const known = this.balances.get(address);
    if (known !== undefined) return known;
    const account = await this.vm.stateManager.getAccount(createAddressFromBigInt(address));
    return account?.balance ?? 0n;
  }

  /**
   * The balances once runCall has moved the value (runDirectCall raised the sender's balance to it
   * first); false when the recipient's would pass 2^256 - 1, which runCall answers with
   * "value overflow" before any code runs: that answer is left to the EVM.
   */
  private async movedValue(): Promise<boolean> {
    const { caller, to, value } = this.call;
    const from = await this.balanceOf(caller);
    // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.max takes numbers
    const after = (from < value ? value : from) - value;
    const target = caller === to ? after : await this.balanceOf(to);
    if (target + value > M256) return false;
    this.balances.set(caller, after);
    this.balances.set(to, target + value);
    return true;
  }

  /** What runCall answers for the top frame running `code`, or undefined when the EVM must answer. */
  async execute(code: Uint8Array, account: Address): Promise<ExecResult | undefined> {
    const { call } = this;
    if (call.value !== 0n && !(await this.movedValue())) return undefined;
    const gasLimit = Number(call.gasLimit);
    const env: FrameEnv = {
      address: call.to,
      account,
      caller: call.caller,
      value: call.value,
      data: call.data,
      code,
      gasLimit,
      isStatic: false,
      depth: 0,
    };
    const { out, error, gasUsed } = await new Frame(this, env).run();
    return {
      returnValue: out,
      executionGasUsed: BigInt(gasUsed),
      // any failure, REVERT included, forfeits the refunds and the logs (as evm.runCall has it)
      gasRefund: error ? 0n : BigInt(this.refund),
      exceptionError: error,
      logs: error ? [] : this.logs,
    } as ExecResult;
  }
}

class Frame {
  private readonly stack: bigint[] = [];
  private sp = 0;
  private mem = new Uint8Array(1024);
  private view = new DataView(this.mem.buffer);
  private memWords = 0;
  private highestMemCost = 0;
  private gas: number;
  /** What the last inner call returned (RETURNDATASIZE, RETURNDATACOPY). */
  private returnData: Uint8Array = EMPTY;

  constructor(
    private readonly tx: Tx,
    private readonly env: FrameEnv,
  ) {
    this.gas = env.gasLimit;
  }

  private push(v: bigint): void {
    if (this.sp >= 1024) throw new EVMError(EVMError.errorMessages.STACK_OVERFLOW);
    this.stack[this.sp++] = v;
  }

  private pop(): bigint {
    if (this.sp === 0) throw new EVMError(EVMError.errorMessages.STACK_UNDERFLOW);
    return this.stack[--this.sp];
  }

  /** The n-th item from the top (0: top), as the gas handlers' peek: underflow if absent. */
  private peek(n: number): bigint {
    if (this.sp <= n) throw new EVMError(EVMError.errorMessages.STACK_UNDERFLOW);
    return this.stack[this.sp - 1 - n];
  }

  private useGas(amount: number): void {
    this.gas -= amount;
    if (this.gas < 0) {
      this.gas = 0;
      throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
    }
  }

  /** @ethereumjs's subMemUsage: the gas to grow memory to cover [offset, offset+length). */
  private memCost(offset: bigint, length: bigint): number {
    if (length === 0n) return 0;
    const end = offset + length;
    if (end > MAX_MEMORY) throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
    const words = Math.ceil(Number(end) / 32);
    if (words <= this.memWords) return 0;
    let cost = words * this.tx.p.memory + Math.floor((words * words) / this.tx.p.quad);
    if (cost > this.highestMemCost) {
      const before = this.highestMemCost;
      this.highestMemCost = cost;
      cost -= before;
    }
    this.memWords = words;
    return cost;
  }

  /** Makes the buffer cover the charged words (called after the gas for them was taken). */
  private ensureMem(): void {
    const need = this.memWords * 32;
    if (need <= this.mem.length) return;
    let size = this.mem.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.mem);
    this.mem = grown;
    this.view = new DataView(grown.buffer);
  }

  private readWord(offset: number): bigint {
    const v = this.view;
    return (
      (v.getBigUint64(offset) << 192n) |
      (v.getBigUint64(offset + 8) << 128n) |
      (v.getBigUint64(offset + 16) << 64n) |
      v.getBigUint64(offset + 24)
    );
  }

  private writeWord(offset: number, w: bigint): void {
    const v = this.view;
    v.setBigUint64(offset, w >> 192n);
    v.setBigUint64(offset + 8, w >> 128n);
    v.setBigUint64(offset + 16, w >> 64n);
    v.setBigUint64(offset + 24, w);
  }

  /** Copies `length` bytes of `src` from `srcOffset` (zero past its end) into memory at `memOffset`. */
  private copyIn(src: Uint8Array, memOffset: bigint, srcOffset: bigint, length: bigint): void {
    if (length === 0n) return;
    const dst = Number(memOffset);
    const n = Number(length);
    const start = srcOffset < BigInt(src.length) ? Number(srcOffset) : src.length;
    const avail = Math.min(n, src.length - start);
    if (avail > 0) this.mem.set(src.subarray(start, start + avail), dst);
    this.mem.fill(0, dst + Math.max(avail, 0), dst + n);
  }

  /** As the interpreter's subRefund: the counter may not go below zero. */
  private subRefund(amount: number): void {
    this.tx.refund -= amount;
    if (this.tx.refund < 0) {
      this.tx.refund = 0;
      throw new EVMError(EVMError.errorMessages.REFUND_EXHAUSTED);
    }
  }

  /** Runs the frame: its output (RETURN's or REVERT's data), its error, and the gas it used. */
  async run(): Promise<{ out: Uint8Array; error?: EVMError; gasUsed: number }> {
    try {
      const out = await this.loop();
      return { out, gasUsed: this.env.gasLimit - this.gas };
    } catch (err) {
      if (!(err instanceof EVMError)) throw err;
      if (err.error === EVMError.errorMessages.REVERT)
        return { out: this.revertData, error: err, gasUsed: this.env.gasLimit - this.gas };
      return { out: EMPTY, error: err, gasUsed: this.env.gasLimit };
    }
  }

  private revertData: Uint8Array = EMPTY;

  /** Runs to STOP / RETURN (the return data), or throws an EVMError (REVERT with revertData set). */
  private async loop(): Promise<Uint8Array> {
    const { tx, env } = this;
    const { code } = env;
    const { table, p, call } = tx;
    const header = call.block.header;
    const { jumps, pushes } = analyse(code);
    let pc = 0;
    while (pc < code.length) {
      const op = code[pc];
      const info = table[op].opcodeInfo;
      if (info.isInvalid) throw new EVMError(EVMError.errorMessages.INVALID_OPCODE);
      if (op >= 0x60 && op <= 0x7f) {
        this.useGas(info.fee);
        this.push(pushes[pc]);
        pc += op - 0x5e;
        continue;
      }
      if (op >= 0x80 && op <= 0x8f) {
        this.useGas(info.fee);
        this.push(this.peek(op - 0x80));
        pc++;
        continue;
      }
      if (op >= 0x90 && op <= 0x9f) {
        this.useGas(info.fee);
        const n = op - 0x8f;
        if (this.sp <= n) throw new EVMError(EVMError.errorMessages.STACK_UNDERFLOW);
        const top = this.sp - 1;
        const t = this.stack[top];
        this.stack[top] = this.stack[top - n];
        this.stack[top - n] = t;
        pc++;
        continue;
      }
      pc++;
      switch (op) {
        case 0x00:
          return EMPTY;
        case 0x01: {
          this.useGas(info.fee);
          this.push((this.pop() + this.pop()) & M256);
          break;
        }
        case 0x02: {
          this.useGas(info.fee);
          this.push((this.pop() * this.pop()) & M256);
          break;
        }
        case 0x03: {
          this.useGas(info.fee);
          const a = this.pop();
          const b = this.pop();
          this.push((a - b) & M256);
          break;
        }
        case 0x04: {
          this.useGas(info.fee);
          const a = this.pop();
          const b = this.pop();
          this.push(b === 0n ? 0n : a / b);
          break;
        }
        case 0x05: {
          this.useGas(info.fee);
          const a = BigInt.asIntN(256, this.pop());
          const b = BigInt.asIntN(256, this.pop());
          this.push(b === 0n ? 0n : BigInt.asUintN(256, a / b));
          break;
        }
        case 0x06: {
          this.useGas(info.fee);
          const a = this.pop();
          const b = this.pop();
          this.push(b === 0n ? 0n : a % b);
          break;
        }
        case 0x07: {
          this.useGas(info.fee);
          const a = BigInt.asIntN(256, this.pop());
          const b = BigInt.asIntN(256, this.pop());
          this.push(b === 0n ? 0n : BigInt.asUintN(256, a % b));
          break;
        }
        case 0x08: {
          this.useGas(info.fee);
          const a = this.pop();
          const b = this.pop();
          const n = this.pop();
          this.push(n === 0n ? 0n : (a + b) % n);
          break;
        }
        case 0x09: {
          this.useGas(info.fee);
          const a = this.pop();
          const b = this.pop();
          const n = this.pop();
          this.push(n === 0n ? 0n : (a * b) % n);
          break;
        }
        case 0x0a: {
          const exponent = this.peek(1);
          let gas = info.fee;
          if (exponent !== 0n) gas += Math.ceil(exponent.toString(2).length / 8) * p.expByte;
          this.useGas(gas);
          let base = this.pop();
          let e = this.pop();
          let r = 1n;
          while (e > 0n) {
            if (e & 1n) r = (r * base) & M256;
            base = (base * base) & M256;
            e >>= 1n;
          }
          this.push(r);
          break;
        }
        case 0x0b: {
          this.useGas(info.fee);
          const k = this.pop();
          let x = this.pop();
          if (k < 31n) {
            const bits = (k + 1n) * 8n;
            x = BigInt.asUintN(256, BigInt.asIntN(Number(bits), x));
          }
          this.push(x);
          break;
        }
        case 0x10:
        case 0x11:
        case 0x12:
        case 0x13:
        case 0x14: {
          this.useGas(info.fee);
          const a = this.pop();
          const b = this.pop();
          let r: boolean;
          if (op === 0x10) r = a < b;
          else if (op === 0x11) r = a > b;
          else if (op === 0x12) r = BigInt.asIntN(256, a) < BigInt.asIntN(256, b);
          else if (op === 0x13) r = BigInt.asIntN(256, a) > BigInt.asIntN(256, b);
          else r = a === b;
          this.push(r ? 1n : 0n);
          break;
        }
        case 0x15: {
          this.useGas(info.fee);
          this.push(this.pop() === 0n ? 1n : 0n);
          break;
        }
        case 0x16: {
          this.useGas(info.fee);
          this.push(this.pop() & this.pop());
          break;
        }
        case 0x17: {
          this.useGas(info.fee);
          this.push(this.pop() | this.pop());
          break;
        }
        case 0x18: {
          this.useGas(info.fee);
          this.push(this.pop() ^ this.pop());
          break;
        }
        case 0x19: {
          this.useGas(info.fee);
          this.push(this.pop() ^ M256);
          break;
        }
        case 0x1a: {
          this.useGas(info.fee);
          const i = this.pop();
          const x = this.pop();
          this.push(i >= 32n ? 0n : (x >> (248n - i * 8n)) & 0xffn);
          break;
        }
        case 0x1b: {
          this.useGas(info.fee);
          const s = this.pop();
          const x = this.pop();
          this.push(s >= 256n ? 0n : (x << s) & M256);
          break;
        }
        case 0x1c: {
          this.useGas(info.fee);
          const s = this.pop();
          const x = this.pop();
          this.push(s >= 256n ? 0n : x >> s);
          break;
        }
        case 0x1d: {
          this.useGas(info.fee);
          const s = this.pop();
          const x = this.pop();
          if (s >= 256n) this.push(x & SIGN ? M256 : 0n);
          else this.push(BigInt.asUintN(256, BigInt.asIntN(256, x) >> s));
          break;
        }
        case 0x1e: {
          if (!p.clz) throw GIVE_UP;
          this.useGas(info.fee);
          const x = this.pop();
          this.push(x === 0n ? 256n : BigInt(256 - x.toString(2).length));
          break;
        }
        case 0x20: {
          const offset = this.peek(0);
          const length = this.peek(1);
          const mem = this.memCost(offset, length);
          this.useGas(info.fee + mem + p.keccakWord * Math.ceil(Number(length) / 32));
          this.pop();
          this.pop();
          this.ensureMem();
          const o = Number(offset);
          const data = length === 0n ? EMPTY : this.mem.subarray(o, o + Number(length));
          this.push(bytesToBigInt(wasmKeccak256(data)));
          break;
        }
        case 0x30:
          this.useGas(info.fee);
          this.push(env.address);
          break;
        case 0x31: {
          const address = this.peek(0) & ADDRESS_MASK;
          this.useGas(info.fee + tx.accessAddress(address));
          this.pop();
          this.push(await tx.balanceOf(address));
          break;
        }
        case 0x32:
          this.useGas(info.fee);
          this.push(call.caller); // the transaction's origin
          break;
        case 0x33:
          this.useGas(info.fee);
          this.push(env.caller);
          break;
        case 0x34:
          this.useGas(info.fee);
          this.push(env.value);
          break;
        case 0x35: {
          this.useGas(info.fee);
          const pos = this.pop();
          const data = env.data;
          if (pos < BigInt(data.length)) {
            const i = Number(pos);
            const word = new Uint8Array(32);
            word.set(data.subarray(i, i + 32));
            const w = new DataView(word.buffer);
            this.push(
              (w.getBigUint64(0) << 192n) |
                (w.getBigUint64(8) << 128n) |
                (w.getBigUint64(16) << 64n) |
                w.getBigUint64(24),
            );
          } else this.push(0n);
          break;
        }
        case 0x36:
          this.useGas(info.fee);
          this.push(BigInt(env.data.length));
          break;
        case 0x37:
        case 0x39: {
          const memOffset = this.peek(0);
          const length = this.peek(2);
          let gas = info.fee + this.memCost(memOffset, length);
          if (length !== 0n) gas += p.copy * Math.ceil(Number(length) / 32);
          this.useGas(gas);
          this.pop();
          const srcOffset = this.pop();
          this.pop();
          this.ensureMem();
          this.copyIn(op === 0x37 ? env.data : code, memOffset, srcOffset, length);
          break;
        }
        case 0x38:
          this.useGas(info.fee);
          this.push(BigInt(code.length));
          break;
        case 0x3a:
          this.useGas(info.fee);
          this.push(0n); // unpriced calls run at gas price 0
          break;
        case 0x3b:
        case 0x3f: {
          const address = this.peek(0) & ADDRESS_MASK;
          this.useGas(info.fee + tx.accessAddress(address));
          this.pop();
          const target = createAddressFromBigInt(address);
          const state = tx.vm.stateManager;
          const other = await state.getCode(target);
          if (other.length >= 2 && other[0] === 0xef && other[1] === 0x00) throw GIVE_UP;
          if (op === 0x3b) this.push(BigInt(other.length));
          else this.push(await this.codeHash(target, address));
          break;
        }
        case 0x3d:
          this.useGas(info.fee);
          this.push(BigInt(this.returnData.length));
          break;
        case 0x3e: {
          const memOffset = this.peek(0);
          const offset = this.peek(1);
          const length = this.peek(2);
          if (offset + length > BigInt(this.returnData.length))
            throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
          let gas = info.fee + this.memCost(memOffset, length);
          if (length !== 0n) gas += p.copy * Math.ceil(Number(length) / 32);
          this.useGas(gas);
          this.pop();
          this.pop();
          this.pop();
          this.ensureMem();
          this.copyIn(this.returnData, memOffset, offset, length);
          break;
        }
        case 0x41:
          this.useGas(info.fee);
          this.push(bytesToBigInt(header.coinbase.bytes));
          break;
        case 0x42:
          this.useGas(info.fee);
          this.push(header.timestamp);
          break;
        case 0x43:
          this.useGas(info.fee);
          this.push(header.number);
          break;
        case 0x44:
          this.useGas(info.fee);
          this.push(p.prevRandao ? bytesToBigInt(header.prevRandao) : header.difficulty);
          break;
        case 0x45:
          this.useGas(info.fee);
          this.push(header.gasLimit);
          break;
        case 0x46:
          this.useGas(info.fee);
          this.push(tx.vm.common.chainId());
          break;
        case 0x47:
          this.useGas(info.fee);
          this.push(await tx.balanceOf(env.address));
          break;
        case 0x48:
          this.useGas(info.fee);
          this.push(header.baseFeePerGas ?? 0n);
          break;
        case 0x50:
          this.useGas(info.fee);
          this.pop();
          break;
        case 0x51: {
          const offset = this.peek(0);
          this.useGas(info.fee + this.memCost(offset, 32n));
          this.pop();
          this.ensureMem();
          this.push(this.readWord(Number(offset)));
          break;
        }
        case 0x52: {
          const offset = this.peek(0);
          this.useGas(info.fee + this.memCost(offset, 32n));
          this.pop();
          const v = this.pop();
          this.ensureMem();
          this.writeWord(Number(offset), v);
          break;
        }
        case 0x53: {
          const offset = this.peek(0);
          this.useGas(info.fee + this.memCost(offset, 1n));
          this.pop();
          const v = this.pop();
          this.ensureMem();
          this.mem[Number(offset)] = Number(v & 0xffn);
          break;
        }
        case 0x54: {
          const key = this.peek(0);
          let gas = info.fee;
          if (tx.isWarmSlot(env.address, key)) gas += p.warmRead;
          else {
            tx.warmSlot(env.address, key);
            gas += p.coldSload;
          }
          this.useGas(gas);
          this.pop();
          this.push(await tx.slotValue(env.account, env.address, key));
          break;
        }
        case 0x55: {
          const s = p.sstore;
          if (s === null) throw GIVE_UP;
          if (env.isStatic) throw new EVMError(EVMError.errorMessages.STATIC_STATE_CHANGE);
          const key = this.peek(0);
          const value = this.peek(1);
          const original = await tx.storedValue(env.account, env.address, key);
          const current = tx.written.get(env.address)?.get(key) ?? original;
          // EIP-2200's stipend sentry, then its schedule as EIP-2929 adjusts it (warmth as before this op)
          if (this.gas <= s.sentry) throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
          const warm = tx.isWarmSlot(env.address, key);
          let gas = info.fee;
          if (current === value) gas += warm ? p.warmRead : s.noop;
          else if (original === current) {
            if (original === 0n) gas += s.init;
            else {
              if (value === 0n) tx.refund += s.clearRefund;
              gas += s.clean;
            }
          } else {
            if (original !== 0n) {
              if (current === 0n) this.subRefund(s.clearRefund);
              else if (value === 0n) tx.refund += s.clearRefund;
            }
            if (original === value) {
              if (original === 0n) tx.refund += warm ? s.init - p.warmRead : s.initRefund;
              else tx.refund += warm ? s.reset - p.coldSload - p.warmRead : s.cleanRefund;
            }
            gas += s.dirty;
          }
          if (!warm) {
            tx.warmSlot(env.address, key);
            gas += p.coldSload;
          }
          this.useGas(gas);
          this.pop();
          this.pop();
          tx.write(tx.written, env.address, key, value);
          break;
        }
        case 0x56:
        case 0x57: {
          this.useGas(info.fee);
          const dest = this.pop();
          const cond = op === 0x57 ? this.pop() : 1n;
          if (cond === 0n) break;
          if (dest >= BigInt(code.length) || jumps[Number(dest)] !== 1) {
            // worded as @ethereumjs words it: code hash, address and the jump's position
            const where = `${bytesToHex(wasmKeccak256(code))}/0x${env.address.toString(16).padStart(40, "0")}:${pc - 1}`;
            throw new EVMError(`${EVMError.errorMessages.INVALID_JUMP} at ${where}` as EVMErrorMessage);
          }
          pc = Number(dest);
          break;
        }
        case 0x58:
          this.useGas(info.fee);
          this.push(BigInt(pc - 1));
          break;
        case 0x59:
          this.useGas(info.fee);
          this.push(BigInt(this.memWords * 32));
          break;
        case 0x5a:
          this.useGas(info.fee);
          this.push(BigInt(this.gas));
          break;
        case 0x5b:
          this.useGas(info.fee);
          break;
        case 0x5c: {
          this.useGas(info.fee);
          const key = this.pop();
          this.push(tx.transient.get(env.address)?.get(key) ?? 0n);
          break;
        }
        case 0x5d: {
          this.useGas(info.fee);
          if (env.isStatic) throw new EVMError(EVMError.errorMessages.STATIC_STATE_CHANGE);
          const key = this.pop();
          tx.write(tx.transient, env.address, key, this.pop());
          break;
        }
        case 0x5e: {
          const dst = this.peek(0);
          const src = this.peek(1);
          const length = this.peek(2);
          this.useGas(
            info.fee +
              3 * Math.ceil(Number(length) / 32) +
              this.memCost(src, length) +
              this.memCost(dst, length),
          );
          this.pop();
          this.pop();
          this.pop();
          if (length !== 0n) {
            this.ensureMem();
            const s = Number(src);
            this.mem.copyWithin(Number(dst), s, s + Number(length));
          }
          break;
        }
        case 0x5f:
          this.useGas(info.fee);
          this.push(0n);
          break;
        case 0xa0:
        case 0xa1:
        case 0xa2:
        case 0xa3:
        case 0xa4: {
          if (env.isStatic) throw new EVMError(EVMError.errorMessages.STATIC_STATE_CHANGE);
          const offset = this.peek(0);
          const length = this.peek(1);
          const topics = op - 0xa0;
          this.useGas(
            info.fee + this.memCost(offset, length) + p.logTopic * topics + Number(length) * p.logData,
          );
          this.pop();
          this.pop();
          const words: Uint8Array[] = [];
          for (let i = 0; i < topics; i++) words.push(word32(this.pop()));
          this.ensureMem();
          const o = Number(offset);
          const data = length === 0n ? new Uint8Array(0) : this.mem.slice(o, o + Number(length));
          tx.logs.push([env.account.bytes, words, data]);
          break;
        }
        case 0xf3:
        case 0xfd: {
          const offset = this.peek(0);
          const length = this.peek(1);
          this.useGas(info.fee + this.memCost(offset, length));
          this.pop();
          this.pop();
          this.ensureMem();
          const o = Number(offset);
          const out = length === 0n ? EMPTY : this.mem.slice(o, o + Number(length));
          if (op === 0xf3) return out;
          this.revertData = out;
          throw new EVMError(EVMError.errorMessages.REVERT);
        }
        case 0xf1:
        case 0xf4:
        case 0xfa:
          await this.innerCall(op, info.fee);
          break;
        default:
          throw GIVE_UP;
      }
    }
    return EMPTY;
  }

  /**
   * CALL without value, DELEGATECALL and STATICCALL as @ethereumjs runs them: memory for input and
   * output, the target's EIP-2929 access (warm from then on), all but a 64th of what is left (EIP-150)
   * capped by the gas asked for, the inner frame's gas used charged after it, its return data kept on
   * success or revert and written up to the output length, its changes taken back if it fails. A CALL
   * with value, a precompile, delegated (EIP-7702) or EOF-prefixed target goes to the EVM.
   */
  private async innerCall(op: number, fee: number): Promise<void> {
    const { tx, env } = this;
    const withValue = op === 0xf1; // CALL's stack has a value after the target
    const asked = this.peek(0);
    const target = this.peek(1) & ADDRESS_MASK;
    if (withValue && this.peek(2) !== 0n) throw GIVE_UP;
    const at = withValue ? 3 : 2;
    const inOffset = this.peek(at);
    const inLength = this.peek(at + 1);
    const outOffset = this.peek(at + 2);
    const outLength = this.peek(at + 3);
    let gas = fee + this.memCost(inOffset, inLength) + this.memCost(outOffset, outLength);
    gas += tx.accessAddress(target);
    if (tx.call.precompiles.has(target)) throw GIVE_UP;
    const targetAccount = createAddressFromBigInt(target);
    const code = await tx.vm.stateManager.getCode(targetAccount);
    if (code[0] === 0xef) throw GIVE_UP;
    if (gas > this.gas) throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
    const left = this.gas - gas;
    const allowed = left - Math.floor(left / 64);
    const inner = asked < BigInt(allowed) ? Number(asked) : allowed;
    this.useGas(gas);
    for (let i = 0; i < at + 4; i++) this.pop();
    this.ensureMem();
    const data = inLength === 0n ? EMPTY : this.mem.slice(Number(inOffset), Number(inOffset + inLength));
    this.returnData = EMPTY;
    if (env.depth >= MAX_DEPTH) {
      this.push(0n);
      return;
    }
    let ok = true;
    if (code.length > 0) {
      const mark = tx.mark();
      const delegate = op === 0xf4;
      const frame = new Frame(tx, {
        // DELEGATECALL runs the target's code in this frame's context (address, caller, value)
        address: delegate ? env.address : target,
        account: delegate ? env.account : targetAccount,
        caller: delegate ? env.caller : env.address,
        value: delegate ? env.value : 0n,
        data,
        code,
        gasLimit: inner,
        isStatic: op === 0xfa || env.isStatic,
        depth: env.depth + 1,
      });
      const { out, error, gasUsed } = await frame.run();
      this.useGas(gasUsed);
      ok = error === undefined;
      if (ok || error?.error === EVMError.errorMessages.REVERT) this.returnData = out;
      if (!ok) tx.revertTo(mark);
    }
    const n = Math.min(Number(outLength), this.returnData.length);
    if (n > 0) this.mem.set(this.returnData.subarray(0, n), Number(outOffset));
    this.push(ok ? 1n : 0n);
  }

  /** EXTCODEHASH: 0 for an absent or empty account, else its code hash. */
  private async codeHash(target: Address, address: bigint): Promise<bigint> {
    const account = await this.tx.vm.stateManager.getAccount(target);
    // The sender's account exists during the call, even if it did not before: runDirectCall raised its nonce.
    if (address === this.tx.call.caller) return bytesToBigInt(account?.codeHash ?? KECCAK_EMPTY);
    return account === undefined || account.isEmpty() ? 0n : bytesToBigInt(account.codeHash);
  }
}
