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
 * A synchronous interpreter for the common eth_call and eth_estimateGas: one frame of legacy code (a
 * token's balanceOf, allowance or transfer, a pool's getReserves, a view that hashes and loads slots).
 * It reproduces @ethereumjs/evm exactly for the opcodes it knows, gas, refunds and logs included (base
 * fees come from the EVM's own opcode table, so fork rules stay the library's), and gives up on
 * anything else: a CALL or CREATE of any kind, SELFDESTRUCT, BLOCKHASH, blob opcodes, EOF code. It
 * never writes the state manager (SSTOREs stay in the frame), so giving up leaves nothing to undo: the
 * caller runs the call on the EVM. @ethereumjs's interpreter awaits every opcode and allocates a few
 * hundred bytes per step; this loop awaits only for state reads.
 */
type EVMErrorMessage = ConstructorParameters<typeof EVMError>[0];

const M256 = (1n << 256n) - 1n;
const SIGN = 1n << 255n;
const ADDRESS_MASK = (1n << 160n) - 1n;
const EMPTY = new Uint8Array(0);
const KECCAK_EMPTY = wasmKeccak256(EMPTY);
/** Known-slow EIPs, or ones that change what an opcode here costs or does. */
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
  /** Slots of the recipient that the access list warms. */
  warmSlots: Set<bigint>;
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
  const run = new Frame(vm, p, table, call, code, toAddress);
  try {
    return await run.execute();
  } catch (err) {
    if (err !== GIVE_UP) throw err;
    if (known === undefined) gaveUp.set(code, new Set([selector]));
    else if (known.size >= GAVE_UP_SELECTORS) gaveUp.set(code, "all");
    else known.add(selector);
    return undefined;
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
  private readonly gasLimit: number;
  private readonly transient = new Map<bigint, bigint>();
  /** Slots this call wrote (the state keeps the values from before the call: the originals). */
  private readonly written = new Map<bigint, bigint>();
  /** Slots read from the state (the state manager's storage cache is an ordered map: slow to ask twice). */
  private readonly stored = new Map<bigint, bigint>();
  private refund = 0;
  private readonly logs: [Uint8Array, Uint8Array[], Uint8Array][] = [];
  private readonly warm: Set<bigint>;
  private readonly warmSlots: Set<bigint>;
  /** Balances after the call's value moved (runCall moves it before the code runs). */
  private readonly balances = new Map<bigint, bigint>();

  constructor(
    private readonly vm: VM,
    private readonly p: Params,
    private readonly table: OpcodeMap,
    private readonly call: FastCall,
    private readonly code: Uint8Array,
    private readonly toAddress: Address,
  ) {
    this.gasLimit = Number(call.gasLimit);
    this.gas = this.gasLimit;
    this.warm = call.warm;
    this.warmSlots = call.warmSlots;
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
    let cost = words * this.p.memory + Math.floor((words * words) / this.p.quad);
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

  /** A slot of the called contract as the state holds it (its value before this call). */
  private async storedValue(key: bigint): Promise<bigint> {
    let v = this.stored.get(key);
    if (v === undefined) {
      const value = await this.vm.stateManager.getStorage(this.toAddress, word32(key));
      v = value.length === 0 ? 0n : bytesToBigInt(value);
      this.stored.set(key, v);
    }
    return v;
  }

  /** As the interpreter's subRefund: the counter may not go below zero. */
  private subRefund(amount: number): void {
    this.refund -= amount;
    if (this.refund < 0) {
      this.refund = 0;
      throw new EVMError(EVMError.errorMessages.REFUND_EXHAUSTED);
    }
  }

  /** EIP-2929 access cost of an address, warming it. */
  private accessAddress(address: bigint): number {
    if (this.warm.has(address) || this.call.precompiles.has(address)) return this.p.warmRead;
    this.warm.add(address);
    return this.p.coldAccount;
  }

  private async balanceOf(address: bigint): Promise<bigint> {
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

  /** What runCall answers, or undefined when the EVM must give the answer. */
  async execute(): Promise<ExecResult | undefined> {
    if (this.call.value !== 0n && !(await this.movedValue())) return undefined;
    let returnValue: Uint8Array = EMPTY;
    let error: EVMError | undefined;
    try {
      returnValue = await this.loop();
    } catch (err) {
      if (!(err instanceof EVMError)) throw err;
      error = err;
      if (err.error === EVMError.errorMessages.REVERT) returnValue = this.revertData;
    }
    const reverted = error?.error === EVMError.errorMessages.REVERT;
    return {
      returnValue,
      executionGasUsed: BigInt(error && !reverted ? this.gasLimit : this.gasLimit - this.gas),
      // any failure, REVERT included, forfeits the refunds and the logs (as evm.runCall has it)
      gasRefund: error ? 0n : BigInt(this.refund),
      exceptionError: error,
      logs: error ? [] : this.logs,
    } as ExecResult;
  }

  private revertData: Uint8Array = EMPTY;

  /** Runs to STOP / RETURN (the return data), or throws an EVMError (REVERT with revertData set). */
  private async loop(): Promise<Uint8Array> {
    const { code, table, p, call } = this;
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
          this.push(call.to);
          break;
        case 0x31: {
          const address = this.peek(0) & ADDRESS_MASK;
          this.useGas(info.fee + this.accessAddress(address));
          this.pop();
          this.push(await this.balanceOf(address));
          break;
        }
        case 0x32:
        case 0x33:
          this.useGas(info.fee);
          this.push(call.caller);
          break;
        case 0x34:
          this.useGas(info.fee);
          this.push(call.value);
          break;
        case 0x35: {
          this.useGas(info.fee);
          const pos = this.pop();
          const data = call.data;
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
          this.push(BigInt(call.data.length));
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
          this.copyIn(op === 0x37 ? call.data : this.code, memOffset, srcOffset, length);
          break;
        }
        case 0x38:
          this.useGas(info.fee);
          this.push(BigInt(this.code.length));
          break;
        case 0x3a:
          this.useGas(info.fee);
          this.push(0n); // unpriced calls run at gas price 0
          break;
        case 0x3b:
        case 0x3f: {
          const address = this.peek(0) & ADDRESS_MASK;
          this.useGas(info.fee + this.accessAddress(address));
          this.pop();
          const target = createAddressFromBigInt(address);
          const state = this.vm.stateManager;
          const other = await state.getCode(target);
          if (other.length >= 2 && other[0] === 0xef && other[1] === 0x00) throw GIVE_UP;
          if (op === 0x3b) this.push(BigInt(other.length));
          else this.push(await this.codeHash(target, address));
          break;
        }
        case 0x3d:
          this.useGas(info.fee);
          this.push(0n); // no inner call has returned in this frame
          break;
        case 0x3e: {
          const memOffset = this.peek(0);
          const offset = this.peek(1);
          const length = this.peek(2);
          if (offset + length > 0n) throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
          this.useGas(info.fee + this.memCost(memOffset, length));
          this.pop();
          this.pop();
          this.pop();
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
          this.push(this.vm.common.chainId());
          break;
        case 0x47:
          this.useGas(info.fee);
          this.push(await this.balanceOf(call.to));
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
          if (this.warmSlots.has(key)) gas += p.warmRead;
          else {
            this.warmSlots.add(key);
            gas += p.coldSload;
          }
          this.useGas(gas);
          this.pop();
          this.push(this.written.get(key) ?? (await this.storedValue(key)));
          break;
        }
        case 0x55: {
          const s = p.sstore;
          if (s === null) throw GIVE_UP;
          const key = this.peek(0);
          const value = this.peek(1);
          const original = await this.storedValue(key);
          const current = this.written.get(key) ?? original;
          // EIP-2200's stipend sentry, then its schedule as EIP-2929 adjusts it (warmth as before this op)
          if (this.gas <= s.sentry) throw new EVMError(EVMError.errorMessages.OUT_OF_GAS);
          const warm = this.warmSlots.has(key);
          let gas = info.fee;
          if (current === value) gas += warm ? p.warmRead : s.noop;
          else if (original === current) {
            if (original === 0n) gas += s.init;
            else {
              if (value === 0n) this.refund += s.clearRefund;
              gas += s.clean;
            }
          } else {
            if (original !== 0n) {
              if (current === 0n) this.subRefund(s.clearRefund);
              else if (value === 0n) this.refund += s.clearRefund;
            }
            if (original === value) {
              if (original === 0n) this.refund += warm ? s.init - p.warmRead : s.initRefund;
              else this.refund += warm ? s.reset - p.coldSload - p.warmRead : s.cleanRefund;
            }
            gas += s.dirty;
          }
          if (!warm) {
            this.warmSlots.add(key);
            gas += p.coldSload;
          }
          this.useGas(gas);
          this.pop();
          this.pop();
          this.written.set(key, value);
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
            const where = `${bytesToHex(wasmKeccak256(code))}/0x${call.to.toString(16).padStart(40, "0")}:${pc - 1}`;
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
          this.push(this.transient.get(this.pop()) ?? 0n);
          break;
        }
        case 0x5d: {
          this.useGas(info.fee);
          const key = this.pop();
          this.transient.set(key, this.pop());
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
          this.logs.push([this.toAddress.bytes, words, data]);
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
        default:
          throw GIVE_UP;
      }
    }
    return EMPTY;
  }

  /** EXTCODEHASH: 0 for an absent or empty account, else its code hash. */
  private async codeHash(target: Address, address: bigint): Promise<bigint> {
    const account = await this.vm.stateManager.getAccount(target);
    // The sender's account exists during the call, even if it did not before: runDirectCall raised its nonce.
    if (address === this.call.caller) return bytesToBigInt(account?.codeHash ?? KECCAK_EMPTY);
    return account === undefined || account.isEmpty() ? 0n : bytesToBigInt(account.codeHash);
  }
}
