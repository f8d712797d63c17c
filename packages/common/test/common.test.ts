import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { bytesToHex } from "viem";
import {
  DEV_MNEMONIC,
  deriveDevAccounts,
  devAccounts,
  KeyedSerialQueue,
  mulberry32,
  nfcUtf8,
  normalizeText,
  openAIError,
  SeededRandom,
  SerialQueue,
} from "../src/index.ts";

describe("text", () => {
  test("normalizeText folds line endings and composes to NFC", () => {
    assert.equal(normalizeText("cafe\u0301\r\nna\u0131ve\rend"), "caf\u00e9\nna\u0131ve\nend");
  });
  test("nfcUtf8 gives the same bytes for composed and decomposed input", () => {
    assert.equal(bytesToHex(nfcUtf8("e\u0301")), bytesToHex(nfcUtf8("\u00e9")));
    assert.equal(bytesToHex(nfcUtf8("\u00e9")), "0xc3a9");
  });
});

describe("dev accounts", () => {
  test("the written-out table is what the mnemonic derives", () => {
    assert.equal(DEV_MNEMONIC.split(" ").length, 12);
    assert.deepEqual(deriveDevAccounts(10), devAccounts);
  });
  test("another mnemonic derives other accounts", () => {
    const other = deriveDevAccounts(
      1,
      "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about",
    );
    assert.notEqual(other[0].address, devAccounts[0].address);
  });
});

describe("SeededRandom", () => {
  test("mulberry32 keeps the stream the former copies drew (seeded inputs of tests and benchmarks)", () => {
    const rnd = mulberry32(1);
    const draws = [rnd(), rnd(), rnd()].map((x) => Math.floor(x * 4294967296));
    assert.deepEqual(draws, [2693262067, 11749833, 2265367787]);
  });
  test("same seed, same stream; int stays in range", () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    for (let i = 0; i < 100; i++) {
      const n = a.int(7);
      assert.equal(n, b.int(7));
      assert.ok(n >= 0 && n < 7);
    }
    assert.ok(Number.isFinite(a.normal()));
  });
});

describe("serial queues", () => {
  test("tasks run one at a time in order, and a failure reaches only its caller", async () => {
    const q = new SerialQueue();
    const log: string[] = [];
    const task =
      (name: string, fail = false) =>
      async () => {
        log.push(`start ${name}`);
        await new Promise((r) => setImmediate(r));
        log.push(`end ${name}`);
        if (fail) throw new Error(name);
        return name;
      };
    const results = await Promise.allSettled([q.run(task("a")), q.run(task("b", true)), q.run(task("c"))]);
    assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
    assert.deepEqual(
      results.map((r) => r.status),
      ["fulfilled", "rejected", "fulfilled"],
    );
    await q.idle();
  });
  test("keyed: different keys interleave, a key drains and is dropped", async () => {
    const q = new KeyedSerialQueue();
    const log: string[] = [];
    const step = (name: string) => async () => {
      log.push(name);
      await new Promise((r) => setImmediate(r));
      log.push(`${name} done`);
    };
    await Promise.all([q.run("x", step("x1")), q.run("y", step("y1")), q.run("x", step("x2"))]);
    assert.ok(log.indexOf("y1") < log.indexOf("x1 done"), "y runs beside x");
    assert.ok(log.indexOf("x2") > log.indexOf("x1 done"), "x2 waits for x1");
    await new Promise((r) => setImmediate(r));
    assert.equal(q.size, 0);
  });
});

test("openAIError has the OpenAI shape, param null unless a field is named", () => {
  assert.deepEqual(openAIError("no", "invalid_request_error", "bad"), {
    error: { message: "no", type: "invalid_request_error", param: null, code: "bad" },
  });
  assert.equal(openAIError("no", "invalid_request_error", "bad", "limit").error.param, "limit");
});
