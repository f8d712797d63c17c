import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import { listPublishedModels, resolveModel } from "../src/models.ts";
import { verifyModel } from "../src/verify.ts";
import { type Fixture, startFixture, waitForJob } from "./helpers.ts";

describe("a tiny fine-tuning job end to end", () => {
  let fx: Fixture;
  let openai: OpenAI;
  before(async () => {
    fx = await startFixture();
    openai = new OpenAI({ baseURL: `${fx.url}/v1`, apiKey: "unused", maxRetries: 0 });
    fx.factory.startLocalWorkers(1, fx.url, { threads: 1, name: "e2e" });
  });
  after(async () => fx?.stop());

  test("the openai client creates and follows a job that lowers held-out loss, publishes and verifies", async () => {
    const job = await openai.fineTuning.jobs.create({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "animals",
      seed: 7,
      hyperparameters: { n_epochs: 2, batch_size: 4 },
    });
    assert.equal(job.status, "queued");
    assert.equal(job.model, "demo-base");
    const listed = await openai.fineTuning.jobs.list();
    assert.ok(listed.data.some((j) => j.id === job.id));
    // follow it the way an OpenAI client does: poll the job and page through new events
    let view = await openai.fineTuning.jobs.retrieve(job.id);
    const seen = new Set<string>();
    while (!["succeeded", "failed", "cancelled"].includes(view.status)) {
      for (const e of (await openai.fineTuning.jobs.listEvents(job.id, { limit: 100 })).data) seen.add(e.id);
      await new Promise((r) => setTimeout(r, 200));
      view = await openai.fineTuning.jobs.retrieve(job.id);
    }
    assert.equal(view.status, "succeeded", JSON.stringify(view.error));
    assert.ok(seen.size > 0);
    const done = await waitForJob(fx, job.id);
    assert.equal(view.fine_tuned_model, "ft:demo-base:animals");
    assert.ok(done.result!.heldOutLossAfter < done.result!.heldOutLossBefore);

    const events = [];
    for await (const e of openai.fineTuning.jobs.listEvents(job.id, { limit: 50 })) events.push(e);
    assert.ok(
      events.some(
        (e) => e.type === "metrics" && typeof (e.data as { train_loss?: number }).train_loss === "number",
      ),
    );
    assert.ok(events.some((e) => /Published/.test(e.message)));

    const model = await resolveModel(fx.registry, "ft:demo-base:animals");
    assert.equal(model.adapter?.hash, done.result!.adapterHash);
    assert.equal(model.baseModel.name, "demo-base");
    assert.equal(model.snapshotIds.length, 1);
    const all = await listPublishedModels(fx.registry);
    assert.deepEqual(all.map((m) => m.name).sort(), ["demo-base", "ft:demo-base:animals"]);

    // the report: curves, perplexity before and after, samples beside the base model's
    const report = JSON.parse(
      Buffer.from(await fx.factory.blobs.get(done.result!.artefacts.metrics)).toString("utf8"),
    );
    assert.equal(report.steps.length, done.totalSteps);
    assert.ok(report.evals.length >= 2 && report.evals[0].step === 0);
    assert.ok(report.perplexityAfter < report.perplexityBefore);
    assert.ok(report.samples.length >= 1 && typeof report.samples[0].base === "string");
    const html = Buffer.from(await fx.factory.blobs.get(done.result!.artefacts.reportHtml)).toString("utf8");
    assert.match(html, /<svg[^>]*aria-label="loss"[\s\S]*<polyline/);

    const verified = await verifyModel(fx.registry, model.modelId);
    assert.ok(verified.ok, JSON.stringify(verified.checks.filter((c) => !c.ok)));
    assert.ok(verified.checks.length >= 10);
  });
});
