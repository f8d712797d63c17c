import assert from "node:assert/strict";
import { type ChildProcess, execFile } from "node:child_process";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { llamaConfigToHf, readLlamaGguf, writeLlamaGguf, writeSafetensors } from "@openledger/ml";
import { CID } from "multiformats/cid";
import { startDemoAdapters, waitForJobs } from "../src/demo.ts";
import { DEMO_BASE, DEMO_TOKENIZER, type Fixture, startFixture, tempDir } from "./helpers.ts";

const BIN = new URL("../../cli/bin/openledger.js", import.meta.url).pathname;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 120_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe("the openledger train / jobs / models commands", () => {
  let fx: Fixture;
  let chainArgs: string[];
  let local: ChildProcess;
  before(async () => {
    fx = await startFixture({ perDomain: 20 });
    [local] = fx.factory.startLocalWorkers(1, fx.url, { threads: 1, name: "cli" });
    chainArgs = ["--rpc", fx.rpcUrl, "--data-dir", fx.dir, "--deployments", fx.deploymentsDir];
  });
  after(async () => fx?.stop());

  test("train --follow runs a job to a published, verifiable model", async () => {
    const run = await cli([
      "train",
      "--base",
      "demo-base",
      "--snapshot",
      fx.snapshot,
      "--epochs",
      "1",
      "--batch",
      "4",
      "--suffix",
      "cli",
      "--follow",
      "--api",
      fx.url,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const id = /job (ftjob-[0-9a-f]+) queued/.exec(run.stdout)![1];
    assert.match(run.stdout, /succeeded/);
    assert.match(run.stdout, /published {3}model \d+ version 1/);
    assert.match(run.stdout, /Published ft:demo-base:cli/);
    // the progress bar (on stderr; without a terminal, every 10th and the last step as lines)
    assert.match(run.stderr, /^\[#{28}\] (\d+)\/\1 loss \d+\.\d{4} lr \d\.\d{2}e[-+]\d+ \d+ tok\/s eta 0s$/m);

    const list = await cli(["jobs", "list", "--api", fx.url]);
    assert.match(list.stdout, new RegExp(`${id}  succeeded`));
    const show = await cli(["jobs", "show", id, "--api", fx.url]);
    assert.match(show.stdout, /held-out {4}loss \d+\.\d+ -> \d+\.\d+/);
    const events = await cli(["jobs", "events", id, "--api", fx.url]);
    assert.match(events.stdout, /Validated: base demo-base/);

    const models = await cli(["models", "list", ...chainArgs]);
    assert.match(models.stdout, /adapter {2}ft:demo-base:cli/);
    assert.match(models.stdout, /base {5}demo-base/);
    const shown = await cli(["models", "show", "ft:demo-base:cli", ...chainArgs]);
    assert.match(shown.stdout, /perplexity {2}\d+\.\d+ -> \d+\.\d+/);
    const ok = await cli(["models", "verify", "ft:demo-base:cli", ...chainArgs]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /verified: \d+ checks, 1 skipped/);
    // the Datanet data dir is held by the running service (as under `openledger up`): said, not hidden
    assert.match(
      ok.stdout,
      /^skipped +dataset hash +skipped: the Datanets' chunks are not reachable here \(.*in use by process \d+.*\)$/m,
    );

    // corrupt the stored PEFT weights: verify names exactly that artefact and exits non-zero
    const manifest = JSON.parse(
      (await cli(["models", "show", "ft:demo-base:cli", "--json", ...chainArgs])).stdout,
    ).manifest;
    const cid = manifest.adapter.peftWeights.uri.slice("ipfs://".length);
    const hex = Buffer.from(CID.parse(cid).multihash.digest).toString("hex");
    writeFileSync(join(fx.dir, "blobs", hex.slice(0, 2), hex.slice(2, 4), cid), "tampered");
    const bad = await cli(["models", "verify", "ft:demo-base:cli", ...chainArgs]);
    assert.equal(bad.code, 1);
    assert.match(bad.stdout, /MISMATCH {2}PEFT adapter_model\.safetensors/);
    assert.equal(bad.stderr.trim().split("\n").length, 1);
    assert.match(
      bad.stderr,
      /^error: ft:demo-base:cli \(model \d+\) failed verification: PEFT adapter_model\.safetensors\n$/,
    );
  });

  test("bad input gets one error line and a non-zero exit", async () => {
    const unknown = await cli(["train", "--base", "nope", "--snapshot", fx.snapshot, "--api", fx.url]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /^error: no published model 'nope'.*\(model_not_found\)\n$/);
    const range = await cli([
      "train",
      "--base",
      "demo-base",
      "--snapshot",
      fx.snapshot,
      "--rank",
      "999",
      "--api",
      fx.url,
    ]);
    assert.match(
      range.stderr,
      /^error: hyperparameters\.lora_rank must be in 1\.\.256, got 999 \(hyperparameter_out_of_range\)\n$/,
    );
    const cancel = await cli(["jobs", "cancel", "ftjob-nope", "--api", fx.url]);
    assert.equal(cancel.code, 1);
    assert.match(cancel.stderr, /^error: no fine-tuning job 'ftjob-nope' \(job_not_found\)\n$/);
    const again = await cli(["models", "add-base", DEMO_BASE, "--name", "demo-base", ...chainArgs]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /already registered: demo-base/);
    // a base whose final norm overflows every logit is refused before anything is registered
    const { config, weights, vocab } = readLlamaGguf(DEMO_BASE);
    const norm = weights.get("model.norm.weight")!.data;
    for (let i = 0; i < norm.length; i++) norm[i] *= 1e38;
    const overflowing = join(tempDir("factory-cli-nan-"), "overflowing.gguf");
    writeLlamaGguf(overflowing, { config, weights, vocab });
    const nan = await cli(["models", "add-base", overflowing, "--tokenizer", DEMO_TOKENIZER, ...chainArgs]);
    assert.equal(nan.code, 1);
    assert.match(nan.stderr, /^error: base model 'overflowing' gives non-finite logits [^\n]*\n$/);
    const listed = await cli(["models", "list", ...chainArgs]);
    assert.doesNotMatch(listed.stdout, /overflowing/);
    const missing = await cli(["models", "add-base", "/nonexistent.gguf", ...chainArgs]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: \/nonexistent\.gguf does not exist\n$/);
  });

  test("add-base converts a Hugging Face LLaMA or Qwen2 folder (config.json + safetensors) to GGUF and registers it", async () => {
    const hf = tempDir("factory-hf-");
    const { config, weights } = readLlamaGguf(DEMO_BASE);
    writeFileSync(join(hf, "config.json"), JSON.stringify(llamaConfigToHf(config)));
    writeSafetensors(join(hf, "model.safetensors"), weights);
    copyFileSync(DEMO_TOKENIZER, join(hf, "tokenizer.json"));
    const added = await cli(["models", "add-base", hf, "--name", "demo-base-hf", ...chainArgs]);
    assert.equal(added.code, 0, added.stderr);
    assert.match(added.stdout, /^registered: demo-base-hf {2}model \d+ {2}0x[0-9a-f]{64}/);
    const verified = await cli(["models", "verify", "demo-base-hf", ...chainArgs]);
    assert.equal(verified.code, 0, verified.stderr);
    // a Qwen2 folder (q/k/v biases, NeoX rope): the demo weights with zero biases; it registers and
    // a job fine-tunes it like any base
    const qwen = tempDir("factory-qwen2-");
    const qwenWeights = new Map(weights);
    for (let l = 0; l < config.numLayers; l++) {
      for (const [proj, heads] of [
        ["q_proj", config.numHeads],
        ["k_proj", config.numKvHeads],
        ["v_proj", config.numKvHeads],
      ] as const) {
        const n = heads * config.headDim;
        qwenWeights.set(`model.layers.${l}.self_attn.${proj}.bias`, {
          shape: [n],
          data: new Float32Array(n),
        });
      }
    }
    const qwenConfig = { ...config, architecture: "qwen2" as const, attentionBias: true };
    writeFileSync(join(qwen, "config.json"), JSON.stringify(llamaConfigToHf(qwenConfig)));
    writeSafetensors(join(qwen, "model.safetensors"), qwenWeights);
    copyFileSync(DEMO_TOKENIZER, join(qwen, "tokenizer.json"));
    const addedQwen = await cli(["models", "add-base", qwen, "--name", "demo-base-qwen2", ...chainArgs]);
    assert.equal(addedQwen.code, 0, addedQwen.stderr);
    const trained = await cli([
      "train",
      "--base",
      "demo-base-qwen2",
      "--snapshot",
      fx.snapshot,
      "--epochs",
      "1",
      "--batch",
      "4",
      "--suffix",
      "qwen2",
      "--follow",
      "--api",
      fx.url,
    ]);
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout, /Published ft:demo-base-qwen2:qwen2/);
    assert.equal((await cli(["models", "verify", "ft:demo-base-qwen2:qwen2", ...chainArgs])).code, 0);

    const notModel = await cli(["models", "add-base", DEMO_TOKENIZER, "--name", "junk", ...chainArgs]);
    assert.equal(notModel.code, 1);
    assert.equal(notModel.stderr.split("\n").filter(Boolean).length, 1);
  });

  test("the demo flow licenses, queues, trains and publishes demo-<domain> once", async () => {
    const ids = await startDemoAdapters(fx.factory, fx.url, {
      domains: ["noun.animal", "noun.food"],
      workers: 0,
    });
    assert.equal(ids.length, 1); // noun.food has no Datanet in this fixture
    await waitForJobs(fx.factory, ids);
    assert.equal(fx.factory.store.get(ids[0]).status, "succeeded");
    const models = await cli(["models", "list", ...chainArgs]);
    assert.match(models.stdout, /demo-noun\.animal/);
    assert.deepEqual(
      await startDemoAdapters(fx.factory, fx.url, { domains: ["noun.animal"], workers: 0 }),
      [],
    );
  });

  test("openledger worker --server claims a job over HTTP, trains it and uploads the result", async () => {
    local.kill("SIGTERM");
    if (local.exitCode === null && local.signalCode === null) await new Promise((r) => local.once("exit", r));
    const job = await fx.factory.createJob({
      model: "demo-base",
      training_file: fx.snapshot,
      suffix: "remote",
      hyperparameters: { n_epochs: 1, batch_size: 4 },
      openledger: { publish: false },
    });
    const run = await cli([
      "worker",
      "--server",
      fx.url,
      "--token",
      fx.factory.options.workerToken,
      "--name",
      "remote-1",
      "--work-dir",
      tempDir("factory-remote-"),
      "--threads",
      "1",
      "--once",
      "--rpc",
      fx.rpcUrl,
      "--deployments",
      fx.deploymentsDir,
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /snapshot roots are checked against DatanetRegistry 0x/i);
    assert.match(run.stderr, /base model hashes are checked against ModelRegistry 0x/i);
    const done = fx.factory.store.get(job.id);
    assert.equal(done.status, "succeeded", JSON.stringify(done.error));
    assert.ok(fx.factory.store.events(job.id).some((e) => /Worker remote-1 started the job/.test(e.message)));
    const refused = await cli(["worker", "--server", fx.url, "--token", "wrong", "--once"]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /HTTP 401/);
    assert.match(refused.stderr, /snapshot roots are checked against the server only/);
    // --rpc with no DatanetRegistry to read from: refused before claiming anything
    const token = fx.factory.options.workerToken;
    const noDeployment = await cli([
      "worker",
      "--server",
      fx.url,
      "--token",
      token,
      "--once",
      "--rpc",
      fx.rpcUrl,
      "--deployments",
      tempDir("factory-nodeploy-"),
    ]);
    assert.equal(noDeployment.code, 1);
    assert.match(
      noDeployment.stderr,
      /^error: no DatanetRegistry deployment for chain \d+ in .*--datanet-registry\n$/,
    );

    // trained with publishing off: `models publish` puts it on-chain once, at the price given
    const published = await cli(["models", "publish", job.id, "--price", "7", "--api", fx.url]);
    assert.equal(published.code, 0, published.stderr);
    assert.match(published.stdout, /^published ft:demo-base:remote as model \d+ version 1\n$/);
    const shown = JSON.parse(
      (await cli(["models", "show", "ft:demo-base:remote", "--json", ...chainArgs])).stdout,
    );
    assert.equal(String(shown.pricePer1kTokens), "7");
    const again = await cli(["models", "publish", job.id, "--api", fx.url]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /^error: .*already published.*\(already_published\)\n$/);
    assert.equal((await cli(["models", "verify", "ft:demo-base:remote", ...chainArgs])).code, 0);
  });
});
