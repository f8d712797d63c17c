// ModelFactory benchmark: a demo adapter (WordNet noun.animal, the demo hyperparameters) fine-tuned
// through the service (HTTP job, a worker process claiming it, dataset and base model fetched by
// content hash, heartbeats, events, checkpoints, uploads, manifest, publish) against the same
// pipeline called in this process (runEmbedded: load, eval, train, grad-v1 store, samples), in
// alternating pairs, plus the bare Trainer steps written against @openledger/ml; one compute thread
// each. `npm run bench -- factory`; FACTORY_BENCH_EPOCHS=n (default 12) and FACTORY_BENCH_PAIRS=n
// (default 3) change its length.
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { FileBlobStore, openDatanetService, seedWordnet } from "@openledger/datanet";
import { devAccounts, startAnvil } from "@openledger/devnet";
import {
  addBaseModel,
  DEMO_HYPERPARAMETERS,
  datasetRecords,
  fineTuningRoutes,
  openFactory,
  parseHyperparameters,
  runEmbedded,
  splitDataset,
  totalStepsFor,
} from "@openledger/factory";
import { Engine, LlamaModel, readLlamaGguf, Trainer, tokenizerFromHfJson } from "@openledger/ml";
import { connect, deployProtocol } from "@openledger/sdk";
import Fastify from "fastify";
import { privateKeyToAccount } from "viem/accounts";

const BASE = new URL("../packages/ml/recipes/demo-base/out/demo-base.gguf", import.meta.url).pathname;
const TOKENIZER = new URL("../packages/ml/recipes/demo-base/out/tokenizer.json", import.meta.url).pathname;
const hyper = { ...DEMO_HYPERPARAMETERS, n_epochs: Number(process.env.FACTORY_BENCH_EPOCHS ?? 12) };
const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

const anvil = await startAnvil({ extraArgs: ["--disable-code-size-limit"] });
const keys = devAccounts.slice(0, 4).map((a) => a.privateKey);
const accounts = keys.map((k) => privateKeyToAccount(k));
const { walletClient, publicClient } = await connect(anvil.rpcUrl, keys[0]);
const { addresses } = await deployProtocol(walletClient!, publicClient, {
  deploymentsDir: tmp("fb-deploy-"),
});
const dir = tmp("fb-");
const datanets = await openDatanetService({
  dataDir: join(dir, "datanet"),
  rpcUrl: anvil.rpcUrl,
  registry: addresses.datanetRegistry,
  token: addresses.token,
  privateKeys: keys,
});
const seeded = await seedWordnet(datanets, {
  owner: accounts[0],
  contributors: accounts.slice(1, 3),
  perDomain: 60,
  domains: ["noun.animal"],
});
const snapshotId = seeded.snapshots[0].snapshotId;
await datanets.buyLicense(accounts[0].address, snapshotId);
const factory = await openFactory({
  dataDir: join(dir, "factory"),
  rpcUrl: anvil.rpcUrl,
  privateKeys: [keys[0]],
  blobs: new FileBlobStore(join(dir, "blobs")),
  datanets,
  modelRegistry: addresses.modelRegistry,
  datanetRegistry: addresses.datanetRegistry,
});
await addBaseModel(factory.registry, factory.options.wallets[0], {
  path: BASE,
  name: "demo-base",
  tokenizerPath: TOKENIZER,
});
const app = Fastify({ logger: false });
await app.register(fineTuningRoutes, { factory });
const url = await app.listen({ host: "127.0.0.1", port: 0 });

// --- through the service: job creation to published model, worker in its own process
factory.startLocalWorkers(1, url, { threads: 1, name: "bench" });
async function finished(id: string) {
  let job = factory.store.get(id);
  while (!["succeeded", "failed", "cancelled"].includes(job.status)) {
    await new Promise((r) => setTimeout(r, 50));
    job = factory.store.get(id);
  }
  return job;
}
// a one-epoch warm-up job, unpublished, so the clock starts with a running, idle worker (as in `up`)
await finished(
  (
    await factory.createJob({
      model: "demo-base",
      training_file: "wordnet-noun.animal@1",
      hyperparameters: { ...hyper, n_epochs: 1 },
      openledger: { name: "bench-warm-up", publish: false },
    })
  ).id,
);
/** One demo adapter through the service: job created -> published; wall seconds and training tokens/s. */
async function throughService(pair: number) {
  const t0 = performance.now();
  const job = await factory.createJob({
    model: "demo-base",
    training_file: "wordnet-noun.animal@1",
    seed: 1,
    hyperparameters: hyper,
    openledger: { name: `bench-noun.animal-${pair}` },
  });
  const done = await finished(job.id);
  const wall = (performance.now() - t0) / 1000;
  if (done.status !== "succeeded") throw new Error(`bench job ${done.status}: ${done.error?.message}`);
  const metrics = JSON.parse(
    Buffer.from(await factory.blobs.get(done.result!.artefacts.metrics)).toString("utf8"),
  );
  return { wall, tps: metrics.tokensPerSecond as number };
}

