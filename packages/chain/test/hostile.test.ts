import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { RLP } from "@ethereumjs/rlp";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, concatBytes, hexToBytes } from "@ethereumjs/util";
import { WebSocket } from "ws";
import { createChainCommon } from "../src/chainConfig.ts";
import { rpc, rpcRaw, startTestNode } from "./helpers.ts";

describe("hostile and invalid input", () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  const common = createChainCommon(1337n);
  const otherChain = createChainCommon(1n);
  let key: Uint8Array;
  let to: `0x${string}`;

  const sign = (fields: Record<string, unknown>, k = key, c = common) =>
    bytesToHex(
      createTx(
        {
          type: 2,
          chainId: c.chainId(),
          nonce: 0n,
          to,
          value: 1n,
          gasLimit: 21000n,
          maxFeePerGas: 10_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
          ...fields,
        } as never,
        { common: c },
      )
        .sign(k)
        .serialize(),
    );

  before(async () => {
    node = await startTestNode({ automine: false });
    key = hexToBytes(node.node.devAccounts[0].privateKey);
    to = node.node.devAccounts[1].address;
  });
  after(async () => {
    await node.close();
  });

  test("malformed JSON is -32700", async () => {
    const { status, json } = await rpcRaw(node.url, '{"jsonrpc":"2.0","id":1,"method":');
    assert.equal(status, 200);
    assert.deepEqual(json, { jsonrpc: "2.0", id: null, error: { code: -32700, message: "parse error" } });
  });

  test("unknown method is -32601", async () => {
    const res = await rpc(node.url, "eth_doesNotExist");
    assert.equal(res.error?.code, -32601);
    assert.equal(res.error?.message, "the method eth_doesNotExist does not exist/is not available");
  });

  test("invalid request objects are -32600", async () => {
    for (const body of [
      '{"id":1,"method":"eth_chainId"}',
      "42",
      '{"jsonrpc":"2.0","id":{},"method":"eth_chainId"}',
    ]) {
      const { json } = await rpcRaw(node.url, body);
      assert.equal((json as { error: { code: number } }).error.code, -32600, body);
    }
    const { json } = await rpcRaw(
      node.url,
      '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":{"a":1}}',
    );
    assert.equal((json as { error: { code: number } }).error.code, -32602);
  });

  test("bad params are -32602 with a message", async () => {
    const cases: [string, unknown[], RegExp][] = [
      ["eth_getBalance", ["0x1234", "latest"], /hex string has length 4, want 40 for common.Address/],
      ["eth_getBalance", [], /missing value for required argument 0/],
      ["eth_getBlockByNumber", ["0x01", false], /leading zero/],
      ["eth_getBlockByNumber", ["latest", "yes"], /bool/],
      ["eth_getTransactionReceipt", ["0xabc"], /odd length/],
      ["eth_call", [{ to: "0x1" }], /want 40/],
      ["eth_sendRawTransaction", ["nothex"], /without 0x prefix/],
      ["eth_getLogs", [{ topics: ["0x12"] }], /topic/],
    ];
    for (const [method, params, message] of cases) {
      const res = await rpc(node.url, method, params);
      assert.equal(res.error?.code, -32602, `${method} ${JSON.stringify(params)}: ${JSON.stringify(res)}`);
      assert.match(res.error?.message ?? "", message);
    }
  });

  test("batches: answered in order, empty and oversized rejected", async () => {
    const batch = [
      { jsonrpc: "2.0", id: 1, method: "eth_chainId" },
      { jsonrpc: "2.0", id: 2, method: "nope" },
      { jsonrpc: "2.0", id: 3, method: "net_version" },
    ];
    const { json } = await rpcRaw(node.url, JSON.stringify(batch));
    const out = json as { id: number; result?: string; error?: { code: number } }[];
    assert.deepEqual(
      out.map((r) => r.id),
      [1, 2, 3],
    );
    assert.equal(out[0].result, "0x539");
    assert.equal(out[1].error?.code, -32601);
    assert.equal(out[2].result, "1337");
    const empty = await rpcRaw(node.url, "[]");
    assert.equal((empty.json as { error: { code: number } }).error.code, -32600);
    const big = Array.from({ length: 1001 }, (_, i) => ({ jsonrpc: "2.0", id: i, method: "eth_chainId" }));
    const tooMany = await rpcRaw(node.url, JSON.stringify(big));
    assert.equal((tooMany.json as { error: { code: number; message: string } }).error.code, -32600);
    assert.match((tooMany.json as { error: { message: string } }).error.message, /batch too large/);
  });

  test("oversized body is refused with 413", async () => {
    const body = JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_call",
      params: [{ data: `0x${"00".repeat(3_000_000)}` }],
    });
    const res = await rpcRaw(node.url, body);
    assert.equal(res.status, 413);
    assert.match(res.text, /content length too large/);
    const ok = await rpc(node.url, "eth_chainId");
    assert.equal(ok.result, "0x539", "server still answers after refusing");
  });

  test("transaction rejections use geth wording", async () => {
    const send = (raw: string) => rpc(node.url, "eth_sendRawTransaction", [raw]);
    const expectErr = async (raw: string, pattern: RegExp) => {
      const res = await send(raw);
      assert.equal(res.error?.code, -32000, JSON.stringify(res));
      assert.match(res.error?.message ?? "", pattern);
    };
    await expectErr(sign({ gasLimit: 20000n }), /^intrinsic gas too low: gas 20000, minimum needed 21000$/);
    await expectErr(sign({}, key, otherChain), /invalid chain id for signer: have 1 want 1337/);
    await expectErr(
      sign({ value: 10n ** 30n }),
      /^insufficient funds for gas \* price \+ value: balance \d+, tx cost \d+, overshot \d+$/,
    );
    await expectErr(sign({ nonce: 500n }), /^nonce too high/);
    await expectErr(
      sign({ maxFeePerGas: 1n, maxPriorityFeePerGas: 1n }),
      /^max fee per gas less than block base fee/,
    );
    const tipAboveCap = RLP.encode([
      1337,
      0,
      20_000_000_000n,
      10_000_000_000n,
      21000,
      to,
      1,
      "0x",
      [],
      1,
      1n,
      1n,
    ]);
    await expectErr(
      bytesToHex(concatBytes(new Uint8Array([2]), tipAboveCap)),
      /^max priority fee per gas higher than max fee per gas/,
    );
    await expectErr("0x02c0", /^rlp: /);
    await expectErr("0x03f8", /transaction type not supported/);
    // Bad signature: a valid tx with r replaced.
    const good = sign({});
    const zeroSig = RLP.encode([1337, 0, 1, 10_000_000_000n, 21000, to, 1, "0x", [], 0, 0, 0]);
    await expectErr(bytesToHex(concatBytes(new Uint8Array([2]), zeroSig)), /^invalid sender/);
    const highS = RLP.encode([1337, 0, 1, 10_000_000_000n, 21000, to, 1, "0x", [], 0, 1n, 2n ** 256n - 1n]);
    await expectErr(bytesToHex(concatBytes(new Uint8Array([2]), highS)), /^invalid sender/);

    const first = await send(good);
    assert.match(String(first.result), /^0x[0-9a-f]{64}$/);
    await expectErr(good, /^already known$/);
    await expectErr(
      sign({ value: 2n, maxFeePerGas: 10_500_000_000n }),
      /^replacement transaction underpriced$/,
    );
    const replaced = await send(
      sign({ value: 2n, maxFeePerGas: 11_000_000_000n, maxPriorityFeePerGas: 1_100_000_000n }),
    );
    assert.ok(replaced.result, JSON.stringify(replaced));
    const pool = (await rpc(node.url, "txpool_content")).result as {
      pending: Record<string, Record<string, { value: string }>>;
    };
    const mine = Object.values(pool.pending)[0];
    assert.equal(mine["0"].value, "0x2");
    await rpc(node.url, "evm_mine");
    const receipt = await rpc(node.url, "eth_getTransactionReceipt", [replaced.result]);
    assert.equal((receipt.result as { status: string }).status, "0x1");
    assert.equal((await rpc(node.url, "eth_getTransactionReceipt", [first.result])).result, null);
    await expectErr(sign({ maxFeePerGas: 20_000_000_000n }), /^nonce too low: next nonce 1, tx nonce 0$/);
  });

  test("pool limits: per-sender and total", async () => {
    const small = await startTestNode({ automine: false, pool: { perSender: 2, total: 3, maxNonceGap: 64 } });
    try {
      const k0 = hexToBytes(small.node.devAccounts[0].privateKey);
      const k1 = hexToBytes(small.node.devAccounts[1].privateKey);
      const send = (raw: string) => rpc(small.url, "eth_sendRawTransaction", [raw]);
      assert.ok((await send(sign({ nonce: 0n }, k0))).result);
      assert.ok((await send(sign({ nonce: 1n }, k0))).result);
      assert.equal((await send(sign({ nonce: 2n }, k0))).error?.message, "account limit exceeded");
      assert.ok((await send(sign({ nonce: 0n }, k1))).result);
      assert.equal((await send(sign({ nonce: 1n }, k1))).error?.message, "txpool is full");
    } finally {
      await small.close();
    }
  });

  test("WebSocket: malformed frames, unknown subscriptions and unsubscribe", async () => {
    const socket = new WebSocket(node.wsUrl);
    await new Promise((resolve, reject) => {
      socket.once("open", resolve);
      socket.once("error", reject);
    });
    const ask = (text: string) =>
      new Promise<{ result?: unknown; error?: { code: number; message: string } }>((resolve) => {
        socket.once("message", (data) => resolve(JSON.parse(String(data))));
        socket.send(text);
      });
    assert.equal((await ask("{nope")).error?.code, -32700);
    const unknown = await ask(
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_subscribe", params: ["syncing2"] }),
    );
    assert.equal(unknown.error?.code, -32602);
    const sub = await ask(
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "eth_subscribe", params: ["newHeads"] }),
    );
    assert.match(String(sub.result), /^0x[0-9a-f]{32}$/);
    const off = await ask(
      JSON.stringify({ jsonrpc: "2.0", id: 3, method: "eth_unsubscribe", params: [sub.result] }),
    );
    assert.equal(off.result, true);
    const http = await rpc(node.url, "eth_subscribe", ["newHeads"]);
    assert.equal(http.error?.code, -32601, "no subscriptions over HTTP");
    socket.close();
  });

  test("eth_call reverts carry code 3 and the revert data", async () => {
    // Contract whose code is: PUSH revert Error("no") ... built by hand: returns Error(string) "no".
    const errData =
      "0x08c379a0000000000000000000000000000000000000000000000000000000000000002000000000000000000000000000000000000000000000000000000000000000026e6f000000000000000000000000000000000000000000000000000000000000";
    // Init-less runtime via state override: CODECOPY the data and REVERT it.
    const dataLen = (errData.length - 2) / 2;
    const runtime = `0x60${dataLen.toString(16)}600c60003960${dataLen.toString(16)}6000fd${errData.slice(2)}`;
    const target = "0x00000000000000000000000000000000000000aa";
    const res = await rpc(node.url, "eth_call", [{ to: target }, "latest", { [target]: { code: runtime } }]);
    assert.equal(res.error?.code, 3);
    assert.equal(res.error?.message, "execution reverted: no");
    assert.equal(res.error?.data, errData);
    const est = await rpc(node.url, "eth_estimateGas", [
      { to: target },
      "latest",
      { [target]: { code: runtime } },
    ]);
    assert.equal(est.error?.code, 3);
  });
});
