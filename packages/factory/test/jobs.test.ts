import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { cidForBytes } from "@openledger/datanet";
import { chunkContentHash, chunkLeaf, MerkleTree } from "@openledger/merkle";
import { readLlamaGguf, tokenizerFromHfJson, writeLlamaGguf } from "@openledger/ml";
import { getModel, listModelIds, registerModel } from "@openledger/sdk";
import Fastify from "fastify";
import OpenAI from "openai";
import { probeTokens } from "../src/base-check.ts";
import { sha256Hex } from "../src/canonical.ts";
import { checkRootsOnChain, rootSourceAt } from "../src/chain-roots.ts";
import { checkDatasetRoots, datasetRecords, resolveSnapshot } from "../src/dataset.ts";
import type { TrainingError } from "../src/errors.ts";
import { fineTuningRoutes } from "../src/http.ts";
import { parseHyperparameters } from "../src/hyperparameters.ts";
import { addBaseModel, cidOfUri, ipfsUri, listPublishedModels, putJson } from "../src/models.ts";
import { splitDataset } from "../src/train/examples.ts";
import { verifyModel } from "../src/verify.ts";
import { runWorker } from "../src/worker.ts";
import {
  accounts,
  DEMO_BASE,
  DEMO_TOKENIZER,
  type Fixture,
  startFixture,
  tempDir,
  waitForJob,
} from "./helpers.ts";

/** How many models ModelRegistry holds: registration alone counts, so "nothing published" means no change. */
const modelCount = async (fx: Fixture) =>
  (await listModelIds(fx.factory.options.client, { registry: fx.addresses.modelRegistry })).length;

const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", r));

/**
 * A relay in front of the server that edits the first chunk's text in the dataset it passes on and,
 * given `root`, also hands out that root for the job's first snapshot in the claim (a lying server);
 * given `base`, it hands out that file as the job's base, its CID and hash consistent with it.
 */
async function startRelay(fx: Fixture, root?: string, base?: Buffer) {
  const swapped = base && { cid: cidForBytes(base), hash: sha256Hex(base) };
  const relay = createHttpServer(async (req, res) => {
    const body: Buffer[] = [];
    for await (const b of req) body.push(b as Buffer);
    const headers: Record<string, string> = {};
    for (const h of ["authorization", "openledger-lease", "content-type"]) {
      if (typeof req.headers[h] === "string") headers[h] = req.headers[h] as string;
    }
    if (base && swapped && req.url === `/v1/factory/worker/blobs/${swapped.cid}`) {
      res.writeHead(200, { "content-type": "application/octet-stream" });
      res.end(base);
      return;
    }
    const up = await fetch(new URL(req.url!, fx.url), {
      method: req.method,
      headers,
      body: body.length ? Buffer.concat(body) : undefined,
    });
    let bytes = Buffer.from(await up.arrayBuffer());
    if (/\/dataset$/.test(req.url!) && up.ok) {
      const lines = bytes.toString("utf8").split("\n").filter(Boolean);
      lines[0] = JSON.stringify(editedRecord(JSON.parse(lines[0])));
      bytes = Buffer.from(`${lines.join("\n")}\n`);
    }
    if ((root || swapped) && /\/claim$/.test(req.url!) && up.status === 200) {
      const claim = JSON.parse(bytes.toString("utf8")) as {
        job: { spec: { snapshots: { root: string }[]; baseModel: { cid: string; hash: string } } };
      };
      if (root) claim.job.spec.snapshots[0].root = root;
      if (swapped) Object.assign(claim.job.spec.baseModel, swapped);
      bytes = Buffer.from(JSON.stringify(claim));
    }
    res.writeHead(up.status, {
      "content-type": up.headers.get("content-type") ?? "application/octet-stream",
    });
    res.end(up.status === 204 ? undefined : bytes);
  });
  await new Promise<void>((r) => relay.listen(0, "127.0.0.1", () => r()));
  return {
    url: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
    close: () => new Promise((r) => relay.close(r)),
  };
}

