import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import { foundryBinaryPath } from "@openledger/devnet";
import { ContractFactory, JsonRpcProvider, parseEther, Wallet } from "ethers";
import { compileProbe, startTestNode } from "./helpers.ts";

const run = promisify(execFile);
const CAST = foundryBinaryPath("cast");

async function cast(...args: string[]): Promise<string> {
  const { stdout } = await run(CAST, args, {
    env: { ...process.env, FOUNDRY_DISABLE_NIGHTLY_WARNING: "1" },
    timeout: 60_000,
  });
  return stdout.trim();
}

describe("ethers v6 and Foundry cast against the node", () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let probe: string;
  let transferHash: string;
  const { abi, bytecode } = compileProbe();

  before(async () => {
    node = await startTestNode();
  });
  after(async () => {
    await node.close();
  });

  // ethers caches identical requests for 250 ms by default; with automine the nonce changes faster.
  test("ethers: send, deploy, call, receipt and logs", async () => {
    const provider = new JsonRpcProvider(node.url, 1337, {
      staticNetwork: true,
      batchMaxCount: 1,
      cacheTimeout: -1,
    });
    provider.pollingInterval = 50;
    const wallet = new Wallet(node.node.devAccounts[0].privateKey, provider);
    const to = node.node.devAccounts[6].address;
    const tx = await wallet.sendTransaction({ to, value: parseEther("2") });
    const receipt = await tx.wait();
    assert.equal(receipt?.status, 1);
    assert.equal(await provider.getBalance(to), parseEther("10002"));

    const factory = new ContractFactory(abi as never, bytecode, wallet);
    const contract = await factory.deploy();
    await contract.waitForDeployment();
    probe = await contract.getAddress();
    const transfer = await (
      contract as unknown as {
        transfer(to: string, v: bigint): Promise<{ wait(): Promise<{ logs: unknown[]; hash: string }> }>;
      }
    ).transfer(to, 9n);
    const mined = await transfer.wait();
    transferHash = mined.hash;
    assert.equal(mined.logs.length, 1);
    const bal = await (contract as unknown as { balanceOf(a: string): Promise<bigint> }).balanceOf(to);
    assert.equal(bal, 9n);
    const logs = await provider.getLogs({ address: probe, fromBlock: 0 });
    assert.equal(logs.length, 1);
    await assert.rejects(
      (contract as unknown as { failRequire(): Promise<void> }).failRequire(),
      (err: { reason?: string }) => {
        assert.equal(err.reason, "nope");
        return true;
      },
    );
    provider.destroy();
  });

  test("cast: balance, block, call, estimate, send and run", async () => {
    const rpcUrl = node.url;
    const dev = node.node.devAccounts[0];
    assert.equal(await cast("chain-id", "--rpc-url", rpcUrl), "1337");
    const bal = await cast("balance", node.node.devAccounts[7].address, "--rpc-url", rpcUrl);
    assert.equal(bal, parseEther("10000").toString());
    const block = JSON.parse(await cast("block", "latest", "--json", "--rpc-url", rpcUrl));
    assert.ok(block.hash && block.stateRoot);
    const call = await cast(
      "call",
      probe,
      "balanceOf(address)(uint256)",
      node.node.devAccounts[6].address,
      "--rpc-url",
      rpcUrl,
    );
    assert.equal(call.split(" ")[0], "9");
    const est = Number(
      await cast(
        "estimate",
        probe,
        "transfer(address,uint256)",
        dev.address,
        "1",
        "--from",
        dev.address,
        "--rpc-url",
        rpcUrl,
      ),
    );
    assert.ok(est > 21000 && est < 100000, String(est));
    const sent = JSON.parse(
      await cast("send", probe, "bump()", "--private-key", dev.privateKey, "--rpc-url", rpcUrl, "--json"),
    );
    assert.equal(sent.status, "0x1");
    const reverted = await run(CAST, ["call", probe, "failRequire()", "--rpc-url", rpcUrl]).catch(
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(String(reverted), /nope/);
    const trace = await cast("run", transferHash, "--rpc-url", rpcUrl);
    assert.match(trace, /transfer/i);
    assert.match(trace, /Transfer/);
  });

  test("debug_traceTransaction callTracer shows nested calls", async () => {
    const provider = new JsonRpcProvider(node.url, 1337, { staticNetwork: true, cacheTimeout: -1 });
    const wallet = new Wallet(node.node.devAccounts[0].privateKey, provider);
    const factory = new ContractFactory(abi as never, bytecode, wallet);
    const second = await factory.deploy();
    await second.waitForDeployment();
    const c = second.connect(wallet) as unknown as {
      nested(a: string): Promise<{ hash: string; wait(): Promise<unknown> }>;
    };
    const tx = await c.nested(probe);
    await tx.wait();
    const trace = (await provider.send("debug_traceTransaction", [tx.hash, { tracer: "callTracer" }])) as {
      type: string;
      calls: { type: string; to: string }[];
      gasUsed: string;
    };
    assert.equal(trace.type, "CALL");
    assert.deepEqual(
      trace.calls.map((x) => [x.type, x.to.toLowerCase()]),
      [
        ["CALL", probe.toLowerCase()],
        ["STATICCALL", probe.toLowerCase()],
      ],
    );
    const receipt = await provider.getTransactionReceipt(tx.hash);
    assert.equal(BigInt(trace.gasUsed), receipt?.gasUsed);
    provider.destroy();
  });
});
