// fastCall.ts against @ethereumjs's EVM on the same calls: seeded random programs (arithmetic at the
// 256-bit edges, memory growth and its gas, hashing, storage reads and writes (every EIP-2200 case and
// its refunds), transient storage, logs, balances, code sizes
// and hashes of warm and cold accounts, the sender's own account, jumps valid and not, stack under-
// and overflow, out of gas at every point, RETURN/REVERT/STOP/INVALID, opcodes it leaves to the EVM)
// run once through each, on the same state, and the return data, error, gas used, refund, logs and
// charged gas must be equal. Most must take the fast path, or the comparison would prove nothing.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Block } from "@ethereumjs/block";
import { Account, bytesToHex, createAddressFromString, hexToBytes } from "@ethereumjs/util";
import type { VM } from "@ethereumjs/vm";
import { devAccounts } from "@openledger/common";
import { SeededRandom } from "@openledger/common/prng";
import { type DirectCallResult, runDirectCall } from "../src/directCall.ts";
import type { CallRequest } from "../src/execution.ts";
import { Executor } from "../src/execution.ts";
import { startTestNode } from "./helpers.ts";

const TARGET = "0x00000000000000000000000000000000000c0de1";
const OTHER = "0x00000000000000000000000000000000000c0de2";
const FUNDED = "0x00000000000000000000000000000000000f0001";
const ABSENT = "0x00000000000000000000000000000000000a0000";
/**
 * Contracts the programs call with CALL, DELEGATECALL or STATICCALL (code by address): one that returns what it sees (caller, own
 * address, value, calldata, a slot, gas, own balance, origin, transient slot 0); one that reverts with
 * data; ones that warm an account and a slot and then fail or succeed; one that calls the caller back;
 * ones that change state (log, transient write, storage write: refused in a static frame), and ones
 * that write and then revert or return what they wrote.
 */
const CALLEES: [string, string][] = [
  [
    "0x00000000000000000000000000000000000ca110",
    "0x335f5230602052346040525f3560605260015460805260a05a905247" +
      "60c0523260e0525f5c61010052595f5f5f5f5f5f" +
      "5050505050506101205ff3",
  ],
  ["0x00000000000000000000000000000000000ca111", "0x63deadbeef5f526004601cfd"],
  ["0x00000000000000000000000000000000000ca112", "0x620f01023150600754505f3515601157fe5b5a5f5260205ff3"],
  ["0x00000000000000000000000000000000000ca113", "0x620f010231506007545060206000f3"],
  ["0x00000000000000000000000000000000000ca114", "0x602060006000600060003361fffffa5f3d5f5f3e3d5ff3"],
  ["0x00000000000000000000000000000000000ca115", "0x5f5fa000"],
  ["0x00000000000000000000000000000000000ca116", "0x60015f5d00"],
  ["0x00000000000000000000000000000000000ca117", "0x6001600055"],
  // write a slot, a transient slot and a log, then revert, or return what they wrote
  ["0x00000000000000000000000000000000000ca118", "0x60055f55600660015d60075f5fa15f5ffd"],
  [
    "0x00000000000000000000000000000000000ca119",
    "0x60055f55600660015d60075f5fa15f545f5260015c60205260405ff3",
  ],
  // clear slot 0 (a refund), then revert or stop
  ["0x00000000000000000000000000000000000ca11a", "0x5f5f555f5ffd"],
  ["0x00000000000000000000000000000000000ca11b", "0x5f5f5500"],
  // CALL (no value) a writing callee and return whether it succeeded (not in a static frame)
  ["0x00000000000000000000000000000000000ca11c", "0x5f5f5f5f5f620ca11761fffff15f5260205ff3"],
  // the same by DELEGATECALL
  ["0x00000000000000000000000000000000000ca11d", "0x5f5f5f5f620ca11761fffff45f5260205ff3"],
  // return CODESIZE (under DELEGATECALL: this code's size, not the caller's)
  ["0x00000000000000000000000000000000000ca11e", "0x385f5260205ff3"],
];