const editedRecord = <T extends { text: string }>(r: T): T => ({ ...r, text: `${r.text} (edited)` });

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
    // a registered base whose stored file was changed on disk afterwards (same CID, other bytes)
    const { config, weights, vocab } = readLlamaGguf(DEMO_BASE);
    weights.get("model.norm.weight")!.data[0] += 1;
    const copy = join(tempDir("factory-base-"), "edited.gguf");
    writeLlamaGguf(copy, { config, weights, vocab });
    await addBaseModel(fx.registry, fx.factory.options.wallets[0], {
      path: copy,
      name: "edited-base",
      tokenizerPath: DEMO_TOKENIZER,
    });
    const edited = (await listPublishedModels(fx.registry)).find((m) => m.name === "edited-base")!;
    const hex = edited.baseModel.hash.slice(2);
    writeFileSync(
      join(fx.dir, "blobs", hex.slice(0, 2), hex.slice(2, 4), edited.baseModel.cid),
      "not the model",
    );
    const changed = await refused({ ...ok, model: "edited-base" }, 400, /^base_model_hash_mismatch$/);
    assert.match(changed.message, /does not match its content hash/);
    // registered with the right hash of a file that is no model at all: the probe cannot load it
    const junk = Buffer.from("not a GGUF model");
    await registerModel(fx.factory.options.wallets[0], {
      registry: fx.addresses.modelRegistry,
      metadataURI: ipfsUri(
        await putJson(blobs, {
          name: "junk-base",
          kind: "base",
          baseModel: { name: "junk-base", hash: sha256Hex(junk), uri: ipfsUri((await blobs.put(junk)).cid) },
          tokenizer: ipfsUri(good.tokenizerCid),
        }),
      ),
    });
    const junkBase = await refused({ ...ok, model: "junk-base" }, 400, /^base_model_unloadable$/);
    assert.match(junkBase.message, /'junk-base' cannot be loaded by the training engine/);
    assert.equal((await openai.fineTuning.jobs.list()).data.length, 0);
  });

  test("a run that diverges (NaN) fails with its reason; a base whose logits overflow is refused up front; nothing is registered", async () => {
    const dir = tempDir("factory-nan-");
    const poisoned = (
      name: string,
      poison: (weights: Map<string, { data: Float32Array }>, vocabSize: number) => void,
    ) => {
      const { config, weights, vocab } = readLlamaGguf(DEMO_BASE);
      poison(weights, config.vocabSize);
      writeLlamaGguf(join(dir, `${name}.gguf`), { config, weights, vocab });
      return join(dir, `${name}.gguf`);
    };
    // Diverging mid-run: one token that only training examples read (never a held-out input) gets a
    // 1e30-scaled embedding. Its square overflows float32 inside RMSNorm, but only where it is an
    // input: the base model's held-out loss (and the add-base probe) stays finite; the first training
    // step through it turns the adapter's gradients, then the held-out loss, into NaN.
    const split = splitDataset(
      tokenizerFromHfJson(readFileSync(DEMO_TOKENIZER, "utf8")),
      await datasetRecords(fx.datanets, [resolveSnapshot(fx.datanets, fx.snapshot).id]),
      parseHyperparameters(tiny, undefined),
    );
    // (nor a token of the add-base probe, which must pass)
    const heldOut = new Set([
      ...split.heldOut.flatMap((t) => Array.from(t.example.tokens)),
      ...probeTokens(tokenizerFromHfJson(readFileSync(DEMO_TOKENIZER, "utf8"))),
    ]);
    const trainOnly = split.train
      .flatMap((t) => Array.from(t.example.tokens).slice(0, -1))
      .find((token) => !heldOut.has(token));
    assert.ok(trainOnly !== undefined);
    const diverging = poisoned("diverging-base", (w, vocabSize) => {
      const embed = w.get("model.embed_tokens.weight")!.data;
      const width = embed.length / vocabSize;
      for (let i = trainOnly * width; i < (trainOnly + 1) * width; i++) embed[i] *= 1e30;
    });
    await addBaseModel(fx.registry, fx.factory.options.wallets[0], {
      path: diverging,
      name: "diverging-base",
      tokenizerPath: DEMO_TOKENIZER,
    });
    // broken from the start: the final norm scaled so far that every logit overflows
    const overflowing = poisoned("overflowing-base", (w) => {
      const norm = w.get("model.norm.weight")!.data;
      for (let i = 0; i < norm.length; i++) norm[i] *= 1e38;
    });
    const models = await modelCount(fx);
    await assert.rejects(
      addBaseModel(fx.registry, fx.factory.options.wallets[0], {
        path: overflowing,
        name: "overflowing-base",
        tokenizerPath: DEMO_TOKENIZER,
      }),
      (err: Error & { code?: string }) =>
        err.code === "base_model_not_finite" &&
        /'overflowing-base' gives non-finite logits/.test(err.message),
    );
    assert.equal(await modelCount(fx), models);
    // registered some other way (straight to ModelRegistry), job creation still refuses it
    const blobs = fx.factory.blobs;
    const { cid } = await blobs.put(readFileSync(overflowing));
    const tokenizer = await blobs.put(readFileSync(DEMO_TOKENIZER));
    await registerModel(fx.factory.options.wallets[0], {
      registry: fx.addresses.modelRegistry,
      metadataURI: ipfsUri(
        await putJson(blobs, {
          name: "overflowing-base",
          kind: "base",
          baseModel: {
            name: "overflowing-base",
            hash: sha256Hex(readFileSync(overflowing)),
            uri: ipfsUri(cid),
          },
          tokenizer: ipfsUri(tokenizer.cid),
        }),
      ),
    });
    const refusedBase = await refused(
      { model: "overflowing-base", training_file: fx.snapshot, suffix: "nan" },
      400,
      /^base_model_not_finite$/,
    );
    assert.match(refusedBase.message, /non-finite logits/);
    const withBase = await modelCount(fx);
    const run = await openai.fineTuning.jobs.create({
      model: "diverging-base",
      training_file: fx.snapshot,
      suffix: "nan",
      hyperparameters: tiny,
    });
    const [worker] = fx.factory.startLocalWorkers(1, fx.url, { threads: 1, once: true, name: "nan" });
    const failed = await waitForJob(fx, run.id);
    await exited(worker);
    assert.equal(failed.status, "failed");
    assert.equal(failed.error?.code, "training_diverged");
    assert.match(failed.error!.message, /the (training|held-out) loss became NaN/);
    // it did start: the base model's held-out loss was finite at step 0, and steps ran
    const metrics = fx.factory.store.events(run.id).flatMap((e) => (e.type === "metrics" ? [e.data!] : []));
    assert.ok(metrics[0].step === 0 && Number.isFinite(metrics[0].valid_loss as number));
    assert.ok(metrics.some((d) => (d.step as number) >= 1 && d.train_loss !== undefined));
    assert.ok(failed.result === null && failed.error!.message.length > 40);
    assert.equal(await modelCount(fx), withBase);
    assert.ok(!(await listPublishedModels(fx.registry)).some((m) => /^ft:/.test(m.name)));
  });

  test("the openai client cancels a running job; the worker stops and nothing is published", async () => {
    const models = await modelCount(fx);
    const job = await openai.fineTuning.jobs.create({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "cancelled",
      hyperparameters: { n_epochs: 100, batch_size: 4 },
    });
    const lines: string[] = [];
    const [worker] = fx.factory.startLocalWorkers(1, fx.url, {
      threads: 1,
      once: true,
      name: "cancel",
      log: (l) => lines.push(l),
    });
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
    assert.equal(fx.factory.store.get(job.id).result, null);
    assert.equal(await modelCount(fx), models);
    // a local worker is given the server's chain: it checks roots against DatanetRegistry and the
    // base hash against ModelRegistry (and the job got as far as training: both checks passed)
    assert.ok(
      lines.some((l) => l.includes(`checked against DatanetRegistry ${fx.addresses.datanetRegistry}`)),
      lines.join("\n"),
    );
    assert.ok(
      lines.some((l) => l.includes(`checked against ModelRegistry ${fx.addresses.modelRegistry}`)),
      lines.join("\n"),
    );
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
    // the second worker really continued: its first step is the one after the checkpoint it loaded
    // (a restart from scratch would give the same bytes too, so the bytes alone would not show it)
    const events = fx.factory.store.events(resumed.id);
    const second = events.findIndex((e) => /Worker second-0 started the job/.test(e.message));
    const from = events.slice(second).find((e) => /Training on \d+ records/.test(e.message))!;
    const step = Number(/from step (\d+)$/.exec(from.message)?.[1]);
    assert.ok(step >= 1 && step < done.totalSteps, from.message);
    const firstStep = events.slice(second).find((e) => e.data?.train_loss !== undefined)!;
    assert.equal(firstStep.data!.step, step + 1);
    assert.equal(done.result!.adapterHash, ref.result!.adapterHash);
    const bytes = async (cid: string) => Buffer.from(await fx.factory.blobs.get(cid));
    assert.ok((await bytes(done.result!.artefacts.gguf)).equals(await bytes(ref.result!.artefacts.gguf)));
    const checkpoints = await openai.fineTuning.jobs.checkpoints.list(resumed.id);
    assert.ok(checkpoints.data.length >= 1);
    assert.match(checkpoints.data[0].fine_tuned_model_checkpoint, /ft:demo-base:resumed:ckpt-step-\d+/);

    // publish later. An earlier publishing try registered the model (with another job's manifest)
    // and died before its version: the model is invisible, and publishing reuses it and repoints it
    const wallet = fx.factory.options.wallets[0];
    const base = done.spec.baseModel;
    const interrupted = await registerModel(wallet, {
      registry: fx.addresses.modelRegistry,
      metadataURI: ipfsUri(
        await putJson(fx.factory.blobs, {
          name: "ft:demo-base:resumed",
          kind: "adapter",
          baseModel: { name: base.name, hash: base.hash, uri: ipfsUri(base.cid) },
          tokenizer: ipfsUri(base.tokenizerCid),
          manifest: ipfsUri(ref.result!.artefacts.manifest),
        }),
      ),
    });
    fx.factory.store.setResult(resumed.id, { ...done.result!, modelId: interrupted.modelId.toString() });
    assert.ok(!(await listPublishedModels(fx.registry)).some((m) => m.name === "ft:demo-base:resumed"));
    const models = await modelCount(fx);
    const published = await fx.factory.publishJob(resumed.id, 5n);
    assert.equal(published.result!.modelId, interrupted.modelId.toString());
    assert.equal(await modelCount(fx), models);
    const onChain = await getModel(fx.factory.options.client, {
      registry: fx.addresses.modelRegistry,
      modelId: interrupted.modelId,
    });
    const metadata = JSON.parse((await bytes(cidOfUri(onChain.metadataURI))).toString("utf8"));
    assert.equal(metadata.manifest, ipfsUri(done.result!.artefacts.manifest));
    const verified = await verifyModel(fx.registry, "ft:demo-base:resumed");
    assert.equal(verified.modelId, interrupted.modelId);
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

  test("an external trainer that fails or leaves no usable PEFT adapter fails the job with its reason", async () => {
    const models = await modelCount(fx);
    // rank 3: the trainer dies as a GPU job might; otherwise it "succeeds" but writes junk
    const command = `grep -q '"lora_rank": 3,' {config} && { echo 'CUDA out of memory' >&2; exit 3; }; echo '{}' > {output_dir}/adapter_config.json; echo junk > {output_dir}/adapter_model.safetensors`;
    const create = (suffix: string, rank: number) =>
      openai.fineTuning.jobs.create({
        model: "demo-base",
        training_file: fx.snapshot,
        suffix,
        // @ts-expect-error: lora_rank is an openledger hyperparameter
        hyperparameters: { ...tiny, lora_rank: rank },
      });
    const crashed = await create("ext-crash", 3);
    const junk = await create("ext-junk", 4);
    const [worker] = fx.factory.startLocalWorkers(1, fx.url, {
      threads: 1,
      once: true,
      externalCommand: command,
      name: "ext-bad",
    });
    const [a, b] = [await waitForJob(fx, crashed.id), await waitForJob(fx, junk.id)];
    await exited(worker);
    assert.equal(a.status, "failed");
    assert.equal(a.error?.code, "external_trainer_failed");
    assert.match(a.error!.message, /exited with 3: CUDA out of memory/);
    assert.equal(b.status, "failed");
    assert.equal(b.error?.code, "invalid_external_output");
    assert.match(b.error!.message, /no readable PEFT adapter/);
    assert.equal(await modelCount(fx), models);
  });

  test("a worker's upload that is not a LoRA adapter or lacks finite metrics fails the job and registers nothing", async () => {
    const auth = { authorization: `Bearer ${fx.factory.options.workerToken}` };
    const models = await modelCount(fx);
    const hostile = async (suffix: string, gguf: Uint8Array, metrics: Record<string, unknown>) => {
      // the claim is a long poll: asked with an empty queue, it answers with the job queued meanwhile
      const claim = fetch(`${fx.url}/v1/factory/worker/claim`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({ worker: "hostile", wait_ms: 30_000 }),
      });
      const job = await fx.factory.createJob({
        model: "demo-base",
        training_file: fx.snapshot,
        suffix,
        hyperparameters: tiny,
      });
      const { job: claimed, lease } = (await (await claim).json()) as {
        job: { id: string };
        lease: { token: string };
      };
      assert.equal(claimed.id, job.id);
      const headers = { ...auth, "openledger-lease": lease.token };
      const put = async (bytes: Uint8Array) => {
        const res = await fetch(`${fx.url}/v1/factory/worker/jobs/${job.id}/blobs`, {
          method: "PUT",
          headers: { ...headers, "content-type": "application/octet-stream" },
          body: bytes,
        });
        return ((await res.json()) as { cid: string }).cid;
      };
      const grads = await fx.factory.blobs.get(
        fx.factory.store.list().jobs.find((j) => j.result)!.result!.artefacts.gradStore,
      );
      const artefacts = {
        gguf: await put(gguf),
        peftConfig: await put(Buffer.from("{}")),
        peftWeights: await put(Buffer.from("junk")),
        gradStore: await put(grads),
      };
      const res = await fetch(`${fx.url}/v1/factory/worker/jobs/${job.id}/complete`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: JSON.stringify({ backend: "embedded", artefacts, metrics }),
      });
      const view = (await res.json()) as { status: string; error: { code: string; message: string } };
      assert.equal(view.status, "failed");
      assert.equal(view.error.code, "invalid_result");
      // the lease ended with the job: the worker may not keep uploading
      const late = await fetch(`${fx.url}/v1/factory/worker/jobs/${job.id}/heartbeat`, {
        method: "POST",
        headers: { ...headers, "content-type": "application/json" },
        body: "{}",
      });
      assert.equal(late.status, 409);
      return view.error.message;
    };
    const metrics = { heldOutLossBefore: 3, heldOutLossAfter: 2, trainedTokens: 100 };
    assert.match(await hostile("not-gguf", Buffer.from("GGUF but not really"), metrics), /does not parse/);
    const done = fx.factory.store.list().jobs.find((j) => j.status === "succeeded" && j.result)!;
    const adapter = await fx.factory.blobs.get(done.result!.artefacts.gguf);
    assert.match(
      await hostile("nan-metrics", adapter, { ...metrics, heldOutLossAfter: null }),
      /metrics\.heldOutLossAfter must be a finite number/,
    );
    assert.equal(await modelCount(fx), models);
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
    for (const wait of [-1, 1.5, "10", 3_600_000]) {
      const res = await fetch(`${fx.url}/v1/factory/worker/claim`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: auth },
        body: JSON.stringify({ worker: "w", wait_ms: wait }),
      });
      assert.equal(res.status, 400);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "invalid_wait");
    }
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
    // a published adapter is not a base to fine-tune
    await refused({ model: "ft:demo-base:external", training_file: fx.snapshot }, 400, /^not_a_base_model$/);
  });

  test("a worker whose server goes away waits for it and claims the next job once it is back", async () => {
    // a port with nothing on it yet: the server is "down" when the worker starts
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, "127.0.0.1", () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const lines: string[] = [];
    const stop = new AbortController();
    const worker = runWorker({
      server: `http://127.0.0.1:${port}`,
      token: fx.factory.options.workerToken,
      worker: "patient",
      workDir: tempDir("factory-patient-"),
      threads: 1,
      pollMs: 100,
      signal: stop.signal,
      log: (l) => lines.push(l),
    });
    while (!lines.some((l) => /^cannot reach/.test(l))) await new Promise((r) => setTimeout(r, 50));
    const app = Fastify({ logger: false });
    await app.register(fineTuningRoutes, { factory: fx.factory });
    await app.listen({ host: "127.0.0.1", port });
    const job = await fx.factory.createJob({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "patient",
      hyperparameters: { n_epochs: 1, batch_size: 8 },
      openledger: { publish: false },
    });
    const done = await waitForJob(fx, job.id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    assert.equal(done.worker, "patient");
    assert.ok(fx.factory.store.events(job.id).some((e) => /Worker patient started the job/.test(e.message)));
    assert.equal(lines.filter((l) => /^cannot reach/.test(l)).length, 1);
    assert.ok(lines.some((l) => /^reached .* again$/.test(l)));
    // without a chain to read roots from, it says so once
    assert.equal(lines.filter((l) => /roots are checked against the server only/.test(l)).length, 1);
    // stopping it ends its long poll at once
    stop.abort();
    assert.equal(await worker, 1);
    await app.close();
  });

  test("a worker checks what it trains on: altered chunk text or a swapped base file fails the job and publishes nothing", async () => {
    const models = await modelCount(fx);
    const relay = await startRelay(fx);
    const create = (suffix: string) =>
      fx.factory.createJob({
        model: "demo-base",
        training_file: fx.snapshot,
        suffix,
        hyperparameters: { n_epochs: 1, batch_size: 8 },
      });
    const work = (server: string, workDir: string) =>
      runWorker({
        server,
        token: fx.factory.options.workerToken,
        worker: "checker",
        workDir,
        threads: 1,
        once: true,
      });
    const edited = await create("edited-data");
    try {
      assert.equal(await work(relay.url, tempDir("factory-relay-")), 1);
      const e = fx.factory.store.get(edited.id);
      assert.equal(e.status, "failed");
      assert.equal(e.error?.code, "snapshot_data_mismatch");
      assert.match(
        e.error!.message,
        /snapshot wordnet-noun\.animal@1 \(id \d+\) does not match its on-chain root/,
      );
    } finally {
      await relay.close();
    }
    // a worker whose cached copy of the base (by CID) holds other bytes
    const base = (await listPublishedModels(fx.registry)).find((m) => m.name === "demo-base")!;
    const workDir = tempDir("factory-swapped-");
    mkdirSync(join(workDir, "cache"), { recursive: true });
    writeFileSync(join(workDir, "cache", base.baseModel.cid), readFileSync(DEMO_TOKENIZER));
    const swapped = await create("swapped-base");
    assert.equal(await work(fx.url, workDir), 1);
    const s = fx.factory.store.get(swapped.id);
    assert.equal(s.status, "failed");
    assert.equal(s.error?.code, "base_model_hash_mismatch");
    assert.match(
      s.error!.message,
      /base model file of 'demo-base' hashes to 0x[0-9a-f]{64}, not its registered/,
    );
    for (const j of [edited.id, swapped.id]) assert.equal(fx.factory.store.get(j).result, null);
    assert.equal(await modelCount(fx), models);
  });

  test("a worker given the chain refuses a job whose served data and root were altered together; nothing is published", async () => {
    const models = await modelCount(fx);
    const job = await fx.factory.createJob({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "forged-root",
      hyperparameters: { n_epochs: 1, batch_size: 8 },
    });
    const snapshot = fx.factory.store.get(job.id).spec.snapshots[0];
    // the root the edited chunks do build: the data check alone accepts data and root that agree
    const records = (await datasetRecords(fx.datanets, [snapshot.id])).map((r, i) =>
      i === 0 ? editedRecord(r) : r,
    );
    const forged = MerkleTree.build(
      records.map((r) => chunkLeaf(BigInt(r.contributionId), r.chunkIndex, chunkContentHash(r.text))),
    ).root;
    assert.doesNotThrow(() => checkDatasetRoots(records, [{ ...snapshot, root: forged }]));
    const relay = await startRelay(fx, forged);
    const lines: string[] = [];
    try {
      const done = await runWorker({
        server: relay.url,
        token: fx.factory.options.workerToken,
        worker: "chain-checker",
        workDir: tempDir("factory-forged-"),
        threads: 1,
        once: true,
        chain: rootSourceAt(fx.rpcUrl, fx.addresses.datanetRegistry),
        log: (l) => lines.push(l),
      });
      assert.equal(done, 1);
    } finally {
      await relay.close();
    }
    assert.match(lines[0], /roots are checked against DatanetRegistry 0x[0-9a-fA-F]{40}/);
    const failed = fx.factory.store.get(job.id);
    assert.equal(failed.status, "failed");
    assert.equal(failed.error?.code, "snapshot_root_mismatch");
    const message = failed.error!.message;
    assert.ok(message.includes(`snapshot ${snapshot.name} (id ${snapshot.id}) root ${forged}`), message);
    assert.ok(message.includes(`holds ${snapshot.root}`), message);
    assert.equal(failed.result, null);
    assert.equal(await modelCount(fx), models);
    // a snapshot id the registry does not know is refused the same way
    await assert.rejects(
      checkRootsOnChain(rootSourceAt(fx.rpcUrl, fx.addresses.datanetRegistry), [{ ...snapshot, id: 9999 }]),
      (err: TrainingError) =>
        err.code === "snapshot_root_mismatch" && /\(id 9999\) of this job does not exist/.test(err.message),
    );
  });

  test("a worker given ModelRegistry refuses a job whose base file and base hash were swapped together; nothing is published", async () => {
    const models = await modelCount(fx);
    const job = await fx.factory.createJob({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "forged-base",
      hyperparameters: { n_epochs: 1, batch_size: 8 },
    });
    const base = fx.factory.store.get(job.id).spec.baseModel;
    const other = readFileSync(DEMO_TOKENIZER);
    const relay = await startRelay(fx, undefined, other);
    const lines: string[] = [];
    try {
      const done = await runWorker({
        server: relay.url,
        token: fx.factory.options.workerToken,
        worker: "base-checker",
        workDir: tempDir("factory-forged-base-"),
        threads: 1,
        once: true,
        chain: rootSourceAt(fx.rpcUrl, fx.addresses.datanetRegistry, fx.addresses.modelRegistry),
        log: (l) => lines.push(l),
      });
      assert.equal(done, 1);
    } finally {
      await relay.close();
    }
    assert.ok(lines.some((l) => /base model hashes are checked against ModelRegistry 0x/.test(l)));
    const failed = fx.factory.store.get(job.id);
    assert.equal(failed.status, "failed");
    assert.equal(failed.error?.code, "base_model_registry_mismatch");
    const message = failed.error!.message;
    const forged = sha256Hex(other);
    assert.ok(message.includes(`base 'demo-base' (model id ${base.modelId}) hash ${forged}`), message);
    assert.ok(message.includes(`registers ${base.hash}`), message);
    assert.equal(failed.result, null);
    assert.equal(await modelCount(fx), models);
  });
});
