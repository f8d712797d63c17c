import assert from "node:assert/strict";
import { test } from "node:test";
import { hexToBytes } from "@ethereumjs/util";
import { SeededRandom } from "@openledger/common/prng";
import { InvalidParamsError } from "../src/errors.ts";
import { data, storageKey } from "../src/rpc/params.ts";
import { startTestNode } from "./helpers.ts";

test("data(): the same bytes as @ethereumjs's hexToBytes, as a plain Uint8Array, over seeded strings", () => {
  const rng = new SeededRandom(1101);
  const digits = "0123456789abcdefABCDEF";
  for (let n = 0; n < 500; n++) {
    const len = rng.int(n < 450 ? 80 : 4000);
    let hex = "0x";
    for (let j = 0; j < 2 * len; j++) hex += digits[rng.int(digits.length)];
    const got = data(hex, 0);
    assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype, "not a Buffer (its slice shares memory)");
    assert.deepEqual(got, hexToBytes(hex as `0x${string}`), hex);
  }
  assert.deepEqual(storageKey("0x1", 0), hexToBytes(`0x${"1".padStart(64, "0")}`));
});

test("data(): malformed hex is refused with geth's words", () => {
  const bad: [unknown, RegExp][] = [
    [7, /cannot unmarshal number into bytes/],
    ["12", /hex string without 0x prefix/],
    ["0x123", /hex string of odd length/],
    ["0x12zz", /invalid hex string/],
    ["0x12 3", /invalid hex string/],
    ["0x 123", /invalid hex string/],
  ];
  for (const [v, message] of bad) {
    assert.throws(
      () => data(v, 0),
      (e: unknown) => e instanceof InvalidParamsError && message.test(e.message),
      String(v),
    );
  }
});

test("HTTP answers carry their length (no chunked framing), counted in bytes", async () => {
  const node = await startTestNode();
  try {
    const post = (body: string) =>
      fetch(node.url, { method: "POST", headers: { "content-type": "application/json" }, body });
    // A method name outside ASCII comes back in the error message: bytes and characters differ.
    for (const body of [
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
      JSON.stringify({ jsonrpc: "2.0", id: 2, method: "eth_ünïcødé✓", params: [] }),
      JSON.stringify([
        { jsonrpc: "2.0", id: 3, method: "eth_chainId" },
        { jsonrpc: "2.0", id: 4, method: "eth_getBalance", params: ["0x00", "latest"] },
      ]),
      "{not json",
    ]) {
      const res = await post(body);
      const bytes = new Uint8Array(await res.arrayBuffer());
      assert.equal(res.headers.get("transfer-encoding"), null, body);
      assert.equal(Number(res.headers.get("content-length")), bytes.length, body);
      assert.ok(JSON.parse(new TextDecoder().decode(bytes)), body);
    }
    const notification = await post(JSON.stringify({ jsonrpc: "2.0", method: "eth_blockNumber" }));
    assert.equal(notification.headers.get("content-length"), "0");
    assert.equal(await notification.text(), "");
    const unknown = (await (
      await post(JSON.stringify({ jsonrpc: "2.0", id: 2, method: "eth_ünï" }))
    ).json()) as {
      error: { code: number; message: string };
    };
    assert.equal(unknown.error.code, -32601);
    assert.match(unknown.error.message, /the method eth_ünï does not exist/);
  } finally {
    await node.close();
  }
});
