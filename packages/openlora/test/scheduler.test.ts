import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Engine, LlamaModel } from "@openledger/ml";
import { requestSequence } from "../src/decoder.ts";
import { QueueFullError } from "../src/errors.ts";
import { type BatchJob, BatchScheduler } from "../src/scheduler.ts";
import { demoConfig } from "./fixtures.ts";

describe("BatchScheduler", () => {
  let engine: Engine;
  let model: LlamaModel;
  before(async () => {
    engine = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
    model = LlamaModel.random(engine, demoConfig(), 1);
  });
  after(async () => {
    model.free();
    await engine.close();
  });

  const job = (tenant: string, signal = new AbortController().signal, maxTokens = 3): BatchJob => ({
    tenant,
    sequence: requestSequence(
      model,
      [1, 2, 3],
      { maxTokens, temperature: 0, topP: 1, seed: 0, stop: [] },
      (ids) => ids.join(","),
      [],
    ),
    signal,
    onToken: () => {},
  });

  test("the wait queue is bounded: one more request is refused with QueueFullError", async () => {
    const s = new BatchScheduler(model, { maxBatch: 1, maxQueue: 2 });
    const ok = [s.submit(job("a")), s.submit(job("a"))];
    assert.throws(
      () => s.submit(job("a")),
      (e: unknown) => e instanceof QueueFullError && e.retryAfterSeconds >= 1,
    );
    for (const o of await Promise.all(ok)) assert.equal(o.finishReason, "length");
  });

  test("tenants take turns: a burst from one does not hold back another", async () => {
    const s = new BatchScheduler(model, { maxBatch: 1 });
    const done: string[] = [];
    const track = (name: string, tenant: string) => s.submit(job(tenant)).then(() => done.push(name));
    // submitted in this order; first come, first served would finish them in it too
    await Promise.all([
      track("x1", "x"),
      track("x2", "x"),
      track("x3", "x"),
      track("y1", "y"),
      track("y2", "y"),
      track("z1", "z"),
    ]);
    assert.deepEqual(done, ["x1", "y1", "z1", "x2", "y2", "x3"]);
  });

  test("a batch takes one row per tenant in turn before a second from any", async () => {
    const s = new BatchScheduler(model, { maxBatch: 3 });
    const first: string[] = [];
    const tagged = (name: string, tenant: string) => {
      const j = job(tenant, undefined, 4);
      j.onToken = () => {
        if (!first.includes(name) && first.length < 3) first.push(name);
      };
      return s.submit(j);
    };
    await Promise.all([
      tagged("x1", "x"),
      tagged("x2", "x"),
      tagged("x3", "x"),
      tagged("y1", "y"),
      tagged("z1", "z"),
    ]);
    // the first step's three rows: one of each tenant, x's burst waits for free slots
    assert.deepEqual(first.sort(), ["x1", "y1", "z1"]);
  });

  test("requests join the running batch between decode steps", async () => {
    const s = new BatchScheduler(model, { maxBatch: 4 });
    const long = job("a", undefined, 40);
    let longTokens = 0;
    let lateJoinedAt = -1;
    const batchSizes = new Set<number>();
    let late: Promise<unknown> | null = null;
    long.onToken = () => {
      longTokens++;
      batchSizes.add(s.batchSize);
      // a request arriving while the long one runs
      if (longTokens === 3) late = s.submit(job("b", undefined, 5)).then(() => (lateJoinedAt = longTokens));
    };
    const outcome = await s.submit(long);
    await late;
    assert.equal(outcome.completionTokens, 40);
    // the late request finished after 5 of its own steps, long before the long one's 40th
    assert.ok(lateJoinedAt > 3 && lateJoinedAt < 40, `the late request finished at step ${lateJoinedAt}`);
    assert.deepEqual([...batchSizes].sort(), [1, 2], "some steps ran both rows");
  });

  test("a request cancelled while queued or running stops there", async () => {
    const s = new BatchScheduler(model, { maxBatch: 1 });
    const queued = new AbortController();
    const running = new AbortController();
    const first = job("a", running.signal, 50);
    let seen = 0;
    first.onToken = () => {
      if (++seen === 2) running.abort();
    };
    const [r1, r2] = await Promise.all([s.submit(first), s.submit(job("b", queued.signal)), queued.abort()]);
    assert.deepEqual(r1, { finishReason: "cancelled", completionTokens: 2 });
    assert.deepEqual(r2, { finishReason: "cancelled", completionTokens: 0 });
  });
});
