// eth_call on the EVM directly (directCall.ts) against the same call through runTx: a seeded mix of
// calls (token reads and writes, reverts with custom errors, strings and panics, out of gas around the
// boundary and intrinsic gas around its minimum, calls with value, to precompiles and EOAs, contract
// creation, access lists, state overrides, senders with and without code, an older block) runs through
// both, and the return data, error, gas used, refund and logs must be equal, and so must every refusal.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import type { Block } from "@ethereumjs/block";
import type { ExecResult } from "@ethereumjs/evm";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import { devAccounts } from "@openledger/common";
import { SeededRandom } from "@openledger/common/prng";
import { type Abi, encodeDeployData, encodeFunctionData, getContractAddress, type Hex } from "viem";
import { createChainCommon } from "../src/chainConfig.ts";
import { type CallRequest, Executor, type StateOverrides } from "../src/execution.ts";
import type { PrecompileDefinition } from "../src/index.ts";
import { compileProbe, rpc, startTestNode, waitReceipt } from "./helpers.ts";

const require = createRequire(import.meta.url);
const EIP3607 = "invalid sender address, address is not EOA (EIP-3607)";
const erc20Abi = (require("@uniswap/v2-periphery/build/ERC20.json") as { abi: Abi }).abi;
const common = createChainCommon(1337n);
const THROWER = "0x0000000000000000000000000000000000000f01";

/** A precompile whose run throws out of the EVM: both paths must word it the same way. */
const thrower: PrecompileDefinition = {
  address: THROWER,
  name: "thrower",
  gas: () => 100n,
  run(input) {
    if (input[0] === 1) throw new Error("injected: precompile bug");
    return input;
  },
};

/** mulberry32: the same calls on every run. (an integer in [0, n) a draw) */
function prng(seed: number): (n: number) => number {
  const random = new SeededRandom(seed);
  return (n) => random.int(n);
}

/**
 * Runtime code that returns 32-byte words of what a call can observe about its context: gas left,
 * the caller's balance and code hash (runTx's sender write), address, origin, gas price, coinbase's
 * balance and the gas a cold or warm access of it cost, self balance, value, number, base fee, gas
 * limit, chain id, and the gas of touching precompile 0x01 (warm from the start).
 */
const OBSERVER: Hex = (() => {
  const ops = [
    "5a", // GAS
    "3331", // CALLER BALANCE
    "333f", // CALLER EXTCODEHASH
    "30", // ADDRESS
    "32", // ORIGIN
    "3a", // GASPRICE
    "5a4131505a90", // GAS COINBASE BALANCE POP GAS SWAP1 -> leaves the gas before, below the gas after
    "47", // SELFBALANCE
    "34", // CALLVALUE
    "43", // NUMBER
    "48", // BASEFEE
    "45", // GASLIMIT
    "46", // CHAINID
    "5a600131505a", // GAS PUSH1 1 BALANCE POP GAS
    "5a3031505a90", // GAS ADDRESS BALANCE POP GAS SWAP1: the recipient's own warmth
  ];
  let code = "";
  let words = 0;
  for (const op of ops) {
    code += op;
    // Store every word the op left on the stack.
    const left = op.length > 4 ? 2 : 1;
    for (let i = 0; i < left; i++) code += `61${(words++ * 32).toString(16).padStart(4, "0")}52`;
  }
  return `0x${code}61${(words * 32).toString(16).padStart(4, "0")}5ff3`;
})();

/** Init code that deploys `runtime` (CODECOPY of the bytes after it, RETURN). */
function initFor(runtime: Hex): Hex {
  const len = (runtime.length - 2) / 2;
  const l = len.toString(16).padStart(4, "0");
  // PUSH2 len DUP1 PUSH1 off PUSH0 CODECOPY PUSH0 RETURN   (off = 10, the prefix length)
  return `0x61${l}80600a5f395ff3${runtime.slice(2)}`;
}

/** Init code that returns its own address as the runtime code: shows the nonce used for CREATE. */
const RETURNS_ADDRESS: Hex = "0x305f5260205ff3";
/** Init code that reverts with 4 bytes of data. */
const REVERTING_INIT: Hex = "0x63deadbeef5f526004601cfd";

interface Outcome {
  error?: string;
  code?: number;
  returnValue?: string;
  exception?: string;
  gasUsed?: bigint;
  gasRefund?: bigint;
  totalGasSpent?: bigint;
  logs?: string;
}

const logsHex = (logs: [Uint8Array, Uint8Array[], Uint8Array][] | undefined) =>
  JSON.stringify(
    (logs ?? []).map(([a, t, d]) => [bytesToHex(a), t.map((x) => bytesToHex(x)), bytesToHex(d)]),
  );

