import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { GradientStore } from "@openledger/attribution";
import { BlobIntegrityError, NotFoundError } from "@openledger/datanet";
import { getProvenance, publishModelVersion, registerModel } from "@openledger/sdk";
import OpenAI from "openai";
import { canonicalHash, sha256Hex } from "../src/canonical.ts";
import { type DatasetSource, datasetJsonl, datasetRecords } from "../src/dataset.ts";
import type { TrainingManifest } from "../src/manifest.ts";
import { ipfsUri, listPublishedModels, putJson, resolveModel } from "../src/models.ts";
import { verifyModel } from "../src/verify.ts";
import { DEMO_BASE, type Fixture, startFixture, waitForJob } from "./helpers.ts";

/** The `data:` frames of a server-sent event stream, parsed, up to `[DONE]`. */
const sseFrames = (text: string) =>
  text
    .split("\n\n")
    .filter((f) => f.startsWith("data: "))
    .map((f) => f.slice(6));

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
    // server-sent progress, from the first event until [DONE]
    const stream = fetch(`${fx.url}/v1/fine_tuning/jobs/${job.id}/events?stream=true`).then((r) => r.text());
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

    // the SSE stream: every step with loss, learning rate, tokens/s and ETA; eval results; the end state
    const frames = sseFrames(await stream);
    assert.equal(frames.at(-1), "[DONE]");
    const streamed = frames.slice(0, -1).map((f) => JSON.parse(f));
    const steps = streamed.filter((e) => e.type === "metrics" && "train_loss" in e.data).map((e) => e.data);
    assert.deepEqual(
      steps.map((d) => d.step),
      Array.from({ length: done.totalSteps }, (_, i) => i + 1),
    );
    for (const d of steps) {
      assert.equal(d.total_steps, done.totalSteps);
      assert.ok(Number.isFinite(d.train_loss) && d.train_loss > 0);
      assert.ok(d.learning_rate > 0 && d.tokens_per_second > 0 && d.eta_seconds >= 0, JSON.stringify(d));
    }
    assert.equal(steps.at(-1).eta_seconds, 0);
    const evals = streamed.filter((e) => e.type === "metrics" && "valid_loss" in e.data).map((e) => e.data);
    assert.ok(evals.length >= 2 && evals[0].step === 0 && evals.at(-1).step === done.totalSteps);
    assert.ok(
      evals.every((d) => Math.abs(Math.exp(d.valid_loss) - d.valid_perplexity) < 1e-6 * d.valid_perplexity),
    );
    assert.equal(streamed.at(-1).object, "fine_tuning.job");
    assert.equal(streamed.at(-1).status, "succeeded");

    // the manifest: each figure recomputed here from its source
    const manifest = JSON.parse(
      Buffer.from(await fx.factory.blobs.get(done.result!.artefacts.manifest)).toString("utf8"),
    ) as TrainingManifest;
    const snapshotId = done.spec.snapshots[0].id;
    const records = await datasetRecords(fx.datanets, [snapshotId]);
    const chain = await getProvenance(fx.factory.options.client, {
      registry: fx.addresses.modelRegistry,
      modelId: model.modelId,
      version: model.version,
    });
    assert.equal(manifest.baseModel.hash, sha256Hex(readFileSync(DEMO_BASE)));
    assert.equal(manifest.baseModel.hash, chain.baseModelHash);
    assert.deepEqual(
      manifest.snapshots.map((s) => s.root),
      [fx.datanets.getSnapshot(BigInt(snapshotId)).root],
    );
    assert.equal(manifest.configHash, canonicalHash(manifest.config));
    assert.equal(manifest.configHash, chain.trainingConfigHash);
    assert.equal(manifest.dataset.hash, sha256Hex(datasetJsonl(records)));
    assert.equal(manifest.dataset.records, records.length);
    assert.equal(manifest.dataset.trainExamples + manifest.dataset.heldOutExamples, records.length);
    const gguf = await fx.factory.blobs.get(done.result!.artefacts.gguf);
    assert.equal(manifest.adapter.gguf.hash, sha256Hex(gguf));
    assert.equal(manifest.adapter.gguf.hash, chain.adapterHash);
    assert.equal(manifest.metrics.heldOutLossAfter, done.result!.heldOutLossAfter);
    assert.equal(manifest.licences.length, 1);
    assert.match(manifest.licences[0].transactionHash ?? "", /^0x[0-9a-f]{64}$/);
    // the grad-v1 store: one 64-dim gradient per training example, tagged with its contribution
    const grads = GradientStore.load(await fx.factory.blobs.get(done.result!.artefacts.gradStore));
    assert.equal(grads.dims, manifest.gradients.dims);
    assert.equal(grads.contributionIds.length, manifest.dataset.trainExamples);
    const contributions = new Set(records.map((r) => BigInt(r.contributionId)));
    assert.ok(grads.contributionIds.every((id) => contributions.has(id)));
    assert.ok(grads.gradients.some((g) => g !== 0));

    const verified = await verifyModel(fx.registry, model.modelId, { datanets: fx.datanets });
    assert.ok(verified.ok, JSON.stringify(verified.checks.filter((c) => !c.ok)));
    const dataset = verified.checks.find((c) => c.what === "dataset hash")!;
    assert.ok(dataset.ok && !dataset.skipped, dataset.detail);
    assert.ok(verified.checks.some((c) => c.what === `licence of snapshot ${snapshotId}` && c.ok));
    assert.ok(verified.checks.length >= 10);

    // a copy published with a manifest whose licence transaction is some other transaction: verify
    // names exactly that check (the chain accepted the version; the licence evidence is what is false)
    const wallet = fx.factory.options.wallets[0];
    const forged = {
      ...manifest,
      name: "forged-licence",
      licences: [{ ...manifest.licences[0], transactionHash: done.result!.publishTxs![0] }],
    };
    const metadata = JSON.parse(
      Buffer.from(await fx.factory.blobs.get(done.result!.metadataCid!)).toString("utf8"),
    );
    const copy = await registerModel(wallet, {
      registry: fx.addresses.modelRegistry,
      metadataURI: ipfsUri(
        await putJson(fx.factory.blobs, {
          ...metadata,
          name: "forged-licence",
          manifest: ipfsUri(await putJson(fx.factory.blobs, forged)),
        }),
      ),
    });
    await publishModelVersion(wallet, {
      registry: fx.addresses.modelRegistry,
      modelId: copy.modelId,
      baseModelHash: chain.baseModelHash,
      adapterHash: chain.adapterHash,
      adapterURI: chain.adapterURI,
      snapshotIds: chain.snapshotIds,
      trainingConfigHash: chain.trainingConfigHash,
      pricePer1kTokens: 0n,
    });
    const refuted = await verifyModel(fx.registry, "forged-licence");
    assert.deepEqual(
      refuted.checks.filter((c) => !c.ok).map((c) => c.what),
      [`licence of snapshot ${snapshotId}`],
    );
    // without the Datanets' chunks the dataset hash is not re-derived, and verify says so
    const unchecked = refuted.checks.find((c) => c.what === "dataset hash")!;
    assert.ok(unchecked.skipped && /^skipped: the Datanets' chunks are not reachable/.test(unchecked.detail));

    // a copy whose manifest claims another dataset hash: re-derived from the chunks, it is named
    const tampered = await registerModel(wallet, {
      registry: fx.addresses.modelRegistry,
      metadataURI: ipfsUri(
        await putJson(fx.factory.blobs, {
          ...metadata,
          name: "tampered-dataset",
          manifest: ipfsUri(
            await putJson(fx.factory.blobs, {
              ...manifest,
              name: "tampered-dataset",
              dataset: { ...manifest.dataset, hash: `0x${"ab".repeat(32)}` },
            }),
          ),
        }),
      ),
    });
    await publishModelVersion(wallet, {
      registry: fx.addresses.modelRegistry,
      modelId: tampered.modelId,
      baseModelHash: chain.baseModelHash,
      adapterHash: chain.adapterHash,
      adapterURI: chain.adapterURI,
      snapshotIds: chain.snapshotIds,
      trainingConfigHash: chain.trainingConfigHash,
      pricePer1kTokens: 0n,
    });
    const wrongData = await verifyModel(fx.registry, "tampered-dataset", { datanets: fx.datanets });
    const failed = wrongData.checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.what),
      ["dataset hash"],
    );
    assert.match(failed[0].detail, /hash to 0x[0-9a-f]{64}, the manifest says 0xabab/);

    // chunks that are absent skip the check; chunks that are present but corrupt fail it
    const withChunkError = (err: Error): DatasetSource => ({
      snapshots: Object.assign(Object.create(fx.datanets.snapshots), {
        // biome-ignore lint/correctness/useYield: the read fails before the first chunk
        chunks: async function* () {
          throw err;
        },
      }),
    });
    const absent = await verifyModel(fx.registry, model.modelId, {
      datanets: withChunkError(new NotFoundError("blob_not_found", "blob bafk is not in the store")),
    });
    const skipped = absent.checks.find((c) => c.what === "dataset hash")!;
    assert.ok(absent.ok && skipped.skipped, skipped.detail);
    const corrupt = await verifyModel(fx.registry, model.modelId, {
      datanets: withChunkError(
        new BlobIntegrityError("bafk", "content does not match its hash (corrupted on disk)"),
      ),
    });
    assert.equal(corrupt.ok, false);
    assert.deepEqual(
      corrupt.checks.filter((c) => !c.ok).map((c) => [c.what, c.skipped]),
      [["dataset hash", undefined]],
    );
    assert.match(
      corrupt.checks.find((c) => c.what === "dataset hash")!.detail,
      /cannot be read: blob bafk: content does not match/,
    );
  });
});
