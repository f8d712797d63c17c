import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { MerkleTree } from "@openledger/merkle";
import {
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  keccak256,
  parseEther,
  toFunctionSelector,
  toHex,
  webSocket,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { compileProbe, startTestNode } from "./helpers.ts";

const chain = defineChain({
  id: 1337,
  name: "OpenLedger dev",
  nativeCurrency: { name: "OPEN", symbol: "OPEN", decimals: 18 },
  rpcUrls: { default: { http: ["http://127.0.0.1"] } },
});

describe("viem against the node", () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let probe: Hex;
  const { abi, bytecode } = compileProbe();

  before(async () => {
    node = await startTestNode();
  });
  after(async () => {
    await node.close();
  });

  const clients = () => {
    const pub = createPublicClient({ chain, transport: http(node.url), pollingInterval: 50 });
    const key = node.node.devAccounts[0].privateKey;
    const wallet = createWalletClient({
      chain,
      transport: http(node.url),
      account: privateKeyToAccount(key),
    });
    return { pub, wallet };
  };

  test("chain id, block number and funded dev accounts", async () => {
    const { pub } = clients();
    assert.equal(await pub.getChainId(), 1337);
    assert.equal(await pub.getBlockNumber(), 0n);
    const bal = await pub.getBalance({ address: node.node.devAccounts[0].address });
    assert.equal(bal, parseEther("10000"));
  });

  test("local-account transfer mines with a receipt and a moving base fee", async () => {
    const { pub, wallet } = clients();
    const to = node.node.devAccounts[5].address;
    const before = await pub.getBalance({ address: to });
    assert.equal(await pub.estimateGas({ account: wallet.account, to, value: parseEther("1.5") }), 21000n);
    const hash = await wallet.sendTransaction({ to, value: parseEther("1.5") });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "success");
    assert.equal(receipt.gasUsed, 21000n);
    assert.equal(await pub.getBalance({ address: to }), before + parseEther("1.5"));
    const block = await pub.getBlock({ blockNumber: receipt.blockNumber, includeTransactions: true });
    assert.equal(block.transactions[0].hash, hash);
    assert.equal(block.transactions[0].from, node.node.devAccounts[0].address.toLowerCase());
    assert.ok(
      block.baseFeePerGas !== null && block.baseFeePerGas < 1_000_000_000n,
      "empty parent lowers the base fee",
    );
    const tx = await pub.getTransaction({ hash });
    assert.equal(tx.blockNumber, receipt.blockNumber);
  });

  test("eth_sendTransaction signs for a dev account", async () => {
    const { pub } = clients();
    const wallet = createWalletClient({
      chain,
      transport: http(node.url),
      account: node.node.devAccounts[1].address,
    });
    const hash = await wallet.sendTransaction({ to: node.node.devAccounts[2].address, value: 7n });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    assert.equal(receipt.from, node.node.devAccounts[1].address.toLowerCase());
    const sig = await wallet.signMessage({ message: "hello" });
    const { verifyMessage } = await import("viem");
    assert.ok(
      await verifyMessage({ address: node.node.devAccounts[1].address, message: "hello", signature: sig }),
    );
    const typed = {
      domain: {
        name: "OpenLedger",
        version: "1",
        chainId: 1337,
        verifyingContract: node.node.devAccounts[3].address,
      },
      types: { Mail: [{ name: "contents", type: "string" }] },
      primaryType: "Mail" as const,
      message: { contents: "hi" },
    };
    const typedSig = await wallet.signTypedData(typed);
    const { verifyTypedData } = await import("viem");
    assert.ok(
      await verifyTypedData({ address: node.node.devAccounts[1].address, signature: typedSig, ...typed }),
    );
  });

  test("deploy, call, write, logs and receipts", async () => {
    const { pub, wallet } = clients();
    const deployHash = await wallet.deployContract({ abi, bytecode });
    const deployed = await pub.waitForTransactionReceipt({ hash: deployHash });
    assert.equal(deployed.status, "success");
    probe = deployed.contractAddress as Hex;
    assert.ok((await pub.getCode({ address: probe }))?.length);
    const me = wallet.account.address;
    assert.equal(
      await pub.readContract({ address: probe, abi, functionName: "balanceOf", args: [me] }),
      parseEther("1000000"),
    );
    const to = node.node.devAccounts[4].address;
    const gas = await pub.estimateContractGas({
      address: probe,
      abi,
      functionName: "transfer",
      args: [to, 5n],
      account: me,
    });
    assert.ok(gas > 21000n && gas < 100000n);
    const hash = await wallet.writeContract({
      address: probe,
      abi,
      functionName: "transfer",
      args: [to, 5n],
    });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    assert.equal(receipt.logs.length, 1);
    assert.equal(receipt.logs[0].address, probe.toLowerCase());
    const events = await pub.getContractEvents({
      address: probe,
      abi,
      eventName: "Transfer",
      fromBlock: 0n,
      args: { to },
    });
    assert.equal(events.length, 1);
    assert.equal((events[0] as unknown as { args: { value: bigint } }).args.value, 5n);
    const none = await pub.getContractEvents({
      address: probe,
      abi,
      eventName: "Transfer",
      fromBlock: 0n,
      args: { to: me },
    });
    assert.equal(none.length, 0);
    const blockReceipts = await pub.request({
      method: "eth_getBlockReceipts",
      params: [toHex(receipt.blockNumber)],
    });
    assert.equal((blockReceipts as unknown[]).length, 1);
  });

  test("reverts decode as geth returns them", async () => {
    const { pub, wallet } = clients();
    const me = wallet.account.address;
    await assert.rejects(
      pub.simulateContract({ address: probe, abi, functionName: "failRequire", account: me }),
      (err: unknown) => {
        assert.ok(err instanceof BaseError);
        const revert = err.walk(
          (e) => e instanceof ContractFunctionRevertedError,
        ) as ContractFunctionRevertedError;
        assert.equal(revert.reason, "nope");
        return true;
      },
    );
    await assert.rejects(
      pub.simulateContract({ address: probe, abi, functionName: "failCustom", account: me }),
      (err: unknown) => {
        const revert = (err as BaseError).walk(
          (e) => e instanceof ContractFunctionRevertedError,
        ) as ContractFunctionRevertedError;
        assert.equal(revert.data?.errorName, "Unauthorized");
        assert.deepEqual(revert.data?.args, [me, 42n]);
        return true;
      },
    );
    await assert.rejects(
      pub.readContract({ address: probe, abi, functionName: "failPanic", args: [0n] }),
      /division or modulo by zero/,
    );
  });

  test("state overrides in eth_call", async () => {
    const { pub } = clients();
    const who = "0x000000000000000000000000000000000000bEEF";
    const bal = await pub.getBalance({ address: who });
    assert.equal(bal, 0n);
    const result = await pub.request({
      method: "eth_call",
      params: [
        { to: probe, data: "0x61bc221a" },
        "latest",
        { [probe]: { stateDiff: { [toHex(1n, { size: 32 })]: toHex(99n, { size: 32 }) } } },
      ],
    });
    assert.equal(BigInt(result as Hex), 99n);
  });

  test("Merkle multiproof precompile agrees with OpenZeppelin and costs less", async () => {
    const { pub, wallet } = clients();
    const me = wallet.account.address;
    const leaves = Array.from({ length: 37 }, (_, i) => keccak256(toHex(`leaf-${i}`)));
    const tree = MerkleTree.build(leaves);
    const cases: { idx: number[]; tamper?: boolean }[] = [
      { idx: [0] },
      { idx: [1, 5, 9, 30] },
      { idx: [2, 3, 4, 20, 21, 36] },
      { idx: [7, 8], tamper: true },
    ];
    for (const c of cases) {
      const mp = tree.multiProof(c.idx);
      const leavesIn = c.tamper ? [keccak256("0x01"), ...mp.leaves.slice(1)] : mp.leaves;
      const args = [tree.root, leavesIn, mp.proof, mp.proofFlags] as const;
      const oz = await pub.readContract({ address: probe, abi, functionName: "ozMultiProofVerify", args });
      const pre = await pub.readContract({
        address: probe,
        abi,
        functionName: "precompileMultiProofVerify",
        args,
      });
      assert.equal(pre, oz, `indices ${c.idx}`);
      assert.equal(pre, !c.tamper);
      const ozGas = await pub.estimateContractGas({
        address: probe,
        abi,
        functionName: "ozMultiProofVerify",
        args,
        account: me,
      });
      const preGas = await pub.estimateContractGas({
        address: probe,
        abi,
        functionName: "precompileMultiProofVerify",
        args,
        account: me,
      });
      assert.ok(preGas <= ozGas, `precompile ${preGas} vs OpenZeppelin ${ozGas}`);
    }
    // Inconsistent lengths: both revert with MerkleProofInvalidMultiproof().
    const bad = [tree.root, [leaves[0]], [], [true, true]] as const;
    await assert.rejects(
      pub.readContract({ address: probe, abi, functionName: "ozMultiProofVerify", args: bad }),
      /0x35140492|MerkleProofInvalidMultiproof|reverted/,
    );
    await assert.rejects(
      pub.readContract({ address: probe, abi, functionName: "precompileMultiProofVerify", args: bad }),
      /0x35140492|MerkleProofInvalidMultiproof|reverted/,
    );
  });

  test("a reverting transaction is mined with status 0 and traced with its reason", async () => {
    const { pub, wallet } = clients();
    const data = toFunctionSelector("failRequire()");
    const hash = await wallet.sendTransaction({ to: probe, data, gas: 100_000n });
    const receipt = await pub.waitForTransactionReceipt({ hash });
    assert.equal(receipt.status, "reverted");
    const call = (await pub.request({
      method: "debug_traceTransaction" as never,
      params: [hash, { tracer: "callTracer" }] as never,
    })) as { error: string; revertReason: string; gasUsed: Hex };
    assert.equal(call.error, "execution reverted");
    assert.equal(call.revertReason, "nope");
    assert.equal(BigInt(call.gasUsed), receipt.gasUsed);
    const steps = (await pub.request({
      method: "debug_traceTransaction" as never,
      params: [hash] as never,
    })) as {
      failed: boolean;
      structLogs: { op: string }[];
    };
    assert.equal(steps.failed, true);
    assert.equal(steps.structLogs.at(-1)?.op, "REVERT");
  });

  test("WebSocket subscriptions: newHeads and contract logs", async () => {
    const { wallet } = clients();
    const ws = createPublicClient({ chain, transport: webSocket(node.wsUrl) });
    const heads: bigint[] = [];
    const logs: unknown[] = [];
    const unwatchBlocks = ws.watchBlocks({ onBlock: (b) => heads.push(b.number) });
    const pending: string[] = [];
    const unwatchPending = ws.watchPendingTransactions({ onTransactions: (h) => pending.push(...h) });
    const unwatchLogs = ws.watchContractEvent({
      address: probe,
      abi,
      eventName: "Bumped",
      onLogs: (l) => logs.push(...l),
    });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 3; i++) await wallet.writeContract({ address: probe, abi, functionName: "bump" });
    for (let i = 0; i < 100 && (logs.length < 3 || heads.length < 3 || pending.length < 3); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    unwatchPending();
    assert.equal(pending.length, 3);
    unwatchBlocks();
    unwatchLogs();
    assert.equal(logs.length, 3);
    assert.ok(heads.length >= 3);
    await ws.transport.getRpcClient().then((c) => c.close());
  });
});
