import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import { createChainCommon } from "../src/chainConfig.ts";
import { deriveDevAccounts } from "../src/devAccounts.ts";
import { rpc, tempDir } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../src/bin.ts", import.meta.url));

async function spawnNode(datadir: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", BIN, "--datadir", datadir, "--port", "0", "--block-time", "0.2"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`node exited early with ${code}`)));
    lines.once("line", (line) => resolve(JSON.parse(line).url));
  });
  return { child, url };
}

test("kill -9 mid-stream loses no acknowledged transaction and keeps the state root", async () => {
  const tmp = tempDir("ol-crash-");
  const [sender, recipient] = deriveDevAccounts(2);
  const common = createChainCommon(1337n);
  const key = hexToBytes(sender.privateKey);
  const raws = Array.from({ length: 400 }, (_, i) =>
    bytesToHex(
      createTx(
        {
          type: 2,
          chainId: 1337n,
          nonce: BigInt(i),
          to: recipient.address,
          value: BigInt(i + 1),
          gasLimit: 21000n,
          maxFeePerGas: 5_000_000_000n,
          maxPriorityFeePerGas: 1n,
        },
        { common },
      )
        .sign(key)
        .serialize(),
    ),
  );
  let { child, url } = await spawnNode(tmp.dir);
  const sent: string[] = []; // eth_sendRawTransaction answered with a hash
  const receipted = new Map<string, { blockNumber: string; blockHash: string }>(); // receipt returned
  let lastBlock: { number: string; stateRoot: string } | undefined;
  let killed = false;
  try {
    let next = 0;
    const worker = async () => {
      while (!killed && next < raws.length) {
        const raw = raws[next++];
        try {
          const res = await rpc(url, "eth_sendRawTransaction", [raw]);
          if (typeof res.result === "string") sent.push(res.result);
        } catch {
          return; // connection died with the node
        }
      }
    };
    const poller = async () => {
      while (!killed) {
        try {
          for (const hash of sent) {
            if (receipted.has(hash)) continue;
            const r = await rpc(url, "eth_getTransactionReceipt", [hash]);
            if (r.result) receipted.set(hash, r.result as { blockNumber: string; blockHash: string });
          }
          const b = await rpc(url, "eth_getBlockByNumber", ["latest", false]);
          if (b.result) lastBlock = b.result as { number: string; stateRoot: string };
        } catch {
          return;
        }
        if (receipted.size >= 60) {
          killed = true;
          child.kill("SIGKILL");
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    await Promise.all([worker(), worker(), worker(), worker(), poller()]);
    await new Promise((r) =>
      child.exitCode !== null || child.signalCode !== null ? r(null) : child.once("exit", r),
    );
    assert.equal(child.signalCode, "SIGKILL");
    assert.ok(receipted.size >= 60, `receipts before kill: ${receipted.size}`);
    assert.ok(lastBlock);

    ({ child, url } = await spawnNode(tmp.dir));
    const head = await rpc(url, "eth_getBlockByNumber", [lastBlock.number, false]);
    assert.equal(
      (head.result as { stateRoot: string }).stateRoot,
      lastBlock.stateRoot,
      "same state root at the last seen block",
    );
    for (const [hash, where] of receipted) {
      const r = (await rpc(url, "eth_getTransactionReceipt", [hash])).result as { blockHash: string } | null;
      assert.ok(r, `acknowledged receipt ${hash} survived`);
      assert.equal(r.blockHash, where.blockHash);
    }
    // Every transaction whose hash was returned is either mined or still pending, and gets mined.
    for (let i = 0; i < 100; i++) {
      const missing = [];
      for (const hash of sent)
        if (!(await rpc(url, "eth_getTransactionReceipt", [hash])).result) missing.push(hash);
      if (missing.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
      if (i === 99) assert.fail(`${missing.length} acknowledged transactions never mined after restart`);
    }
    const count = (await rpc(url, "eth_getTransactionCount", [sender.address, "latest"])).result as string;
    assert.ok(Number(count) >= sent.length);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    tmp.remove();
  }
});
