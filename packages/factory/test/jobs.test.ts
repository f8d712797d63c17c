import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { readLlamaGguf, writeLlamaGguf } from "@openledger/ml";
import { registerModel } from "@openledger/sdk";
import OpenAI from "openai";
import { addBaseModel, ipfsUri, listPublishedModels, putJson } from "../src/models.ts";
import { verifyModel } from "../src/verify.ts";
import {
  accounts,
  DEMO_BASE,
  DEMO_TOKENIZER,
  type Fixture,
  startFixture,
  tempDir,
  waitForJob,
} from "./helpers.ts";

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", r));

describe("fine-tuning jobs", () => {
  let fx: Fixture;
  let openai: OpenAI;
  const tiny = { n_epochs: 2, batch_size: 4 };
  before(async () => {
    fx = await startFixture({ perDomain: 24, leaseMs: 5000, checkpointEvery: 3 });
    openai = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  after(async () => fx?.stop());

  const refused = async (body: Record<string, unknown>, status: number, code: RegExp) => {
    const res = await fetch(`${fx.url}/v1/fine_tuning/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { error: { code: string; message: string; type: string } };
    assert.equal(res.status, status, JSON.stringify(json));
    assert.match(json.error.code, code, json.error.message);
    assert.ok(json.error.message.length > 10);
    return json.error;
  };

  test("bad requests are refused with a specific OpenAI-shaped error and queue nothing", async () => {
    const ok = { model: "demo-base", training_file: fx.snapshot };
    // no licence: account 5 is an owner this server may act for, but holds no licence
    const e = await refused({ ...ok, openledger: { owner: accounts[5].address } }, 403, /^missing_license$/);
    assert.match(e.message, /wordnet-noun\.animal@1/);
    await refused({ ...ok, openledger: { owner: accounts[7].address } }, 403, /^unknown_owner$/);
    await refused({ ...ok, model: "no-such-base" }, 404, /^model_not_found$/);
    await refused({ ...ok, training_file: "wordnet-noun.animal@9" }, 404, /^snapshot_not_found$/);
    await refused({ ...ok, training_file: "no-such-datanet@1" }, 404, /^snapshot_not_found$/);
    await refused({ ...ok, hyperparameters: { n_epochs: 1000 } }, 400, /^hyperparameter_out_of_range$/);
    await refused({ ...ok, hyperparameters: { lora_rank: 0 } }, 400, /^hyperparameter_out_of_range$/);
    await refused({ ...ok, hyperparameters: { learning_rate: 5 } }, 400, /^hyperparameter_out_of_range$/);
    await refused({ ...ok, hyperparameters: { batch_size: 2.5 } }, 400, /^invalid_hyperparameter$/);
    await refused({ ...ok, hyperparameters: { lora_targets: ["lm_head"] } }, 400, /^invalid_hyperparameter$/);
    await refused({ ...ok, hyperparameters: { dropout: 0.1 } }, 400, /^unknown_hyperparameter$/);
    await refused({ ...ok, seed: -1 }, 400, /^hyperparameter_out_of_range$/);
    await refused({ ...ok, suffix: "../../etc" }, 400, /^invalid_suffix$/);
    await refused({ ...ok, validation_file: "x" }, 400, /^unsupported_parameter$/);
    await refused(
      { ...ok, openledger: { snapshots: Array.from({ length: 40 }, (_, i) => `d@${i + 1}`) } },
      400,
      /^too_many_snapshots$/,
    );
    await refused({ training_file: fx.snapshot }, 400, /^invalid_model$/);
    await refused({ model: "demo-base" }, 400, /^missing_training_file$/);
    const raw = await fetch(`${fx.url}/v1/fine_tuning/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: { type: string } }).error.type, "invalid_request_error");
    const big = await fetch(`${fx.url}/v1/fine_tuning/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...ok, metadata: { x: "y".repeat(2_000_000) } }),
    });
    assert.equal(big.status, 413);

    // a base whose registered hash differs from its file
    const blobs = fx.factory.blobs;
    const good = (await listPublishedModels(fx.registry)).find((m) => m.name === "demo-base")!;
    const metadata = {
      name: "tampered-base",
      kind: "base",
      baseModel: { name: "tampered-base", hash: `0x${"11".repeat(32)}`, uri: ipfsUri(good.baseModel.cid) },
      tokenizer: ipfsUri(good.tokenizerCid),
    };
    await registerModel(fx.factory.options.wallets[0], {
      registry: fx.addresses.modelRegistry,
      metadataURI: ipfsUri(await putJson(blobs, metadata)),
    });
    const mismatch = await refused({ ...ok, model: "tampered-base" }, 400, /^base_model_hash_mismatch$/);
    assert.match(mismatch.message, /0x1111/);
    // an adapter is not a base
    assert.equal((await openai.fineTuning.jobs.list()).data.length, 0);
  });

  test("a diverging (NaN) run fails with its reason and publishes nothing", async () => {
    const dir = tempDir("factory-nan-");
    const { config, weights, vocab } = readLlamaGguf(DEMO_BASE);
    const norm = weights.get("model.norm.weight")!;
    for (let i = 0; i < norm.data.length; i++) norm.data[i] *= 1e38;
    writeLlamaGguf(join(dir, "nan.gguf"), { config, weights, vocab });
    await addBaseModel(fx.registry, fx.factory.options.wallets[0], {
      path: join(dir, "nan.gguf"),
      name: "overflowing-base",
      tokenizerPath: DEMO_TOKENIZER,
    });
    const job = await openai.fineTuning.jobs.create({
      model: "overflowing-base",
      training_file: fx.snapshot,
      suffix: "nan",
      hyperparameters: tiny,
    });
    const [worker] = fx.factory.startLocalWorkers(1, fx.url, { threads: 1, once: true, name: "nan" });
    const done = await waitForJob(fx, job.id);
    await exited(worker);
    assert.equal(done.status, "failed");
    assert.equal(done.error?.code, "training_diverged");
    assert.match(done.error!.message, /NaN/);
    assert.ok(!(await listPublishedModels(fx.registry)).some((m) => m.name === "ft:overflowing-base:nan"));
  });

  test("the openai client cancels a running job; the worker stops and nothing is published", async () => {
    const job = await openai.fineTuning.jobs.create({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "cancelled",
      hyperparameters: { n_epochs: 100, batch_size: 4 },
    });
    const [worker] = fx.factory.startLocalWorkers(1, fx.url, { threads: 1, once: true, name: "cancel" });
    while (fx.factory.store.get(job.id).step < 2) await new Promise((r) => setTimeout(r, 50));
    const cancelled = await openai.fineTuning.jobs.cancel(job.id);
    assert.equal(cancelled.status, "cancelled");
    await exited(worker);
    assert.equal((await openai.fineTuning.jobs.retrieve(job.id)).status, "cancelled");
    await assert.rejects(
      openai.fineTuning.jobs.cancel(job.id),
      (err: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(err.status, 409);
        return true;
      },
    );
    assert.ok(!(await listPublishedModels(fx.registry)).some((m) => m.name === "ft:demo-base:cancelled"));
  });

  test("a worker killed mid-job is replaced and the job resumes from its checkpoint to the same adapter bytes", async () => {
    const create = (suffix: string) =>
      openai.fineTuning.jobs.create({
        model: "demo-base",
        training_file: fx.snapshot,
        suffix,
        seed: 3,
        hyperparameters: { n_epochs: 2, batch_size: 4 },
        // @ts-expect-error: the openledger extension field
        openledger: { publish: false },
      });
    const reference = await create("uninterrupted");
    const [w1] = fx.factory.startLocalWorkers(1, fx.url, { threads: 1, once: true, name: "ref" });
    const ref = await waitForJob(fx, reference.id);
    await exited(w1);
    assert.equal(ref.status, "succeeded", JSON.stringify(ref.error));

    const resumed = await create("resumed");
    const [w2] = fx.factory.startLocalWorkers(1, fx.url, { threads: 1, name: "doomed" });
    while (fx.factory.store.checkpoints(resumed.id).length === 0) await new Promise((r) => setTimeout(r, 20));
    w2.kill("SIGKILL");
    await exited(w2);
    while (fx.factory.store.get(resumed.id).status === "running")
      await new Promise((r) => setTimeout(r, 100));
    assert.equal(fx.factory.store.get(resumed.id).status, "queued");
    const [w3] = fx.factory.startLocalWorkers(1, fx.url, { threads: 1, once: true, name: "second" });
    const done = await waitForJob(fx, resumed.id);
    await exited(w3);
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    assert.ok(done.attempt >= 2);
    const messages = fx.factory.store.events(resumed.id).map((e) => e.message);
    assert.ok(messages.some((m) => /stopped heartbeating; job re-queued/.test(m)));
    assert.ok(messages.some((m) => /Resuming from the checkpoint at step \d+/.test(m)));
    assert.equal(done.result!.adapterHash, ref.result!.adapterHash);
    const bytes = async (cid: string) => Buffer.from(await fx.factory.blobs.get(cid));
    assert.ok((await bytes(done.result!.artefacts.gguf)).equals(await bytes(ref.result!.artefacts.gguf)));
    const checkpoints = await openai.fineTuning.jobs.checkpoints.list(resumed.id);
    assert.ok(checkpoints.data.length >= 1);
    assert.match(checkpoints.data[0].fine_tuned_model_checkpoint, /ft:demo-base:resumed:ckpt-step-\d+/);

    // publish later, then verify; a corrupted artefact is named
    const published = await fx.factory.publishJob(resumed.id, 5n);
    const verified = await verifyModel(fx.registry, BigInt(published.result!.modelId!));
    assert.ok(verified.ok, JSON.stringify(verified.checks.filter((c) => !c.ok)));
  });

  test("the external-trainer backend runs a configured command and imports its PEFT output; SSE follows it", async () => {
    const job = await openai.fineTuning.jobs.create({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "external",
      hyperparameters: tiny,
    });
    const stream = await fetch(`${fx.url}/v1/fine_tuning/jobs/${job.id}/events?stream=true`);
    assert.equal(stream.headers.get("content-type"), "text/event-stream");
    const own = new URL("../src/train/own-trainer-main.ts", import.meta.url).pathname;
    const command = `${process.execPath} --import ${import.meta.resolve("tsx")} ${own} {config}`;
    const [worker] = fx.factory.startLocalWorkers(1, fx.url, {
      threads: 1,
      once: true,
      externalCommand: command,
      name: "ext",
      log: (l) => process.env.FACTORY_TEST_LOG && console.error(new Date().toISOString(), l),
    });
    const text = await stream.text();
    await exited(worker);
    const frames = text
      .split("\n\n")
      .filter((f) => f.startsWith("data: "))
      .map((f) => f.slice(6));
    assert.equal(frames.at(-1), "[DONE]");
    const events = frames
      .slice(0, -1)
      .map((f) => JSON.parse(f) as { type?: string; status?: string; data?: Record<string, number> });
    assert.ok(events.some((e) => e.type === "metrics" && typeof e.data?.train_loss === "number"));
    assert.equal(events.at(-1)?.status, "succeeded");
    const done = fx.factory.store.get(job.id);
    assert.equal(done.result!.backend, "external");
    assert.ok(done.result!.heldOutLossAfter < done.result!.heldOutLossBefore);
    const verified = await verifyModel(fx.registry, "ft:demo-base:external");
    assert.ok(verified.ok, JSON.stringify(verified.checks.filter((c) => !c.ok)));
    // the report draws the curves
    const report = await fetch(`${fx.url}/v1/fine_tuning/jobs/${job.id}/report`);
    assert.match(await report.text(), /<svg[\s\S]*<polyline/);
  });

  test("worker routes refuse callers without the token or the lease", async () => {
    const claim = (auth?: string) =>
      fetch(`${fx.url}/v1/factory/worker/claim`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify({ worker: "intruder" }),
      });
    assert.equal((await claim()).status, 401);
    assert.equal((await claim("Bearer wrong")).status, 401);
    const auth = `Bearer ${fx.factory.options.workerToken}`;
    const done = (await openai.fineTuning.jobs.list()).data.find((j) => j.status === "succeeded")!;
    const hb = await fetch(`${fx.url}/v1/factory/worker/jobs/${done.id}/heartbeat`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: auth, "openledger-lease": "forged" },
      body: "{}",
    });
    assert.equal(hb.status, 409);
    const data = await fetch(`${fx.url}/v1/factory/worker/jobs/${done.id}/dataset`, {
      headers: { authorization: auth },
    });
    assert.equal(data.status, 400);
    await assert.rejects(
      openai.fineTuning.jobs.retrieve("ftjob-nope"),
      (err: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(err.status, 404);
        return true;
      },
    );
    const bad = await fetch(`${fx.url}/v1/fine_tuning/jobs?limit=0`);
    assert.equal(bad.status, 400);
  });
});
