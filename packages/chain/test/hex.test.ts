import assert from "node:assert/strict";
import { test } from "node:test";
import { bytesToHex } from "@ethereumjs/util";
import { toHex } from "../src/hex.ts";

test("toHex writes what @ethereumjs's bytesToHex writes (seeded bytes, views at an offset, empty)", () => {
  let seed = 7;
  const next = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed & 0xff;
  };
  const pool = Uint8Array.from({ length: 4096 }, next);
  for (let i = 0; i < 500; i++) {
    const start = next() * 8;
    const view = pool.subarray(start, start + (next() % 70));
    assert.equal(toHex(view), bytesToHex(view));
  }
  assert.equal(toHex(new Uint8Array()), "0x");
});
