// Execution faults: exceptions thrown out of the EVM while a block is built (a precompile whose gas
// schedule throws, an out-of-memory error in a precompile) must drop only the faulting
// transaction; every other transaction of the block and the state survive, also across a restart.
// And a data dir whose head state is gone is refused with a message, then rebuilt on request.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import Database from "better-sqlite3";
import { createChainCommon } from "../src/chainConfig.ts";
import {
  createNode,
  type PrecompileDefinition,
  StateMissingError,
  startNode,
  TxRejectedError,
} from "../src/index.ts";
import { rpc, tempDir } from "./helpers.ts";

const common = createChainCommon(1337n);
const INJECTOR = "0x0000000000000000000000000000000000000f00";
const THROWING_GAS = 1;
const OUT_OF_MEMORY = 2;

/** Input byte 0 picks the fault: 1 makes `gas` throw, 2 makes `run` run out of memory; else echo. */
const faultInjector: PrecompileDefinition = {
  address: INJECTOR,
  name: "fault-injector",
  gas(input) {
    if (input[0] === THROWING_GAS) throw new Error("injected: gas schedule bug");
    return 100n;
  },
  run(input) {
    if (input[0] === OUT_OF_MEMORY) throw new RangeError("Array buffer allocation failed");
    return input;
  },
};

function signed(key: `0x${string}`, nonce: bigint, to: string, data = "0x", value = 0n) {
  const tx = createTx(
    {
      type: 2,
      chainId: 1337n,
      nonce,
      to: to as `0x${string}`,
      data: data as `0x${string}`,
      value,
      gasLimit: 100_000n,
      maxFeePerGas: 10n ** 11n,
      maxPriorityFeePerGas: 10n ** 9n,
    },
    { common },
  ).sign(hexToBytes(key));
  return { raw: bytesToHex(tx.serialize()), hash: bytesToHex(tx.hash()) };
}

async function balance(url: string, address: string): Promise<bigint> {
  return BigInt((await rpc(url, "eth_getBalance", [address, "latest"])).result as string);
}

async function receiptOf(url: string, hash: string) {
  return (await rpc(url, "eth_getTransactionReceipt", [hash])).result as { status: string } | null;
}