/** What the two paths must agree on. */
function summary(e: ExecResult, totalGasSpent: bigint): Outcome {
  return {
    returnValue: bytesToHex(e.returnValue),
    exception: e.exceptionError?.error,
    gasUsed: e.executionGasUsed,
    gasRefund: e.gasRefund ?? 0n,
    totalGasSpent,
    logs: logsHex(e.logs),
  };
}

async function outcome(fn: () => Promise<Outcome>): Promise<Outcome> {
  try {
    return await fn();
  } catch (err) {
    return { error: (err as Error).message, code: (err as { code?: number }).code };
  }
}

describe("eth_call on the EVM directly", () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let exec: Executor;
  let probe: Hex;
  let probe2: Hex;
  let token: Hex;
  let genesisBlock: Block;
  const keys = devAccounts.slice(0, 3).map((a) => a.privateKey as Hex);
  const from = devAccounts.slice(0, 3).map((a) => a.address as Hex);
  const nonces = [0n, 0n, 0n];

  async function send(i: number, fields: { to?: Hex; data: Hex; gas?: bigint }): Promise<Hex> {
    const tx = createTx(
      {
        type: 2,
        chainId: 1337n,
        nonce: nonces[i]++,
        to: fields.to,
        data: fields.data,
        gasLimit: fields.gas ?? 3_000_000n,
        maxFeePerGas: 10n ** 11n,
        maxPriorityFeePerGas: 10n ** 9n,
      },
      { common },
    ).sign(hexToBytes(keys[i]));
    const sent = await rpc(node.url, "eth_sendRawTransaction", [bytesToHex(tx.serialize())]);
    assert.equal(sent.error, undefined, JSON.stringify(sent.error));
    const receipt = await waitReceipt(node.url, sent.result as string);
    assert.equal(receipt.status, "0x1");
    return getContractAddress({ from: from[i], nonce: nonces[i] - 1n });
  }

  before(async () => {
    node = await startTestNode({ precompiles: [thrower] });
    exec = new Executor(node.node);
    genesisBlock = node.node.head;
    const compiled = compileProbe();
    for (const a of from) {
      const n = await rpc(node.url, "eth_getTransactionCount", [a, "latest"]);
      nonces[from.indexOf(a)] = BigInt(n.result as string);
    }
    probe = await send(0, { data: compiled.bytecode });
    probe2 = await send(1, { data: compiled.bytecode });
    const erc20 = require("@uniswap/v2-periphery/build/ERC20.json") as { abi: Abi; bytecode: string };
    token = await send(0, {
      data: encodeDeployData({
        abi: erc20.abi,
        bytecode: `0x${erc20.bytecode.replace(/^0x/, "")}`,
        args: [10n ** 24n],
      }),
    });
  });

  after(async () => {
    await node?.close();
  });

  /** The call through runTx (Executor.run) and through Executor.execute, which goes direct where it can. */
  async function both(req: CallRequest, block: Block, overrides?: StateOverrides) {
    const viaTx = await outcome(async () => {
      const r = await exec.run(req, block, overrides);
      return summary(r.execResult, r.totalGasSpent);
    });
    let direct = false;
    const viaDirect = await outcome(async () => {
      const r = await exec.execute(req, block, overrides);
      direct = r.direct;
      return summary(r.exec, r.totalGasSpent);
    });
    return { viaTx, viaDirect, direct };
  }

  test("a seeded mix of calls gives the same result on both paths", { timeout: 120_000 }, async () => {
    const rand = prng(0x5eed_ca11);
    const pick = <T>(xs: readonly T[]): T => xs[rand(xs.length)];
    const randomAddress = (): Hex =>
      `0x${Array.from({ length: 20 }, () => rand(256).toString(16).padStart(2, "0")).join("")}`;
    const randomBytes = (n: number): Hex =>
      `0x${Array.from({ length: n }, () => (rand(3) === 0 ? "00" : rand(256).toString(16).padStart(2, "0"))).join("")}`;
    const slot = (n: number): Hex => `0x${n.toString(16).padStart(64, "0")}`;
    const { abi } = compileProbe();
    const observerAt = "0x00000000000000000000000000000000000ab5e7" as Hex;
    const head = node.node.head;
    const senders: (Hex | undefined)[] = [
      undefined,
      ...from,
      probe,
      "0x0000000000000000000000000000000000000000",
    ];

    const kinds: (() => { req: CallRequest; overrides?: StateOverrides; block?: Block })[] = [
      () => ({
        req: {
          to: probe,
          data: hexToBytes(encodeFunctionData({ abi, functionName: "balanceOf", args: [pick(from)] })),
        },
      }),
      () => ({
        req: {
          from: pick(senders),
          to: probe,
          data: hexToBytes(
            encodeFunctionData({
              abi,
              functionName: "transfer",
              args: [randomAddress(), BigInt(rand(3)) * 10n ** 24n],
            }),
          ),
        },
      }),
      () => ({
        req: {
          from: pick(senders),
          to: probe,
          data: hexToBytes(encodeFunctionData({ abi, functionName: "bump" })),
        },
      }),
      () => ({
        req: {
          from: pick(senders),
          to: probe,
          data: hexToBytes(encodeFunctionData({ abi, functionName: "failCustom" })),
        },
      }),
      () => ({
        req: { to: probe, data: hexToBytes(encodeFunctionData({ abi, functionName: "failRequire" })) },
      }),
      () => ({
        req: {
          to: probe,
          data: hexToBytes(encodeFunctionData({ abi, functionName: "failPanic", args: [BigInt(rand(2))] })),
        },
      }),
      () => ({
        req: {
          from: pick(senders),
          to: probe,
          data: hexToBytes(
            encodeFunctionData({
              abi,
              functionName: "nested",
              // itself, another probe, the coinbase (address zero), an EOA
              args: [pick([probe, probe2, "0x0000000000000000000000000000000000000000", from[2]])],
            }),
          ),
        },
      }),
      () => ({
        req: {
          from: pick(senders),
          to: token,
          data: hexToBytes(
            encodeFunctionData({
              abi: erc20Abi,
              functionName: "transfer",
              args: [randomAddress(), BigInt(rand(3)) * 10n ** 24n],
            }),
          ),
        },
      }),
      () => ({
        req: {
          to: token,
          data: hexToBytes(encodeFunctionData({ abi: erc20Abi, functionName: "balanceOf", args: [from[0]] })),
        },
      }),
      // the observer, put in place by a state override, with value (above the sender's balance at times)
      () => ({
        req: {
          from: pick(senders),
          to: observerAt,
          value: pick([0n, 1n, 10n ** 30n]),
          data: hexToBytes(randomBytes(rand(40))),
        },
        overrides: { [observerAt]: { code: hexToBytes(OBSERVER), balance: BigInt(rand(5)) } },
      }),
      // clearing 1-3 set slots: refunds of 4,800 each, so the cap at a fifth of the gas spent binds
      () => {
        const slots = 1 + rand(3);
        let code = "";
        for (let k = 0; k < slots; k++) code += `600060${k.toString(16).padStart(2, "0")}55`;
        const stateDiff: Record<string, string> = {};
        for (let k = 0; k < 3; k++)
          stateDiff[`0x${k.toString(16).padStart(64, "0")}`] = `0x${"0".repeat(63)}1`;
        return {
          req: { from: pick(senders), to: observerAt, data: hexToBytes(randomBytes(rand(8))) },
          overrides: { [observerAt]: { code: hexToBytes(`0x${code}00`), stateDiff } },
        };
      },
      // precompiles with random input, the one that throws, a custom one, the KZG one
      () => ({
        req: {
          from: pick(senders),
          to: `0x${(1 + rand(0x11)).toString(16).padStart(40, "0")}`,
          data: hexToBytes(randomBytes(rand(200))),
          value: pick([0n, 0n, 5n]),
        },
      }),
      () => ({ req: { to: THROWER, data: Uint8Array.of(pick([0, 1]), 2, 3) } }),
      // EOAs and absent accounts, with value and data
      () => ({
        req: {
          from: pick(senders),
          to: pick([from[1], randomAddress()]),
          value: BigInt(rand(3)),
          data: hexToBytes(randomBytes(rand(8))),
        },
      }),
      // contract creation: plain init code, one that reverts, one that returns its own address, Probe's
      () => ({
        req: {
          from: pick(senders),
          data: hexToBytes(
            pick([initFor(OBSERVER), REVERTING_INIT, RETURNS_ADDRESS, compileProbe().bytecode]),
          ),
          value: pick([0n, 3n]),
        },
      }),
      // access lists, among them entries runTx's transaction refuses (a short key)
      () => ({
        req: {
          from: pick(senders),
          to: probe,
          // counter and bump read slot 1 of the probe, nested calls probe2 and reads its slot 1:
          // either may be warm by the list
          data: hexToBytes(
            rand(2) === 0
              ? encodeFunctionData({ abi, functionName: "nested", args: [probe2] })
              : encodeFunctionData({ abi, functionName: pick(["counter", "bump"] as const) }),
          ),
          accessList: Array.from({ length: 1 + rand(3) }, () => ({
            address: pick([probe, probe2, token, randomAddress()]),
            storageKeys: Array.from({ length: rand(3) }, () => (rand(20) === 0 ? "0x01" : slot(rand(3)))),
          })),
        },
      }),
      // state overrides: token balances by stateDiff, a whole storage, a sender balance
      () => ({
        req: { to: probe, data: hexToBytes(encodeFunctionData({ abi, functionName: "counter" })) },
        overrides: {
          [probe]:
            rand(2) === 0 ? { state: { [slot(1)]: slot(rand(100)) } } : { stateDiff: { [slot(1)]: slot(7) } },
        },
      }),
      // an older block: before any contract existed
      () => ({
        req: { to: probe, data: hexToBytes(encodeFunctionData({ abi, functionName: "bump" })) },
        block: genesisBlock,
      }),
      // an EIP-7702 delegated sender (allowed, as by runTx)
      () => {
        const sender = randomAddress();
        const code = `0xef0100${probe2.slice(2)}`;
        return {
          req: {
            from: sender,
            to: probe,
            data: hexToBytes(encodeFunctionData({ abi, functionName: "bump" })),
          },
          overrides: { [sender]: { code: hexToBytes(code as Hex) } },
        };
      },
      // priced calls stay on runTx
      () => ({
        req: {
          from: from[0],
          to: probe,
          gasPrice: 2n * 10n ** 9n,
          data: hexToBytes(encodeFunctionData({ abi, functionName: "bump" })),
        },
      }),
    ];

    let directCount = 0;
    let total = 0;
    let fromContracts = 0;
    const directKinds = new Set<number>();
    for (let i = 0; i < 260; i++) {
      const k = rand(kinds.length);
      const { req, overrides, block = head } = kinds[k]();
      if (rand(4) === 0) req.gas = 21_000n + BigInt(rand(200_000));
      const { viaTx, viaDirect, direct } = await both(req, block, overrides);
      const what = `call ${i} (kind ${k}): ${JSON.stringify(req, (_, v) => (typeof v === "bigint" ? `${v}` : v instanceof Uint8Array ? bytesToHex(v) : v))}`;
      if (viaTx.error === EIP3607) {
        // runTx refuses a contract's address as a sender; eth_call runs it, as geth and anvil do
        // (differential.test.ts compares such a call with anvil)
        assert.ok(direct && viaDirect.error === undefined, what);
        fromContracts++;
        continue;
      }
      assert.deepEqual(viaDirect, viaTx, what);
      total++;
      if (direct) {
        directCount++;
        directKinds.add(k);
      }
      // Around the boundaries: the least gas that passes intrinsic validation, and the least that succeeds.
      if (rand(6) === 0 && viaTx.error === undefined && block === head && !overrides) {
        const ok = async (gas: bigint) =>
          await outcome(async () =>
            (await exec.run({ ...req, gas }, block)).execResult.exceptionError ? { exception: "x" } : {},
          );
        let lo = 0n;
        let hi = 1_000_000n;
        while (lo + 1n < hi) {
          const mid = (lo + hi) / 2n;
          if ((await ok(mid)).error === undefined) hi = mid;
          else lo = mid;
        }
        const minimum = hi;
        lo = minimum - 1n;
        hi = 2_000_000n;
        while (lo + 1n < hi) {
          const mid = (lo + hi) / 2n;
          const r = await ok(mid);
          if (r.exception === undefined && r.error === undefined) hi = mid;
          else lo = mid;
        }
        for (const gas of [minimum - 1n, minimum, minimum + 1n, hi - 1n, hi, hi + 1n]) {
          const r = await both({ ...req, gas }, block);
          assert.deepEqual(r.viaDirect, r.viaTx, `call ${i} at gas ${gas}`);
          total++;
          if (r.direct) directCount++;
        }
      }
    }
    // The comparison means something only if the direct path ran for most calls and every unpriced kind.
    assert.ok(directCount > total * 0.6, `direct for ${directCount} of ${total} calls`);
    for (let k = 0; k < kinds.length - 1; k++) assert.ok(directKinds.has(k), `kind ${k} never ran direct`);
    assert.ok(fromContracts > 0, "no call came from a contract's address");
  });

  test("a call from a contract's address runs, as geth's and anvil's eth_call run it", async () => {
    const head = node.node.head;
    const balanceOf = (who: Hex) =>
      hexToBytes(encodeFunctionData({ abi: erc20Abi, functionName: "balanceOf", args: [who] }));
    const expected = await exec.call({ to: token, data: balanceOf(from[0]) }, head);
    const r = await exec.execute({ from: probe2, to: token, data: balanceOf(from[0]) }, head);
    assert.equal(r.direct, true);
    assert.equal(r.exec.exceptionError, undefined);
    assert.equal(bytesToHex(r.exec.returnValue), bytesToHex(expected));
    // A priced call goes through runTx, which refuses such a sender as a transaction, in plain words.
    await assert.rejects(
      exec.call({ from: probe2, to: token, data: balanceOf(from[0]), gasPrice: 10n ** 11n }, head),
      (err: Error) => err.message === EIP3607,
    );
  });
});
