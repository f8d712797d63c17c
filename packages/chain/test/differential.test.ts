// Differential test: one deterministic scenario of third-party contracts with their published
// bytecode (Uniswap V2 factory, router and pair, WETH9 and the test ERC-20 from
// @uniswap/v2-periphery; OpenZeppelin's ERC1967Proxy) plus SELFDESTRUCT, a failed CREATE and an
// EIP-7702 delegation, sent as the same signed transactions to anvil (--hardfork osaka) and to the
// node. Receipts, transactions, callTracer output, eth_call results and revert data, balances,
// nonces, code and storage must be equal.
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { after, before, describe, test } from "node:test";
import { type Anvil, startAnvil } from "@openledger/devnet";
import {
  type Abi,
  encodeDeployData,
  encodeFunctionData,
  type Hex,
  keccak256,
  maxUint256,
  parseEther,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { rpc, startTestNode, waitReceipt } from "./helpers.ts";

const require = createRequire(import.meta.url);
const periphery = createRequire(require.resolve("@uniswap/v2-periphery/package.json"));

interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

function artifact(load: (id: string) => unknown, id: string): Artifact {
  const json = load(id) as { abi: Abi; bytecode: string };
  const code = json.bytecode.startsWith("0x") ? json.bytecode : `0x${json.bytecode}`;
  return { abi: json.abi, bytecode: code as Hex };
}

const WETH9 = artifact(periphery, "@uniswap/v2-periphery/build/WETH9.json");
const TOKEN = artifact(periphery, "@uniswap/v2-periphery/build/ERC20.json");
const ROUTER = artifact(periphery, "@uniswap/v2-periphery/build/UniswapV2Router02.json");
const FACTORY = artifact(periphery, "@uniswap/v2-core/build/UniswapV2Factory.json");
const PAIR = artifact(periphery, "@uniswap/v2-core/build/UniswapV2Pair.json");
const PROXY = artifact(require, "@openzeppelin/contracts/build/contracts/ERC1967Proxy.json");

/** Runtime code `CALLER SELFDESTRUCT`, deployed by init code that returns it. */
const SELF_DESTRUCTOR_INIT: Hex = "0x6133ff6000526002601ef3";
/** Init code that reverts with empty data: a failed CREATE. */
const REVERTING_INIT: Hex = "0x60006000fd";
const KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
] as const;
const accounts = KEYS.map((k) => privateKeyToAccount(k));
const [alice, bob, carol] = accounts;

/** The address a CREATE from `from` at `nonce` makes (both chains derive it the same way). */
async function createdAt(url: string, hash: string): Promise<Hex> {
  const r = (await rpc(url, "eth_getTransactionReceipt", [hash])).result as { contractAddress: Hex };
  return r.contractAddress;
}

/** Long hex strings (code, calldata) as their length and hash, so a difference reads in one screen. */
function shorten(value: unknown): unknown {
  if (typeof value === "string" && value.length > 130)
    return `${value.length} chars ${keccak256(value as Hex)}`;
  if (Array.isArray(value)) return value.map(shorten);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v)]));
  return value;
}

