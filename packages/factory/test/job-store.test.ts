// The queue itself, on a real SQLite file: leases, heartbeats, re-queueing a silent worker's job,
// cancellation, and state surviving a server restart (the file reopened). Times are passed in, so
// nothing here waits or depends on the clock.
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { FactoryError } from "../src/errors.ts";
import { type JobSpec, JobStore } from "../src/job-store.ts";
import { tempDir } from "./helpers.ts";

const spec = { name: "ft:demo-base:queue", snapshots: [] } as unknown as JobSpec;
const LEASE = 30_000;
const T = 1_000_000;

const refusedWith = (code: string) => (err: unknown) => {
  assert.ok(err instanceof FactoryError, String(err));
  assert.equal(err.code, code);
  assert.equal(err.status, 409);
  return true;
};

test("a job survives a restart, a silent worker's lease expires, and the next worker takes it over", () => {
  const path = join(tempDir("factory-queue-"), "jobs.sqlite");
  let store = new JobStore(path);
  const job = store.create(spec);
  const first = store.claim("w1", LEASE, T)!;
  assert.equal(first.job.id, job.id);
  assert.equal(first.job.attempt, 1);
  assert.equal(store.claim("w2", LEASE, T), null, "one job, one lease");
  assert.throws(() => store.heartbeat(job.id, "forged", LEASE, {}, T), refusedWith("lease_lost"));
  store.heartbeat(job.id, first.token, LEASE, { step: 4, totalSteps: 9, trainedTokens: 400 }, T + 20_000);
  store.addCheckpoint(job.id, 3, "cid-3", { step: 3 });
  store.addCheckpoint(job.id, 6, "cid-6", { step: 6 });
  store.close();

  // the server restarts: the job, its progress, lease and checkpoints are all still there
  store = new JobStore(path);
  const reopened = store.get(job.id);
  assert.equal(reopened.status, "running");
  assert.deepEqual([reopened.step, reopened.totalSteps, reopened.worker], [4, 9, "w1"]);
  assert.deepEqual(
    store.checkpoints(job.id).map((c) => [c.step, c.cid]),
    [
      [6, "cid-6"],
      [3, "cid-3"],
    ],
  );
  // the heartbeat extended the lease, so at the old expiry it still holds
  assert.equal(store.claim("w2", LEASE, T + LEASE + 1), null);
  // w1 stays silent past its lease: the next claim re-queues the job and hands it to w2
  const second = store.claim("w2", LEASE, T + 20_000 + LEASE + 1)!;
  assert.equal(second.job.id, job.id);
  assert.equal(second.job.attempt, 2);
  assert.ok(
    store.events(job.id).some((e) => e.level === "warn" && /Worker w1 stopped heartbeating/.test(e.message)),
  );
  // w1 comes back: everything it sends is refused
  assert.throws(() => store.heartbeat(job.id, first.token, LEASE), refusedWith("lease_lost"));
  assert.throws(() => store.leased(job.id, first.token), refusedWith("lease_lost"));
  assert.equal(store.leased(job.id, second.token).worker, "w2");
  store.close();
});

test("cancelling ends a queued or running job once; its worker's lease is gone", () => {
  const store = new JobStore(join(tempDir("factory-queue-"), "jobs.sqlite"));
  const queued = store.create(spec);
  assert.equal(store.cancel(queued.id).status, "cancelled");
  assert.throws(() => store.cancel(queued.id), refusedWith("job_finished"));
  const running = store.create(spec);
  const lease = store.claim("w1", LEASE, T)!;
  assert.equal(lease.job.id, running.id);
  store.cancel(running.id);
  assert.throws(
    () => store.heartbeat(running.id, lease.token, LEASE, {}, T + 1),
    refusedWith("job_cancelled"),
  );
  // a cancelled job is never re-queued, however long its lease is overdue
  assert.deepEqual(store.requeueExpired(T + 10 * LEASE), []);
  assert.equal(store.claim("w2", LEASE, T + 10 * LEASE), null);
  assert.throws(
    () => store.get("ftjob-missing"),
    (err: unknown) => (err as FactoryError).status === 404,
  );
  store.close();
});