describe("execution faults", () => {
  test("1 s blocks: faulting transactions are dropped, the rest of the block and the state survive a restart", {
    timeout: 60_000,
  }, async () => {
    const tmp = tempDir();
    try {
      let running = await startNode({
        datadir: tmp.dir,
        port: 0,
        blockTime: 1,
        precompiles: [faultInjector],
      });
      const dev = running.node.devAccounts;
      const sink = "0x00000000000000000000000000000000000000aa";
      const good = [
        signed(dev[1].privateKey, 0n, sink, "0x", 5n),
        signed(dev[2].privateKey, 0n, INJECTOR, "0x0305"),
        signed(dev[1].privateKey, 1n, sink, "0x", 7n),
        signed(dev[3].privateKey, 0n, sink, "0x", 11n),
      ];
      const bad = [
        signed(dev[4].privateKey, 0n, INJECTOR, "0x01"),
        signed(dev[5].privateKey, 0n, INJECTOR, "0x02"),
      ];
      const errors: string[] = [];
      running.node.on("error", (err: Error) => errors.push(err.message));
      // One batch: all of them land in the pool before the next 1 s block, interleaved.
      const order = [good[0], bad[0], good[1], bad[1], good[2], good[3]];
      const batch = order.map((t, id) => ({
        jsonrpc: "2.0",
        id,
        method: "eth_sendRawTransaction",
        params: [t.raw],
      }));
      const res = await fetch(running.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(batch),
      });
      const answers = (await res.json()) as { result?: string }[];
      assert.deepEqual(
        answers.map((a) => a.result),
        order.map((t) => t.hash),
      );
      while ((await Promise.all(good.map((t) => receiptOf(running.url, t.hash)))).some((r) => r === null)) {
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const t of good) assert.equal((await receiptOf(running.url, t.hash))?.status, "0x1");
      while (running.node.pool.size > 0) await new Promise((r) => setTimeout(r, 100));
      for (const t of bad) assert.equal(await receiptOf(running.url, t.hash), null);
      assert.ok(errors.some((m) => /faulted the EVM/.test(m)));
      assert.equal(await balance(running.url, sink), 23n);
      assert.equal(await balance(running.url, dev[9].address), 10_000n * 10n ** 18n);
      // The faulting transactions are refused if they come back.
      const again = await rpc(running.url, "eth_sendRawTransaction", [bad[0].raw]);
      assert.match(again.error?.message ?? "", /transaction refused: executing it faulted/);
      // The node still produces blocks that include new transactions.
      const later = signed(dev[6].privateKey, 0n, sink, "0x", 100n);
      await rpc(running.url, "eth_sendRawTransaction", [later.raw]);
      while ((await receiptOf(running.url, later.hash)) === null)
        await new Promise((r) => setTimeout(r, 100));
      const head = running.node.head;
      await running.close();

      running = await startNode({ datadir: tmp.dir, port: 0, blockTime: 0, precompiles: [faultInjector] });
      assert.equal(bytesToHex(running.node.head.hash()), bytesToHex(head.hash()));
      assert.equal(await balance(running.url, sink), 123n);
      for (const t of good) assert.equal((await receiptOf(running.url, t.hash))?.status, "0x1");
      await running.close();
    } finally {
      tmp.remove();
    }
  });

  test("automine: the faulting transaction is refused with a JSON-RPC error; eth_call fails alone", {
    timeout: 60_000,
  }, async () => {
    const tmp = tempDir();
    const running = await startNode({
      datadir: tmp.dir,
      port: 0,
      blockTime: 0,
      automine: true,
      precompiles: [faultInjector],
    });
    try {
      const dev = running.node.devAccounts;
      const head = running.node.head.header.number;
      const sent = await rpc(running.url, "eth_sendRawTransaction", [
        signed(dev[1].privateKey, 0n, INJECTOR, "0x02").raw,
      ]);
      assert.equal(sent.error?.code, -32000);
      assert.match(sent.error?.message ?? "", /faulted the node's EVM \(Array buffer allocation failed\)/);
      assert.equal(
        (await rpc(running.url, "eth_getTransactionCount", [dev[1].address, "latest"])).result,
        "0x0",
      );
      const call = await rpc(running.url, "eth_call", [{ to: INJECTOR, data: "0x01" }, "latest"]);
      assert.equal(call.error?.code, -32000);
      const echo = await rpc(running.url, "eth_call", [{ to: INJECTOR, data: "0x0709" }, "latest"]);
      assert.equal(echo.result, "0x0709");
      const ok = signed(dev[1].privateKey, 0n, INJECTOR, "0x0305");
      assert.equal((await rpc(running.url, "eth_sendRawTransaction", [ok.raw])).result, ok.hash);
      assert.equal((await receiptOf(running.url, ok.hash))?.status, "0x1");
      assert.ok(running.node.head.header.number > head);
      assert.equal(await balance(running.url, dev[9].address), 10_000n * 10n ** 18n);
    } finally {
      await running.close();
      tmp.remove();
    }
  });

  test("automine: a transaction a concurrent block drops is refused with the VM's reason, not acknowledged", {
    timeout: 60_000,
  }, async () => {
    const tmp = tempDir();
    const running = await startNode({ datadir: tmp.dir, port: 0, blockTime: 0, automine: true });
    try {
      const dev = running.node.devAccounts;
      const fee = 10n ** 11n;
      const funds = await balance(running.url, dev[2].address);
      // Each passes admission alone; once the first is mined the second's gas is no longer covered.
      const spendAll = signed(dev[2].privateKey, 0n, dev[3].address, "0x", funds - 100_000n * fee);
      const next = signed(dev[2].privateKey, 1n, dev[3].address, "0x", 1n);
      // Sent in one turn (through the node's API: two HTTP requests may arrive a turn apart), both
      // are admitted before the first block is built.
      const [first, second] = await Promise.allSettled([
        running.node.sendRawTransaction(hexToBytes(spendAll.raw as `0x${string}`)),
        running.node.sendRawTransaction(hexToBytes(next.raw as `0x${string}`)),
      ]);
      assert.deepEqual(first, { status: "fulfilled", value: spendAll.hash });
      assert.equal(second.status, "rejected", "no hash for a transaction in no block and not pooled");
      assert.ok(second.reason instanceof TxRejectedError);
      assert.match(second.reason.message, /^transaction dropped before inclusion: .*enough funds/);
      assert.equal(await receiptOf(running.url, next.hash), null);
      assert.equal((await rpc(running.url, "eth_getTransactionByHash", [next.hash])).result, null);
      // The same transaction, sent again once it is covered, is admitted and mined as usual.
      await rpc(running.url, "eth_sendRawTransaction", [
        signed(dev[4].privateKey, 0n, dev[2].address, "0x", 10n ** 18n).raw,
      ]);
      assert.equal((await rpc(running.url, "eth_sendRawTransaction", [next.raw])).result, next.hash);
      assert.equal((await receiptOf(running.url, next.hash))?.status, "0x1");
    } finally {
      await running.close();
      tmp.remove();
    }
  });

  test("a data dir whose head state is missing is refused, then rebuilt from its blocks on request", async () => {
    const tmp = tempDir();
    try {
      let node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      const dev = node.devAccounts;
      for (let i = 0n; i < 3n; i++) {
        await node.sendRawTransaction(
          hexToBytes(signed(dev[1].privateKey, i, dev[2].address, "0x", 1000n).raw as `0x${string}`),
        );
        await node.mine();
      }
      const head = node.head;
      await node.close();
      const db = new Database(join(tmp.dir, "chain.sqlite"));
      db.prepare("DELETE FROM trie WHERE k = ?").run(Buffer.from(head.header.stateRoot));
      db.close();

      await assert.rejects(createNode({ datadir: tmp.dir, blockTime: 0 }), (err: Error) => {
        assert.ok(err instanceof StateMissingError);
        assert.match(err.message, /state of head block 3 .* is missing.*--rebuild-state/);
        return true;
      });
      node = await createNode({ datadir: tmp.dir, blockTime: 0, rebuildState: true });
      assert.equal(bytesToHex(node.head.hash()), bytesToHex(head.hash()));
      const state = node.stateAt(node.head.header.stateRoot);
      const account = await state.getAccount(
        (await import("@ethereumjs/util")).createAddressFromString(dev[2].address),
      );
      assert.equal(account?.balance, 10_000n * 10n ** 18n + 3000n);
      await node.close();
      node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      assert.equal(node.head.header.number, 3n);
      await node.close();
    } finally {
      tmp.remove();
    }
  });
});