describe("differential: the node and anvil run the same transactions alike", () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let anvil: Anvil;
  const urls = () => [node.url, anvil.rpcUrl];
  const nonces = new Map<string, number>();
  const sent: { label: string; hash: string }[] = [];
  let timestamp = 0;

  before(async () => {
    [node, anvil] = await Promise.all([
      startTestNode({ automine: true }),
      startAnvil({ chainId: 1337, extraArgs: ["--hardfork", "osaka"] }),
    ]);
    const heads = await Promise.all(
      urls().map(async (u) => (await rpc(u, "eth_getBlockByNumber", ["latest", false])).result),
    );
    timestamp = Math.max(...heads.map((h) => Number((h as { timestamp: string }).timestamp))) + 100;
  });
  after(async () => {
    await Promise.all([node?.close(), anvil?.stop()]);
  });

  /** Signs once, sends to both at the same block timestamp; returns the hash. */
  async function send(
    label: string,
    from: (typeof accounts)[number],
    tx: { to?: Hex; data?: Hex; value?: bigint; gas?: bigint; authorizationList?: unknown[] },
  ): Promise<string> {
    const nonce = nonces.get(from.address) ?? 0;
    nonces.set(from.address, nonce + 1);
    const raw = await from.signTransaction({
      chainId: 1337,
      type: tx.authorizationList ? "eip7702" : "eip1559",
      nonce,
      to: tx.to ?? null,
      data: tx.data,
      value: tx.value ?? 0n,
      gas: tx.gas ?? 5_000_000n,
      maxFeePerGas: 50_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
      // biome-ignore lint/suspicious/noExplicitAny: viem's signed authorization type
      authorizationList: tx.authorizationList as any,
    } as Parameters<typeof from.signTransaction>[0]);
    timestamp += 12;
    // Same base fee on both (anvil does not lower it after the empty genesis block as EIP-1559 does).
    await rpc(anvil.rpcUrl, "anvil_setNextBlockBaseFeePerGas", [`0x${node.node.baseFee.toString(16)}`]);
    let hash = "";
    for (const url of urls()) {
      await rpc(url, "evm_setNextBlockTimestamp", [timestamp]);
      const res = await rpc(url, "eth_sendRawTransaction", [raw]);
      assert.ok(res.result, `${label} on ${url}: ${JSON.stringify(res.error)}`);
      hash = res.result as string;
      // Settings for the next block must not reach this one: wait until it is mined.
      await waitReceipt(url, hash);
    }
    sent.push({ label, hash });
    return hash;
  }

  async function both(method: string, params: unknown[]) {
    return Promise.all(urls().map((u) => rpc(u, method, params)));
  }

  test("the scenario: Uniswap V2 with WETH9, an ERC1967 proxy, SELFDESTRUCT, a failed CREATE, EIP-7702", async () => {
    const weth = await createdAt(node.url, await send("deploy WETH9", alice, { data: WETH9.bytecode }));
    const factory = await createdAt(
      node.url,
      await send("deploy factory", alice, {
        data: encodeDeployData({ abi: FACTORY.abi, bytecode: FACTORY.bytecode, args: [alice.address] }),
      }),
    );
    const router = await createdAt(
      node.url,
      await send("deploy router", alice, {
        data: encodeDeployData({ abi: ROUTER.abi, bytecode: ROUTER.bytecode, args: [factory, weth] }),
        gas: 6_000_000n,
      }),
    );
    const supply = parseEther("1000000");
    const tokens: Hex[] = [];
    for (const name of ["A", "B"]) {
      tokens.push(
        await createdAt(
          node.url,
          await send(`deploy token ${name}`, alice, {
            data: encodeDeployData({ abi: TOKEN.abi, bytecode: TOKEN.bytecode, args: [supply] }),
          }),
        ),
      );
    }
    const [tokenA, tokenB] = tokens;
    for (const token of tokens) {
      await send("approve router", alice, {
        to: token,
        data: encodeFunctionData({ abi: TOKEN.abi, functionName: "approve", args: [router, maxUint256] }),
      });
    }
    const deadline = BigInt(timestamp + 10_000);
    await send("addLiquidity", alice, {
      to: router,
      data: encodeFunctionData({
        abi: ROUTER.abi,
        functionName: "addLiquidity",
        args: [tokenA, tokenB, parseEther("1000"), parseEther("4000"), 0n, 0n, alice.address, deadline],
      }),
    });
    await send("swap A for B", alice, {
      to: router,
      data: encodeFunctionData({
        abi: ROUTER.abi,
        functionName: "swapExactTokensForTokens",
        args: [parseEther("10"), 0n, [tokenA, tokenB], bob.address, deadline],
      }),
    });
    await send("swap with an impossible minimum (reverts)", alice, {
      to: router,
      data: encodeFunctionData({
        abi: ROUTER.abi,
        functionName: "swapExactTokensForTokens",
        args: [parseEther("10"), parseEther("1000000"), [tokenA, tokenB], bob.address, deadline],
      }),
    });
    await send("addLiquidityETH", alice, {
      to: router,
      value: parseEther("2"),
      data: encodeFunctionData({
        abi: ROUTER.abi,
        functionName: "addLiquidityETH",
        args: [tokenA, parseEther("100"), 0n, 0n, alice.address, deadline],
      }),
    });
    await send("swap ETH for A", bob, {
      to: router,
      value: parseEther("0.5"),
      data: encodeFunctionData({
        abi: ROUTER.abi,
        functionName: "swapExactETHForTokens",
        args: [0n, [weth, tokenA], bob.address, deadline],
      }),
    });
    await send("WETH deposit", bob, {
      to: weth,
      value: parseEther("1"),
      data: encodeFunctionData({ abi: WETH9.abi, functionName: "deposit" }),
    });
    await send("WETH withdraw", bob, {
      to: weth,
      data: encodeFunctionData({ abi: WETH9.abi, functionName: "withdraw", args: [parseEther("0.25")] }),
    });
    const deposit = encodeFunctionData({ abi: WETH9.abi, functionName: "deposit" });
    const proxy = await createdAt(
      node.url,
      await send("deploy ERC1967Proxy over WETH9 (constructor delegatecall with value)", alice, {
        value: parseEther("0.1"),
        data: encodeDeployData({ abi: PROXY.abi, bytecode: PROXY.bytecode, args: [weth, deposit] }),
      }),
    );
    await send("deposit through the proxy (DELEGATECALL inherits the value)", bob, {
      to: proxy,
      value: parseEther("0.3"),
      data: deposit,
    });
    const destructor = await createdAt(
      node.url,
      await send("deploy a SELFDESTRUCT contract", carol, { data: SELF_DESTRUCTOR_INIT }),
    );
    await send("fund it", carol, { to: destructor, value: 12345n, gas: 100_000n });
    await send("SELFDESTRUCT", bob, { to: destructor, gas: 100_000n });
    await send("failed CREATE", carol, { data: REVERTING_INIT, gas: 200_000n });
    const authorization = await carol.signAuthorization({
      chainId: 1337,
      contractAddress: weth,
      nonce: (nonces.get(carol.address) ?? 0) + 1,
    });
    await send("EIP-7702: carol's account runs WETH9 code", carol, {
      to: carol.address,
      data: deposit,
      value: 777n,
      authorizationList: [authorization],
    });

    for (const { label, hash } of sent) {
      const [a, b] = await both("eth_getTransactionReceipt", [hash]);
      const ours = a.result as Record<string, unknown>;
      const theirs = b.result as Record<string, unknown>;
      assert.ok(ours && theirs, `${label}: both have a receipt`);
      for (const key of [
        "status",
        "gasUsed",
        "cumulativeGasUsed",
        "contractAddress",
        "logsBloom",
        "type",
        "effectiveGasPrice",
        "from",
        "to",
        "transactionIndex",
      ]) {
        assert.deepEqual(ours[key], theirs[key], `${label}: receipt ${key}`);
      }
      const strip = (logs: Record<string, unknown>[]) =>
        logs.map(({ address, topics, data, logIndex, transactionIndex }) => ({
          address,
          topics,
          data,
          logIndex,
          transactionIndex,
        }));
      assert.deepEqual(
        strip(ours.logs as Record<string, unknown>[]),
        strip(theirs.logs as Record<string, unknown>[]),
        `${label}: logs`,
      );
      assert.equal(typeof ours.blockTimestamp, "string", `${label}: receipt blockTimestamp`);

      const [ta, tb] = await both("eth_getTransactionByHash", [hash]);
      const omit = (t: Record<string, unknown>) => {
        const { blockHash: _h, ...rest } = t;
        return rest;
      };
      assert.deepEqual(
        omit(ta.result as Record<string, unknown>),
        omit(tb.result as Record<string, unknown>),
        `${label}: transaction`,
      );

      const [ca, cb] = await both("debug_traceTransaction", [hash, { tracer: "callTracer" }]);
      assert.deepEqual(shorten(ca.result), shorten(cb.result), `${label}: callTracer`);
    }

    const pair = (
      await rpc(node.url, "eth_call", [
        {
          to: factory,
          data: encodeFunctionData({ abi: FACTORY.abi, functionName: "getPair", args: [tokenA, tokenB] }),
        },
        "latest",
      ])
    ).result as Hex;
    const pairAddress = `0x${pair.slice(26)}` as Hex;
    const calls: { label: string; to: Hex; data: Hex; from?: Hex; value?: Hex }[] = [
      {
        label: "pair.getReserves",
        to: pairAddress,
        data: encodeFunctionData({ abi: PAIR.abi, functionName: "getReserves" }),
      },
      {
        label: "router.getAmountsOut",
        to: router,
        data: encodeFunctionData({
          abi: ROUTER.abi,
          functionName: "getAmountsOut",
          args: [parseEther("1"), [tokenA, tokenB]],
        }),
      },
      {
        label: "router.getAmountsOut with a one-token path (reverts)",
        to: router,
        data: encodeFunctionData({ abi: ROUTER.abi, functionName: "getAmountsOut", args: [1n, [tokenA]] }),
      },
      {
        // eth_call may be sent from a contract's address (no EIP-3607 check), as wallets simulate a pool or a multisig
        label: "from the pair's address: tokenA.transfer(bob, 1)",
        from: pairAddress,
        to: tokenA,
        data: encodeFunctionData({ abi: TOKEN.abi, functionName: "transfer", args: [bob.address, 1n] }),
      },
      {
        label: "WETH through the proxy: balanceOf(bob)",
        to: proxy,
        data: encodeFunctionData({ abi: WETH9.abi, functionName: "balanceOf", args: [bob.address] }),
      },
      // one-frame reads and writes (the node runs these without the EVM: fastCall.ts)
      ...(["name", "symbol", "decimals", "totalSupply"] as const).map((functionName) => ({
        label: `tokenA.${functionName}`,
        to: tokenA,
        data: encodeFunctionData({ abi: TOKEN.abi, functionName }),
      })),
      {
        label: "tokenA.allowance(alice, router)",
        to: tokenA,
        data: encodeFunctionData({
          abi: TOKEN.abi,
          functionName: "allowance",
          args: [alice.address, router],
        }),
      },
      {
        label: "WETH totalSupply (its own balance)",
        to: weth,
        data: encodeFunctionData({ abi: WETH9.abi, functionName: "totalSupply" }),
      },
      {
        label: "WETH deposit with value from bob",
        from: bob.address,
        to: weth,
        value: "0xde0b6b3a7640000",
        data: encodeFunctionData({ abi: WETH9.abi, functionName: "deposit" }),
      },
      {
        label: "WETH withdraw more than bob holds (reverts)",
        from: bob.address,
        to: weth,
        data: encodeFunctionData({ abi: WETH9.abi, functionName: "withdraw", args: [parseEther("1000")] }),
      },
    ];
    for (const c of calls) {
      const [a, b] = await both("eth_call", [
        { from: c.from, to: c.to, data: c.data, value: c.value },
        "latest",
      ]);
      assert.deepEqual(a.result, b.result, `${c.label}: result`);
      assert.equal(a.error?.code, b.error?.code, `${c.label}: error code`);
      assert.equal(a.error?.data, b.error?.data, `${c.label}: revert data`);
    }

    // eth_estimateGas from a contract's address too (geth and anvil skip EIP-3607 there); the search
    // tolerances differ (geth stops within 1.5%), so the estimates must agree within 2%
    const fromPair = {
      from: pairAddress,
      to: tokenA,
      data: encodeFunctionData({ abi: TOKEN.abi, functionName: "transfer", args: [bob.address, 1n] }),
    };
    const [ea, eb] = await both("eth_estimateGas", [fromPair, "latest"]);
    assert.equal(ea.error, undefined, JSON.stringify(ea.error));
    assert.equal(eb.error, undefined, JSON.stringify(eb.error));
    const [ga, gb] = [BigInt(ea.result as string), BigInt(eb.result as string)];
    assert.ok(ga * 100n >= gb * 98n && ga * 100n <= gb * 102n, `estimates ${ga} and ${gb}`);
    const depositFromBob = {
      from: bob.address,
      to: weth,
      value: "0xde0b6b3a7640000",
      data: encodeFunctionData({ abi: WETH9.abi, functionName: "deposit" }),
    };
    const [da, db] = await both("eth_estimateGas", [depositFromBob, "latest"]);
    assert.equal(da.error, undefined, JSON.stringify(da.error));
    const [gda, gdb] = [BigInt(da.result as string), BigInt(db.result as string)];
    assert.ok(gda * 100n >= gdb * 98n && gda * 100n <= gdb * 102n, `deposit estimates ${gda} and ${gdb}`);

    // debug_traceCall (callTracer) of the same calls, from the pair's address and from an account; with
    // a gas limit, since a call without one gets 2^24 here (EIP-7825's cap) and the block's limit on anvil
    for (const [label, call] of [
      ["from the pair", { ...fromPair, gas: "0x100000" }],
      ["from alice", { ...fromPair, from: alice.address, gas: "0x100000" }],
    ] as const) {
      const [ta, tb] = await both("debug_traceCall", [call, "latest", { tracer: "callTracer" }]);
      assert.equal(ta.error, undefined, JSON.stringify(ta.error));
      assert.deepEqual(shorten(ta.result), shorten(tb.result), `debug_traceCall ${label}`);
    }

    const addresses = [
      ...accounts.map((a) => a.address),
      weth,
      factory,
      router,
      tokenA,
      tokenB,
      pairAddress,
      proxy,
      destructor,
    ];
    for (const address of addresses) {
      for (const method of ["eth_getBalance", "eth_getTransactionCount", "eth_getCode"]) {
        const [a, b] = await both(method, [address, "latest"]);
        assert.equal(a.result, b.result, `${method} ${address}`);
      }
      for (let slot = 0; slot < 13; slot++) {
        const [a, b] = await both("eth_getStorageAt", [address, `0x${slot.toString(16)}`, "latest"]);
        assert.equal(a.result, b.result, `storage ${address} slot ${slot}`);
      }
    }

    const [fa, fb] = await both("eth_feeHistory", ["0x3", "latest", []]);
    assert.deepEqual(
      (fa.result as { reward?: unknown }).reward,
      (fb.result as { reward?: unknown }).reward,
      "eth_feeHistory without percentiles",
    );
  });
});