/** An account that exists and is empty (EXTCODEHASH 0), one with EOF-prefixed code, one delegated (EIP-7702). */
const EMPTY_ACCOUNT = "0x00000000000000000000000000000000000e0000";
const EOF_CODE = "0x00000000000000000000000000000000000e0f00";
const DELEGATED = "0x00000000000000000000000000000000000de1e9";
const hex = (n: bigint, bytes: number) => n.toString(16).padStart(bytes * 2, "0");

/** Opcodes the fast path runs, with the stack items each takes and leaves (for the generator). */
const SIMPLE: [number, number, number][] = [
  ...[0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13, 0x14].map(
    (op): [number, number, number] => [op, 2, 1],
  ),
  ...[0x16, 0x17, 0x18, 0x1a, 0x1b, 0x1c, 0x1d].map((op): [number, number, number] => [op, 2, 1]),
  [0x08, 3, 1],
  [0x09, 3, 1],
  [0x15, 1, 1],
  [0x19, 1, 1],
  [0x1e, 1, 1],
  [0x35, 1, 1],
  [0x50, 1, 0],
  [0x5c, 1, 1],
  [0x5d, 2, 0],
  [0x5b, 0, 0],
  ...[0x30, 0x32, 0x33, 0x34, 0x36, 0x38, 0x3a, 0x3d, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48].map(
    (op): [number, number, number] => [op, 0, 1],
  ),
  ...[0x58, 0x59, 0x5a, 0x5f].map((op): [number, number, number] => [op, 0, 1]),
];
/**
 * Opcodes left to the EVM (the fast path must give up on them and change nothing): BLOCKHASH,
 * EXTCODECOPY, BLOBHASH, BLOBBASEFEE, CREATE, CALLCODE, CREATE2, SELFDESTRUCT.
 */
const LEFT_TO_EVM = [0x40, 0x3c, 0x49, 0x4a, 0xf0, 0xf2, 0xf5, 0xff];

/** Where programs log the values they compute (returned at the end, so every logged value is compared). */
const LOG_BASE = 0x1000;

class Program {
  bytes: number[] = [];
  logged = 0;
  /** Positions of PUSH2 placeholders to patch with a JUMPDEST position (or garbage). */
  jumps: { at: number; valid: boolean }[] = [];
  dests: number[] = [];
  op(...b: number[]) {
    this.bytes.push(...b);
  }
  /** DUP1 PUSH2 slot MSTORE: the top of the stack, kept, also written to the log. */
  log() {
    const at = LOG_BASE + 32 * this.logged++;
    this.op(0x80, 0x61, at >> 8, at & 0xff, 0x52);
  }
  push(v: bigint) {
    if (v === 0n && this.bytes.length % 3 === 0) return this.op(0x5f);
    const n = Math.max(1, Math.ceil(v.toString(16).length / 2));
    this.op(0x5f + n, ...hexToBytes(`0x${hex(v, n)}`));
  }
}

/** A memory op with its arguments: MSTORE(8), MLOAD, KECCAK256, MCOPY, CALLDATACOPY, CODECOPY, LOG0-4, RETURNDATACOPY. */
function memoryOp(
  p: Program,
  rand: SeededRandom,
  value: () => bigint,
  offset: () => bigint,
  length: () => bigint,
): void {
  const m = rand.int(9);
  if (m <= 1) {
    p.push(value());
    p.push(offset());
    p.op(m === 0 ? 0x52 : 0x53);
  } else if (m === 2) {
    p.push(offset());
    p.op(0x51);
    p.op(0x50);
  } else if (m === 3) {
    p.push(length());
    p.push(offset());
    p.op(0x20);
    p.op(0x50);
  } else if (m <= 6) {
    p.push(length());
    p.push(offset());
    p.push(offset());
    p.op([0x5e, 0x37, 0x39][m - 4]);
  } else if (m === 7) {
    const topics = rand.int(5);
    for (let t = 0; t < topics; t++) p.push(value());
    p.push(length());
    p.push(offset());
    p.op(0xa0 + topics);
  } else {
    p.push(BigInt(rand.int(3) === 0 ? 1 : 0));
    p.push(BigInt(rand.int(2)));
    p.push(offset());
    p.op(0x3e);
  }
}

