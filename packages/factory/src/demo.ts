// What `openledger up` runs: the factory on the stack's chain, content store and Datanets, one local
// worker process, and the demo adapters fine-tuned and published in the background.
import { join } from "node:path";
import { type DatanetService, FileBlobStore } from "@openledger/datanet";
import { datanetRegistryAbi, tokenBalance, wrapOpen } from "@openledger/sdk";
import type { Address, Hex } from "viem";
import { resolveSnapshot } from "./dataset.ts";
import { TERMINAL } from "./job-store.ts";
import { addBaseModel, listModelRecords } from "./models.ts";
import { openFactory } from "./open.ts";
import type { FactoryService } from "./service.ts";

export const DEMO_BASE_GGUF = new URL("../../ml/recipes/demo-base/out/demo-base.gguf", import.meta.url)
  .pathname;
export const DEMO_TOKENIZER = new URL("../../ml/recipes/demo-base/out/tokenizer.json", import.meta.url)
  .pathname;
export const DEMO_DOMAINS = ["noun.animal", "noun.food", "verb.motion"];
/** Demo hyperparameters: a few seconds per adapter on one core over a 60-synset snapshot. */
export const DEMO_HYPERPARAMETERS = { n_epochs: 6, batch_size: 8, lora_rank: 8, learning_rate: 0.004 };

export interface StackFactoryOptions {
  /** the `up` data dir: jobs under factory/, blobs under blobs/ */
  dataDir: string;
  rpcUrl: string;
  datanets: DatanetService;
  modelRegistry: Address;
  datanetRegistry: Address;
  privateKeys: readonly Hex[];
}

export function openStackFactory(o: StackFactoryOptions): Promise<FactoryService> {
  return openFactory({
    dataDir: join(o.dataDir, "factory"),
    rpcUrl: o.rpcUrl,
    privateKeys: o.privateKeys,
    blobs: new FileBlobStore(join(o.dataDir, "blobs")),
    datanets: o.datanets,
    modelRegistry: o.modelRegistry,
    datanetRegistry: o.datanetRegistry,
  });
}

/**
 * Registers the demo base (once), buys the owner's licences for the demo snapshots, queues one job
 * per demo domain that has no adapter yet, and starts a local worker. Returns the ids of the demo jobs
 * not finished yet (new ones, and any an earlier run left queued or running).
 */
export async function startDemoAdapters(
  factory: FactoryService,
  apiUrl: string,
  opts: {
    domains?: string[];
    workers?: number;
    threads?: number;
    log?: (message: string, fields?: Record<string, unknown>) => void;
  } = {},
): Promise<string[]> {
  const log = opts.log ?? (() => undefined);
  const owner = factory.accounts[0];
  factory.startLocalWorkers(opts.workers ?? 1, apiUrl, { threads: opts.threads ?? 1, log: (l) => log(l) });
  const { record } = await addBaseModel(factory.registry, factory.options.wallets[0], {
    path: DEMO_BASE_GGUF,
    name: "demo-base",
    tokenizerPath: DEMO_TOKENIZER,
  });
  const names = new Set((await listModelRecords(factory.registry)).map((r) => r.published.name));
  const pending = new Map(factory.pending().map((j) => [j.spec.name, j.id]));
  const ids: string[] = [];
  for (const domain of opts.domains ?? DEMO_DOMAINS) {
    const name = `demo-${domain}`;
    if (names.has(name)) continue;
    if (pending.has(name)) {
      ids.push(pending.get(name)!); // queued by an earlier run that stopped: it resumes
      continue;
    }
    let snapshot: ReturnType<typeof resolveSnapshot>;
    try {
      snapshot = resolveSnapshot(factory.datanets, `wordnet-${domain}`);
    } catch {
      log(`demo adapter ${name} skipped: no snapshot of WordNet ${domain}`);
      continue;
    }
    try {
      await ensureLicence(factory, BigInt(snapshot.id), BigInt(snapshot.datanetId));
      const job = await factory.createJob({
        model: record.published.name,
        training_file: snapshot.name,
        seed: 1,
        hyperparameters: DEMO_HYPERPARAMETERS,
        openledger: { name, owner },
      });
      ids.push(job.id);
      log(`demo adapter ${name} queued`, { job: job.id, snapshot: snapshot.name });
    } catch (err) {
      log(`demo adapter ${name} not queued: ${(err as Error).message.split("\n")[0]}`);
    }
  }
  return ids;
}

/**
 * Buys the owner's licence unless it is held. A purchase an interrupted earlier run sent may still be
 * pending, so a refused purchase is checked again for a few blocks before it counts as a failure.
 */
async function ensureLicence(factory: FactoryService, snapshotId: bigint, datanetId: bigint): Promise<void> {
  const owner = factory.accounts[0];
  if (await factory.datanets.hasLicense(snapshotId, owner)) return;
  try {
    await fundLicence(factory, BigInt(factory.datanets.getDatanet(datanetId).licensePrice));
    await factory.datanets.buyLicense(owner, snapshotId);
  } catch (err) {
    for (let i = 0; i < 10; i++) {
      if (await factory.datanets.hasLicense(snapshotId, owner)) return;
      await new Promise((r) => setTimeout(r, 500));
    }
    throw err;
  }
}
/**
 * On the OpenLedger L2 the payment token is WrappedOpen: a dev account holds native OPEN, so it wraps
 * what a licence costs before buying (on other chains the balance is used as it is).
 */
async function fundLicence(factory: FactoryService, price: bigint): Promise<void> {
  if (price === 0n) return;
  const wallet = factory.options.wallets[0];
  const client = factory.options.client;
  const token = await client.readContract({
    address: factory.options.datanetRegistry,
    abi: datanetRegistryAbi,
    functionName: "token",
  });
  const balance = await tokenBalance(client, { token, account: wallet.account.address });
  if (balance >= price) return;
  await wrapOpen(wallet, { token, amount: price - balance });
}

/** Resolves when every job has finished or the factory closes (polling the store); logs each as it ends. */
export async function waitForJobs(
  factory: FactoryService,
  ids: string[],
  log: (message: string, fields?: Record<string, unknown>) => void = () => undefined,
): Promise<void> {
  const open = new Set(ids);
  while (open.size > 0 && !factory.closed) {
    for (const id of [...open]) {
      const job = factory.store.get(id);
      if (!TERMINAL.includes(job.status)) continue;
      open.delete(id);
      const r = job.result;
      log(
        job.status === "succeeded"
          ? `${job.spec.name} published as model ${r?.modelId} (held-out perplexity ${Math.exp(r!.heldOutLossBefore).toFixed(1)} -> ${Math.exp(r!.heldOutLossAfter).toFixed(1)})`
          : `${job.spec.name} ${job.status}${job.error ? `: ${job.error.message}` : ""}`,
        { job: id },
      );
    }
    if (open.size > 0) await new Promise((r) => setTimeout(r, 500));
  }
}
