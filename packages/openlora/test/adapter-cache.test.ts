import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Engine, LoraAdapter } from "@openledger/ml";
import { AdapterCache } from "../src/adapter-cache.ts";
import { demoConfig } from "./fixtures.ts";

let engine: Engine;
before(async () => {
  engine = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
});
after(() => engine.close());

const make = (seed: number) => async () =>
  LoraAdapter.create(engine, demoConfig(), { rank: 4, alpha: 8, targets: ["q_proj"] }, seed);

test("the LRU keeps its byte budget by evicting cold adapters, never pinned ones", async () => {
  const one = (await make(0)()).parameterCount * 4;
  const cache = new AdapterCache(2 * one);
  const a = await cache.acquire("a", make(1));
  const b = await cache.acquire("b", make(2));
  assert.ok(a.loaded && b.loaded);
  b.release();
  // a is pinned, b is cold: loading c evicts b, not a
  const c = await cache.acquire("c", make(3));
  assert.deepEqual([cache.has("a"), cache.has("b"), cache.has("c")], [true, false, true]);
  const again = await cache.acquire("a", make(1));
  assert.equal(again.loaded, false, "a hit");
  // everything pinned: the budget is exceeded rather than an adapter in use freed
  const d = await cache.acquire("d", make(4));
  assert.equal(cache.stats().bytes, 3 * one);
  for (const l of [a, again, c, d]) l.release();
  assert.ok(cache.stats().bytes <= 2 * one);
  const s = cache.stats();
  assert.deepEqual([s.hits, s.misses, s.evictions, s.loadSeconds.length], [1, 4, 2, 4]);
  // concurrent first uses share one load
  const [x, y] = await Promise.all([cache.acquire("e", make(5)), cache.acquire("e", make(5))]);
  assert.equal(x.adapter, y.adapter);
  assert.equal(cache.stats().misses, 5);
  cache.clear();
});
