import assert from "node:assert/strict";
import { test } from "node:test";
import { rpc, rpcRaw, startTestNode } from "./helpers.ts";

const TO = "0x00000000000000000000000000000000000000c0";

test("state readers: balances and nonces at each past block stay apart, in batches too, and after test edits", async () => {
  const node = await startTestNode();
  try {
    const from = node.node.devAccounts[0].address;
    const blocks: string[] = [];
    // Six transfers, one block each: more state roots than readers are kept.
    for (let i = 1; i <= 6; i++) {
      const sent = await rpc(node.url, "eth_sendTransaction", [
        { from, to: TO, value: `0x${i.toString(16)}` },
      ]);
      assert.ok(sent.result, JSON.stringify(sent.error));
      blocks.push((await rpc(node.url, "eth_blockNumber")).result as string);
    }
    const expected = (i: number) => `0x${((i * (i + 1)) / 2).toString(16)}`;
    for (const round of [0, 1]) {
      const order = round === 0 ? [...blocks.keys()] : [...blocks.keys()].reverse();
      const calls = order.flatMap((i) => [
        { jsonrpc: "2.0", id: `b${i}`, method: "eth_getBalance", params: [TO, blocks[i]] },
        { jsonrpc: "2.0", id: `n${i}`, method: "eth_getTransactionCount", params: [from, blocks[i]] },
      ]);
      const { json } = await rpcRaw(node.url, JSON.stringify(calls));
      const byId = new Map((json as { id: string; result: string }[]).map((r) => [r.id, r.result]));
      for (const i of order) {
        assert.equal(byId.get(`b${i}`), expected(i + 1), `balance at block ${blocks[i]}`);
        assert.equal(byId.get(`n${i}`), `0x${(i + 1).toString(16)}`, `nonce at block ${blocks[i]}`);
      }
    }
    await rpc(node.url, "anvil_setBalance", [TO, "0x64"]);
    assert.equal((await rpc(node.url, "eth_getBalance", [TO, "latest"])).result, "0x64");
    // Test edits belong to the head block (as anvil's); the blocks before it keep their state.
    assert.equal((await rpc(node.url, "eth_getBalance", [TO, blocks[5]])).result, "0x64");
    assert.equal((await rpc(node.url, "eth_getBalance", [TO, blocks[4]])).result, expected(5));
    assert.equal((await rpc(node.url, "eth_getBalance", [TO, blocks[0]])).result, expected(1));
    assert.equal((await rpc(node.url, "eth_getCode", [TO, "latest"])).result, "0x");
    assert.equal(
      (await rpc(node.url, "eth_getStorageAt", [TO, "0x0", "latest"])).result,
      `0x${"00".repeat(32)}`,
    );
  } finally {
    await node.close();
  }
});