// --- directly: the same examples, Trainer options and steps, on one thread
async function direct(relaxedSimd: boolean) {
  const config = parseHyperparameters(hyper, 1);
  const records = await datasetRecords(datanets, [Number(snapshotId)]);
  const start = performance.now();
  const engine = await Engine.create({ threads: 1, relaxedSimd });
  const { config: mc, weights } = readLlamaGguf(BASE);
  const model = LlamaModel.fromWeights(engine, mc, weights);
  const tokenizer = tokenizerFromHfJson(readFileSync(TOKENIZER, "utf8"));
  const train = splitDataset(tokenizer, records, config).train.map((t) => t.example);
  const totalSteps = totalStepsFor(train.length, config);
  const trainer = new Trainer(model, {
    mode: "lora",
    lora: { rank: config.rank, alpha: config.alpha, targets: config.targets },
    learningRate: config.learningRate,
    warmupSteps: config.warmupSteps,
    totalSteps,
    weightDecay: config.weightDecay,
    seed: config.seed,
    batchSize: config.batchSize,
    gradClip: 1,
  });
  let tokens = 0;
  let stepMs = 0;
  while (trainer.step < totalSteps) {
    const s = performance.now();
    tokens += trainer.trainStep(trainer.batchFor(train, trainer.step)).tokens;
    stepMs += performance.now() - s;
  }
  const wall = (performance.now() - start) / 1000;
  trainer.free();
  model.free();
  await engine.close();
  return { tps: tokens / (stepMs / 1000), wall, steps: totalSteps, tokens };
}
// --- the same pipeline the worker runs (load, held-out eval before/after, training, grad-v1 store,
// samples), called in this process without the service: what the service adds is the rest
async function pipeline() {
  const records = await datasetRecords(datanets, [Number(snapshotId)]);
  const start = performance.now();
  const out = await runEmbedded({
    baseGgufPath: BASE,
    tokenizerJson: readFileSync(TOKENIZER, "utf8"),
    records,
    config: parseHyperparameters(hyper, 1),
    workDir: tmp("fb-pipeline-"),
    threads: 1,
  });
  return { wall: (performance.now() - start) / 1000, tps: out.metrics.tokensPerSecond };
}
// the machine's load drifts by the minute, so service and in-process runs alternate, pair by pair
const pairs = Number(process.env.FACTORY_BENCH_PAIRS ?? 3);
const runs: { service: { wall: number; tps: number }; inProcess: { wall: number; tps: number } }[] = [];
for (let i = 0; i < pairs; i++) runs.push({ service: await throughService(i), inProcess: await pipeline() });
const plain = await direct(false);
const relaxed = await direct(true);
const median = (xs: number[]) => {
  const sorted = [...xs].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};
const pct = (ratio: number) => `${((ratio - 1) * 100).toFixed(1)}%`;

console.log(
  "ModelFactory: demo adapter (noun.animal, 60 synsets), one compute thread; shared, loaded 2-core machine",
);
console.log(`  steps ${plain.steps}, ${plain.tokens} training tokens, epochs ${hyper.n_epochs}`);
console.log(`  ${pairs} alternating pairs: through the service (job created -> published: claim, fetch,
  load, eval before/after, train, grad-v1 store, samples, uploads, manifest, 2 transactions) against the
  same pipeline in-process (runEmbedded, no service)`);
for (const [i, r] of runs.entries()) {
  console.log(
    `  pair ${i + 1}  wall ${r.service.wall.toFixed(2)} s vs ${r.inProcess.wall.toFixed(2)} s (${pct(r.service.wall / r.inProcess.wall)})   training ${r.service.tps.toFixed(0)} vs ${r.inProcess.tps.toFixed(0)} tokens/s (${pct(r.inProcess.tps / r.service.tps)})`,
  );
}
console.log(
  `  median service overhead: wall ${pct(median(runs.map((r) => r.service.wall / r.inProcess.wall)))}, training tokens/s ${pct(median(runs.map((r) => r.inProcess.tps / r.service.tps)))}`,
);
console.log(
  `  calling ml directly (load + Trainer steps only): ${plain.wall.toFixed(2)} s, ${plain.tps.toFixed(0)} tokens/s; relaxed SIMD (not bit-reproducible across CPUs) ${relaxed.tps.toFixed(0)} tokens/s`,
);

await app.close();
await factory.close();
datanets.close();
await anvil.stop();