function generate(rand: SeededRandom, addresses: bigint[]): { code: Uint8Array; gas: bigint } {
  const p = new Program();
  const edge = [0n, 1n, 2n, 31n, 32n, 255n, 256n, 2n ** 255n, 2n ** 255n - 1n, 2n ** 256n - 1n, 2n ** 128n];
  const value = (): bigint => {
    const k = rand.int(6);
    if (k === 0) return edge[rand.int(edge.length)];
    if (k === 1) return BigInt(rand.int(70));
    if (k === 2) return addresses[rand.int(addresses.length)];
    if (k === 3) return 2n ** 256n - BigInt(rand.int(5)) - 1n;
    let v = 0n;
    for (let i = 0; i < 1 + rand.int(32); i++) v = (v << 8n) | BigInt(rand.int(256));
    return v;
  };
  const offset = () => BigInt(rand.int(5) === 0 ? rand.int(4000) : rand.int(200));
  const length = () => BigInt(rand.int(6) === 0 ? rand.int(600) : rand.int(70));
  // The stack depth the straight-line code would have: ops mostly get the items they take.
  let depth = 0;
  const need = (n: number) => {
    for (; depth < n; depth++) p.push(value());
  };
  const steps = 5 + rand.int(60);
  for (let s = 0; s < steps; s++) {
    const rare = rand.int(1000);
    const k = rand.int(93);
    if (rare < 4)
      p.op(rand.int(256)); // any byte: invalid opcodes, truncated pushes
    else if (rare < 12) p.op(LEFT_TO_EVM[rand.int(LEFT_TO_EVM.length)]);
    else if (rare < 14) p.op(0xfe);
    else if (rare < 16)
      p.op(...new Array(1030).fill(0x5f)); // stack overflow
    else if (k < 20) {
      p.push(value());
      depth++;
    } else if (k < 55) {
      const [op, takes, leaves] = SIMPLE[rand.int(SIMPLE.length)];
      if (rand.int(50) !== 0) need(takes);
      if (op === 0x5b) p.dests.push(p.bytes.length);
      p.op(op);
      depth = Math.max(0, depth - takes) + leaves;
      if (leaves > 0 && rand.int(3) !== 0) p.log();
    } else if (k < 62) {
      const n = 1 + rand.int(16);
      if (rand.int(50) !== 0) need(n);
      p.op(0x7f + n);
      depth++;
    } else if (k < 68) {
      const n = 1 + rand.int(16);
      if (rand.int(50) !== 0) need(n + 1);
      p.op(0x8f + n);
    } else if (k < 76) memoryOp(p, rand, value, offset, length);
    else if (k < 79) {
      // SSTORE to a set or unset slot: zero, the value it had, or another (every EIP-2200 case)
      const slotValues = [0n, 0n, 1n, 2n, BigInt(rand.int(1000)), 2n ** 256n - 1n];
      p.push(slotValues[rand.int(slotValues.length)]);
      p.push(BigInt(rand.int(6)));
      p.op(0x55);
    } else if (k < 82) {
      // state: SLOAD of a set or unset slot, BALANCE / EXTCODESIZE / EXTCODEHASH of known accounts
      const which = rand.int(4);
      p.push(which === 0 ? BigInt(rand.int(6)) : addresses[rand.int(addresses.length)]);
      p.op([0x54, 0x31, 0x3b, 0x3f][which]);
      depth++;
      p.log();
    } else if (k < 86) {
      // CALL, DELEGATECALL or STATICCALL: a callee, the caller itself, an account without code, a
      // precompile, or anything
      const targets = [...CALLEES.map(([a]) => BigInt(a)), BigInt(TARGET), BigInt(ABSENT), 1n, 4n];
      const gasAsked = [0n, 100n, BigInt(rand.int(30_000)), 2n ** 256n - 1n, 2n ** 64n];
      const op = [0xfa, 0xf1, 0xf4][rand.int(3)];
      const outOffset = offset();
      p.push(BigInt(rand.int(3) === 0 ? rand.int(0x140) : rand.int(0x40))); // output length
      p.push(outOffset);
      p.push(length());
      p.push(offset());
      if (op === 0xf1) p.push(rand.int(8) === 0 ? BigInt(1 + rand.int(100)) : 0n); // CALL's value
      p.push(rand.int(12) === 0 ? addresses[rand.int(addresses.length)] : targets[rand.int(targets.length)]);
      p.push(gasAsked[rand.int(gasAsked.length)]);
      p.op(op);
      depth++;
      p.log();
      if (rand.int(2) === 0) {
        // what came back, as the output region holds it
        p.push(outOffset);
        p.op(0x51);
        p.log();
        depth++;
      }
      if (rand.int(2) === 0) {
        // slot 0 and transient slot 1, which the writing callees change (here too, by DELEGATECALL)
        p.push(0n);
        p.op(0x54);
        p.log();
        p.push(1n);
        p.op(0x5c);
        p.log();
        depth += 2;
      }
      if (rand.int(2) === 0) {
        p.op(0x3d); // RETURNDATASIZE
        p.log();
        depth++;
      }
      if (rand.int(3) === 0) {
        // RETURNDATACOPY within the data or past its end
        p.push(BigInt(rand.int(0x30)));
        p.push(BigInt(rand.int(0x30)));
        p.push(offset());
        p.op(0x3e);
      }
    } else if (k < 90) {
      // a jump forward to a JUMPDEST (or a bad destination), conditional or not
      const conditional = rand.int(2) === 0;
      if (conditional) p.push(BigInt(rand.int(2)));
      p.jumps.push({ at: p.bytes.length + 1, valid: rand.int(5) !== 0 });
      p.op(0x61, 0, 0, conditional ? 0x57 : 0x56);
      for (let i = rand.int(4); i > 0; i--) p.op(0x01);
      p.dests.push(p.bytes.length);
      p.op(0x5b);
      depth = 0;
    } else {
      p.op(0x01); // an ADD that may underflow
      depth = Math.max(0, depth - 1);
    }
  }
  // Ends: RETURN or REVERT of a memory range, STOP, or running off the end.
  const end = rand.int(6);
  if (end === 5) {
    // the whole memory: every byte any op or callee wrote there is compared
    p.op(0x59, 0x5f, 0xf3);
  } else if (end === 4 || (end < 2 && rand.int(2) === 0)) {
    // GAS and MSIZE, then the log
    p.op(0x5a);
    p.log();
    p.op(0x59);
    p.log();
    p.push(BigInt(32 * p.logged));
    p.push(BigInt(LOG_BASE));
    p.op(end === 1 ? 0xfd : 0xf3);
  } else if (end < 2) {
    p.push(length());
    p.push(offset());
    p.op(end === 0 ? 0xf3 : 0xfd);
  } else if (end === 2) p.op(0x00);
  for (const j of p.jumps) {
    const later = p.dests.filter((d) => d > j.at);
    const dest = j.valid && later.length > 0 ? later[rand.int(later.length)] : rand.int(p.bytes.length + 2);
    p.bytes[j.at] = dest >> 8;
    p.bytes[j.at + 1] = dest & 0xff;
  }
  const gasChoices = [
    30_000n,
    3_000n,
    100_000n,
    BigInt(100 + rand.int(5000)),
    1_000_000n,
    200_000n,
    500_000n,
  ];
  return { code: Uint8Array.from(p.bytes), gas: gasChoices[rand.int(gasChoices.length)] };
}

