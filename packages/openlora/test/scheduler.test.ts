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
    await Promise.all([track("x1", "x"), track("x2", "x"), track("x3", "x"), track("y1", "y")]);
    assert.deepEqual(done, ["x1", "y1", "x2", "x3"]);
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
