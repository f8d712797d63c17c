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

async function spawnNode(datadir: string, mode: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", BIN, "--datadir", datadir, "--port", "0", ...mode],
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

test("kill -9 mid-stream loses no acknowledged transaction and keeps the state root", () =>
  killMidStream(["--block-time", "0.2"], { receipts: 60 }));

// With automine a transaction mined before its answer skips the pending log; one left in the pool
// (sent ahead of a lower nonce by the concurrent senders) is logged before its answer.
// Killed by the 150th acknowledgement, while the other senders' requests are in flight.
test("with automine too: kill -9 mid-stream loses no acknowledged transaction", () =>
  killMidStream(["--automine"], { acks: 150 }));

/** Sends 400 transfers from four concurrent senders and kills the node at `at`, then restarts it. */
async function killMidStream(mode: string[], at: { receipts: number } | { acks: number }): Promise<void> {
  const tmp = tempDir("ol-crash-");
  const [sender, recipient, gapSender] = deriveDevAccounts(3);
  const common = createChainCommon(1337n);
  const transfer = (from: typeof sender, nonce: number) =>
    bytesToHex(
      createTx(
        {
          type: 2,
          chainId: 1337n,
          nonce: BigInt(nonce),
          to: recipient.address,
          value: BigInt(nonce + 1),
          gasLimit: 21000n,
          maxFeePerGas: 5_000_000_000n,
          maxPriorityFeePerGas: 1n,
        },
        { common },
      )
        .sign(hexToBytes(from.privateKey))
        .serialize(),
    );
  const raws = Array.from({ length: 400 }, (_, i) => transfer(sender, i));
  // Nonces 1 and 2 of another sender, whose nonce 0 comes only after the restart: acknowledged while
  // they wait in the pool, so they must survive the kill there.
  const gap = [transfer(gapSender, 0), transfer(gapSender, 1), transfer(gapSender, 2)];
  let { child, url } = await spawnNode(tmp.dir, mode);
  const sent: string[] = []; // eth_sendRawTransaction answered with a hash
  const receipted = new Map<string, { blockNumber: string; blockHash: string }>(); // receipt returned
  let lastBlock: { number: string; stateRoot: string } | undefined;
  let killed = false;
  try {
    for (const raw of gap.slice(1)) {
      const res = await rpc(url, "eth_sendRawTransaction", [raw]);
      assert.equal(typeof res.result, "string", "a future nonce is acknowledged");
      sent.push(res.result as string);
    }
    let next = 0;
    const worker = async () => {
      while (!killed && next < raws.length) {
        const raw = raws[next++];
        try {
          const res = await rpc(url, "eth_sendRawTransaction", [raw]);
          if (typeof res.result === "string") sent.push(res.result);
          if ("acks" in at && sent.length >= at.acks && !killed) {
            killed = true;
            const b = await rpc(url, "eth_getBlockByNumber", ["latest", false]);
            lastBlock = b.result as { number: string; stateRoot: string };
            child.kill("SIGKILL");
            return;
          }
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
        if ("receipts" in at && receipted.size >= at.receipts) {
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
    if ("receipts" in at) assert.ok(receipted.size >= at.receipts, `receipts before kill: ${receipted.size}`);
    else assert.ok(sent.length >= at.acks && next < raws.length, "killed with sends in flight");
    assert.ok(lastBlock);

    ({ child, url } = await spawnNode(tmp.dir, mode));
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
    // Every transaction whose hash was returned is known after the restart: mined, or in the pool.
    for (const hash of sent) {
      const known = (await rpc(url, "eth_getTransactionByHash", [hash])).result;
      assert.ok(known, `acknowledged transaction ${hash} survived the restart`);
    }
    // And it gets mined once
    // the client sends again what was never acknowledged (a lower nonce may be among those).
    for (const raw of [gap[0], ...raws]) await rpc(url, "eth_sendRawTransaction", [raw]);
    for (let i = 0; i < 100; i++) {
      const missing = [];
      for (const hash of sent)
        if (!(await rpc(url, "eth_getTransactionReceipt", [hash])).result) missing.push(hash);
      if (missing.length === 0) break;
      await new Promise((r) => setTimeout(r, 100));
      if (i === 99) assert.fail(`${missing.length} acknowledged transactions never mined after restart`);
    }
    const count = (await rpc(url, "eth_getTransactionCount", [sender.address, "latest"])).result as string;
    assert.ok(Number(count) >= sent.length - 2);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    tmp.remove();
  }
}