/** Edges the generator rarely reaches: the stack limit exactly, truncated pushes, PC and MSIZE. */
/** An edge program: its code, its execution gas, and the call's value and access list if any. */
type Fixed = string | [string, bigint] | [string, bigint, Pick<CallRequest, "value" | "accessList">];
const CA110 = "0x00000000000000000000000000000000000ca110";
const FIXED: Fixed[] = [
  // from a second review: a callee's slot warmed by the access list (2,000 gas less for its SLOAD)
  [
    "0x60405f5f5f7300000000000000000000000000000000000ca11061fffffa5060405ff3",
    100_000n,
    { accessList: [{ address: CA110, storageKeys: [`0x${"00".repeat(31)}01`] }] },
  ],
  // the top frame writes slot 3 and transient slot 5, then calls itself back (value 5): the inner frame
  // reads both, its own balance and its value (0)
  [
    "0x36601c576007600355600960055d60805f60015f305afa5060805ff35b6003545f5260055c602052476040523460605260805ff3",
    100_000n,
    { value: 5n },
  ],
  // return data (4 bytes of a revert) shorter than the output region: the rest of it stays as it was
  "0x5f195f525f1960205260405f5f5f7300000000000000000000000000000000000ca1115afa5060405ff3",
  // DELEGATECALL to callees that write slot 0, transient slot 1 and a log in this contract's context,
  // then revert (all taken back) or return; then this frame reads slot 0 and transient slot 1
  "0x5f5f5f5f620ca11861fffff4505f545f5260015c60205260405ff3",
  "0x5f5f5f5f620ca11961fffff4505f545f5260015c60205260405ff3",
  // a delegated callee clears slot 0 (a refund) and reverts (the refund goes), or stops (it stays)
  "0x5f5f5f5f620ca11a61fffff45000",
  "0x5f5f5f5f620ca11b61fffff45000",
  // DELEGATECALL keeps this call's caller and value (5) in the callee's frame
  ["0x60605f5f5f620ca11061fffff45060605ff3", 100_000n, { value: 5n }],
  // a STATICCALL's callee CALLs a writing contract: the static frame is inherited, the write fails
  "0x60205f5f5f620ca11c61fffffa5060205ff3",
  // from a third review: the same through DELEGATECALL; a CALL to an account without code (1);
  // CODESIZE in a DELEGATECALL frame; everything a CALLed callee sees (its own balance, the origin)
  // while the call carries a value
  "0x60205f5f5f620ca11d61fffffa5060205ff3",
  "0x5f5f5f5f5f620a000061fffff15f5260205ff3",
  "0x60205f5f5f620ca11e61fffff45060205ff3",
  ["0x6101005f5f5f5f620ca11061fffff1506101005ff3", 100_000n, { value: 5n }],
  // RETURNDATACOPY from offset 0x20 of the callee's answer (its own address)
  "0x5f5f5f5f7300000000000000000000000000000000000ca1105afa50602060206101003e6020610100f3",
  // SSTORE of a slot's own value, warm (100 gas), with exactly 2,300 gas left: EIP-2200's sentry fails it
  ["0x5f54805f5500", 2106n + 2300n],
  ["0x5f54805f5500", 2106n + 2301n],
  "0x7f00800000000000000000000000000000000000000000000000000000000000ff601e0b60005260206000f3", // SIGNEXTEND at byte 30
  `0xef0100${OTHER.slice(2)}`, // the called account is delegated (EIP-7702)
  "0xef0001", // EOF-prefixed code
  // a callee that warms an account and a slot and fails (the warmth goes with it), then succeeds and
  // returns its gas left after the same accesses, cold again
  "0x60015f525f5f60205f620ca11261fffffa50602060806020604062" + "0ca11261fffffa5060206080f3",
  `0x${"5f".repeat(1024)}00`, // 1,024 items: allowed
  `0x${"5f".repeat(1025)}00`, // 1,025: stack overflow
  `0x${"5f".repeat(1023)}8000`, // DUP1 to the limit
  `0x${"5f".repeat(1024)}8000`, // DUP1 past it
  "0x61ffff5952596000526020600052600a6000f3", // MSIZE after growing to 0x10020
  "0x585860005260206000f3", // PC
  "0x600160ff0b60005260206000f3", // SIGNEXTEND at byte 255 (k >= 31)
  "0x60ff601f0b60005260206000f3", // SIGNEXTEND at byte 31
  "0x7fff000000000000000000000000000000000000000000000000000000000000ff601e1a60005260206000f3", // BYTE 30
  "0x7f8000000000000000000000000000000000000000000000000000000000000000600f1d60005260206000f3", // SAR of a negative
  "0x6001600003600260000305600052602060005ff3", // SDIV of negatives
  "0x60036000036002600003076000526020600052602060005ff3", // SMOD of negatives
  "0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff80600509600052602060005ff3", // MULMOD wide
  "0x600a60225d60225c60005260206000f3", // TSTORE then TLOAD
  "0x601f3560005260206000f3", // CALLDATALOAD near the end of the data
  "0x60106000600c3760206000f3", // CALLDATACOPY past the data: zero filled
  "0x7f" + "11".repeat(32) + "600052602060106010" + "39" + "60406000f3", // CODECOPY over stale memory
  "0x60016001600e3e00", // RETURNDATACOPY offset 1 length 0... then 1: fails
  "0x6000600160003e00", // RETURNDATACOPY offset 1 length 0
  "0x333f60005260206000f3", // EXTCODEHASH of the sender
  "0x3331600052473060205260406000f3", // the sender's and own balance
  "0x6000316000525a60205260406000f3", // BALANCE of the zero address (coinbase: warm) and GAS
  "0x61000131505a60005260206000f3", // BALANCE of 0x0001 (precompile: warm) and GAS
  "0x620f000131505a60005260206000f3", // BALANCE of a cold account and GAS
  "0x60015a60015460005260205260406000f3", // SLOAD of a warm-listed or cold slot, GAS
  "0x61ff00600a60a260205260206000f3", // LOG2 gas
  "0x6040602060005e5a60005260206000f3", // MCOPY gas
  "0x7f8000000000000000000000000000000000000000000000000000000000000001" + "1e60005260206000f3", // CLZ
  "0x601c600a0a60005260206000f3", // EXP gas and value
  "0x6001",
];

describe("the fast eth_call interpreter", () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let vm: VM;
  let head: Block;

  before(async () => {
    node = await startTestNode();
    head = node.node.head;
    ({ vm } = await new Executor(node.node).vmAt(head));
  });

  after(async () => {
    await node?.close();
  });

  async function attempt(req: CallRequest, gas: bigint, fast: boolean) {
    const state = vm.stateManager;
    await state.checkpoint();
    try {
      const r = (await runDirectCall(vm, req, head, gas, fast)) as DirectCallResult;
      const e = r.evm.execResult;
      return {
        fast: r.fast,
        out: {
          returnValue: bytesToHex(e.returnValue),
          error: e.exceptionError?.error,
          gasUsed: e.executionGasUsed,
          refund: e.gasRefund ?? 0n,
          total: r.totalGasSpent,
          logs: JSON.stringify(
            (e.logs ?? []).map(([a, t, d]) => [bytesToHex(a), t.map((x) => bytesToHex(x)), bytesToHex(d)]),
          ),
        },
      };
    } finally {
      await state.revert();
    }
  }

  test("code put at a precompile's address (a state override can) does not run: the precompile does", async () => {
    const state = vm.stateManager;
    const sha256 = createAddressFromString("0x0000000000000000000000000000000000000002");
    await state.checkpoint();
    try {
      await state.putCode(sha256, hexToBytes("0x602a60005260206000f3"));
      const req: CallRequest = { to: "0x0000000000000000000000000000000000000002", data: hexToBytes("0x01") };
      const fast = await attempt(req, 100_000n, true);
      const slow = await attempt(req, 100_000n, false);
      assert.equal(fast.fast, false);
      assert.deepEqual(fast.out, slow.out);
      assert.notEqual(slow.out.returnValue, `0x${"00".repeat(31)}2a`);
    } finally {
      await state.revert();
    }
  });

  test("seeded random programs give what the EVM gives", { timeout: 120_000 }, async () => {
    const rand = new SeededRandom(0xfa57ca11);
    const state = vm.stateManager;
    const coinbase = BigInt(head.header.coinbase.toString());
    const senders = [devAccounts[0].address, devAccounts[1].address, TARGET, ABSENT, OTHER];
    const addresses = [
      ...senders.map((a) => BigInt(a)),
      BigInt(FUNDED),
      coinbase,
      1n,
      0x0an,
      0n,
      (1n << 160n) | 1n, // the high bits above an address are ignored
      BigInt(EMPTY_ACCOUNT),
      BigInt(EOF_CODE),
      BigInt(DELEGATED),
    ];
    await state.checkpoint();
    await state.putCode(createAddressFromString(OTHER), hexToBytes("0x6001600055"));
    for (const [address, code] of CALLEES) {
      const callee = createAddressFromString(address);
      await state.putCode(callee, hexToBytes(code as `0x${string}`));
      const slot = new Uint8Array(32);
      slot[31] = 1;
      await state.putStorage(callee, slot, hexToBytes("0x2a"));
    }
    const funded = createAddressFromString(FUNDED);
    await state.modifyAccountFields(funded, { balance: 10n ** 18n });
    await state.putAccount(createAddressFromString(EMPTY_ACCOUNT), new Account());
    await state.putCode(createAddressFromString(EOF_CODE), hexToBytes("0xef000101000400"));
    await state.putCode(createAddressFromString(DELEGATED), hexToBytes(`0xef0100${OTHER.slice(2)}`));
    let fastRuns = 0;
    const N = 1500;
    try {
      for (let i = 0; i < N + FIXED.length; i++) {
        const fixed = i < FIXED.length ? FIXED[i] : undefined;
        const { code, gas } =
          fixed === undefined
            ? generate(rand, addresses)
            : typeof fixed === "string"
              ? { code: hexToBytes(fixed as `0x${string}`), gas: 100_000n }
              : { code: hexToBytes(fixed[0] as `0x${string}`), gas: fixed[1] };
        const fixedCall = Array.isArray(fixed) ? fixed[2] : undefined;
        await state.checkpoint();
        try {
          const target = createAddressFromString(TARGET);
          await state.putCode(target, code);
          for (let s = 0; s < 3; s++) {
            const slot = new Uint8Array(32);
            slot[31] = s;
            await state.putStorage(target, slot, hexToBytes(`0x${hex(BigInt(1 + rand.int(2)), 2)}`));
          }
          // now and then a recipient so rich that the call's value would overflow its balance
          if (fixed === undefined && rand.int(25) === 0)
            await state.modifyAccountFields(target, { balance: 2n ** 256n - 1n - BigInt(rand.int(3)) });
          // the edge programs run from an absent sender, with no data, and a value or access list only
          // where they say (their gas is exact)
          const data = fixed
            ? new Uint8Array()
            : Uint8Array.from({ length: rand.int(80) }, () => rand.int(256));
          const req: CallRequest = {
            from: fixed ? ABSENT : rand.int(5) === 0 ? undefined : senders[rand.int(senders.length)],
            to: TARGET,
            data,
            value: fixed ? fixedCall?.value : rand.int(4) === 0 ? BigInt(rand.int(1000)) : undefined,
            accessList: fixed
              ? fixedCall?.accessList
              : rand.int(4) === 0
                ? [
                    { address: TARGET, storageKeys: [`0x${hex(BigInt(rand.int(4)), 32)}`] },
                    { address: FUNDED, storageKeys: [] },
                    // a callee's slot (its SLOAD inside a STATICCALL is then warm)
                    { address: CA110, storageKeys: [`0x${hex(1n, 32)}`] },
                  ]
                : undefined,
          };
          const accessListGas = req.accessList
            ? req.accessList.reduce((g, e) => g + 2400n + 1900n * BigInt(e.storageKeys.length), 0n)
            : 0n;
          const limit = gas + 21_000n + 40n * BigInt(data.length) + accessListGas;
          const fast = await attempt(req, limit, true);
          const slow = await attempt(req, limit, false);
          assert.equal(slow.fast, false);
          assert.deepEqual(
            fast.out,
            slow.out,
            `program ${i}: ${bytesToHex(code)} ${JSON.stringify(req, (_, v) => (typeof v === "bigint" ? String(v) : v instanceof Uint8Array ? bytesToHex(v) : v))}`,
          );
          if (fast.fast) fastRuns++;
        } finally {
          await state.revert();
        }
      }
    } finally {
      await state.revert();
    }
    assert.ok(fastRuns > N / 2, `only ${fastRuns} of ${N} programs took the fast path`);
  });
});
