// The factory server: validates and queues jobs, leases them to workers (local child processes or
// remote `openledger worker`s, all over HTTP), turns a worker's upload into the manifest and report,
// and publishes the adapter to ModelRegistry.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { SerialQueue } from "@openledger/common";
import type { BlobStore, DatanetService } from "@openledger/datanet";
import { GgufFile } from "@openledger/ml";
import {
  datanetRegistryAbi,
  getModel,
  publishModelVersion,
  registerModel,
  setModelMetadataURI,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import type { Address, Hex, PublicClient } from "viem";
import { sha256Hex } from "./canonical.ts";
import { datasetHash, datasetJsonl, datasetRecords } from "./dataset.ts";
import { ConflictError, FactoryError, InvalidRequestError, PermissionError } from "./errors.ts";
import {
  type Job,
  type JobArtefacts,
  type JobError,
  type JobEvent,
  type JobResult,
  JobStore,
  type Lease,
  TERMINAL,
} from "./job-store.ts";
import { type Artefact, MANIFEST_SCHEMA, type TrainingManifest } from "./manifest.ts";
import { ipfsUri, type ModelMetadata, putJson, type RegistryContext } from "./models.ts";
import { type ReportData, reportHtml } from "./report.ts";
import type { RunMetrics } from "./train/embedded.ts";
import { GRAD_DIMS } from "./train/embedded.ts";
import { validateJobRequest } from "./validate.ts";

export interface FactoryServiceOptions {
  /** jobs.sqlite and worker scratch space */
  dataDir: string;
  /** the shared content store (`<dataDir>/blobs` of `openledger up`) */
  blobs: BlobStore;
  datanets: DatanetService;
  client: PublicClient;
  /** the chain's JSON-RPC URL; local workers get it to check snapshot roots against DatanetRegistry */
  rpcUrl?: string;
  modelRegistry: Address;
  datanetRegistry: Address;
  /** accounts jobs may be owned by (and published from); the first is the default owner */
  wallets: WalletClientWithAccount[];
  /** bearer token workers present */
  workerToken: string;
  /** how long a claim lasts without a heartbeat; default 30 s */
  leaseMs?: number;
  /** checkpoint every this many steps (0: never); default 10 */
  checkpointEvery?: number;
}

/** What a worker sends when it finishes a job. */
export interface CompletionBody {
  backend: string;
  artefacts: Pick<JobArtefacts, "gguf" | "peftConfig" | "peftWeights" | "gradStore">;
  metrics: RunMetrics;
}

export class FactoryService {
  readonly store: JobStore;
  readonly blobs: BlobStore;
  readonly datanets: DatanetService;
  readonly leaseMs: number;
  readonly checkpointEvery: number;
  private readonly children = new Set<ChildProcess>();
  private readonly requeueTimer: NodeJS.Timeout;
  private readonly publishing = new SerialQueue();
  /** workers' long polls waiting for a job to be queued */
  private readonly waiting = new Set<() => void>();

  constructor(readonly options: FactoryServiceOptions) {
    this.store = new JobStore(join(options.dataDir, "jobs.sqlite"));
    this.blobs = options.blobs;
    this.datanets = options.datanets;
    this.leaseMs = options.leaseMs ?? 30_000;
    this.checkpointEvery = options.checkpointEvery ?? 10;
    this.requeueTimer = setInterval(
      () => {
        if (this.store.requeueExpired().length > 0) this.wakeWaiting();
      },
      Math.min(1000, this.leaseMs / 2),
    );
    this.requeueTimer.unref();
  }

  get registry(): RegistryContext {
    return { client: this.options.client, modelRegistry: this.options.modelRegistry, blobs: this.blobs };
  }

  get accounts(): Address[] {
    return this.options.wallets.map((w) => w.account.address);
  }

  walletFor(owner: Address): WalletClientWithAccount {
    const w = this.options.wallets.find((x) => x.account.address.toLowerCase() === owner.toLowerCase());
    if (!w) throw new PermissionError("unknown_owner", `this server holds no key for ${owner}`);
    return w;
  }

  /** true once close() has begun */
  closed = false;

  async close(): Promise<void> {
    this.closed = true;
    this.wakeWaiting();
    clearInterval(this.requeueTimer);
    await Promise.all([...this.children].map((c) => stopChild(c)));
    await this.publishing.idle();
    this.store.close();
  }

  // ------------------------------------------------------------------ the OpenAI-shaped API

  async createJob(body: unknown): Promise<Job> {
    const spec = await validateJobRequest(
      { ...this.registry, datanets: this.datanets, accounts: this.accounts },
      body,
      (name) => this.nameInUse(name),
    );
    const job = this.store.create(spec);
    this.wakeWaiting();
    this.store.addEvent(
      job.id,
      "info",
      "message",
      `Validated: base ${spec.baseModel.name} (${spec.baseModel.hash.slice(0, 10)}…), licensed snapshots ${spec.trainingFile}`,
    );
    return job;
  }

  /** A job that has not failed or been cancelled already claims its output name. */
  private nameInUse(name: string): boolean {
    const row = this.store.db
      .prepare(
        "SELECT count(*) AS n FROM jobs WHERE status NOT IN ('failed','cancelled') AND json_extract(spec, '$.name') = ?",
      )
      .get(name) as { n: number };
    return row.n > 0;
  }

  cancel(id: string): Job {
    return this.store.cancel(id);
  }

  // ------------------------------------------------------------------ the worker side

  claim(worker: string): (Lease & { checkpoint: { step: number; cid: string } | null }) | null {
    if (typeof worker !== "string" || !/^[\w.:@-]{1,80}$/.test(worker)) {
      throw new InvalidRequestError(
        "invalid_worker",
        "worker must be 1-80 letters, digits or . : @ _ -",
        "worker",
      );
    }
    const lease = this.store.claim(worker, this.leaseMs);
    if (!lease) return null;
    const last = this.store.checkpoints(lease.job.id)[0];
    if (last) {
      this.store.addEvent(
        lease.job.id,
        "info",
        "message",
        `Resuming from the checkpoint at step ${last.step}`,
      );
    }
    return { ...lease, checkpoint: last ? { step: last.step, cid: last.cid } : null };
  }

  /**
   * claim(), but with an empty queue it waits up to `waitMs` for a job to be queued (a long poll), so
   * an idle worker starts a new job at once instead of at its next poll. `gone` (the caller hung up,
   * or the HTTP server is closing) ends the wait without claiming anything.
   */
  async claimOrWait(worker: string, waitMs: number, gone?: AbortSignal) {
    const now = this.claim(worker);
    if (now || waitMs <= 0 || this.closed || gone?.aborted) return now;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        gone?.removeEventListener("abort", done);
        this.waiting.delete(done);
        resolve();
      };
      const timer = setTimeout(done, waitMs);
      gone?.addEventListener("abort", done);
      this.waiting.add(done);
    });
    return this.closed || gone?.aborted ? null : this.claim(worker);
  }

  private wakeWaiting(): void {
    for (const wake of [...this.waiting]) wake();
  }

  heartbeat(
    id: string,
    token: string,
    progress: { step?: number; totalSteps?: number; trainedTokens?: number },
  ) {
    return this.store.heartbeat(id, token, this.leaseMs, progress);
  }

  postEvents(id: string, token: string, events: unknown): void {
    this.store.leased(id, token);
    if (!Array.isArray(events) || events.length > 1000) {
      throw new InvalidRequestError("invalid_events", "events must be an array of at most 1000 events");
    }
    for (const e of events as Partial<JobEvent>[]) {
      const level = e.level === "warn" || e.level === "error" ? e.level : "info";
      const type = e.type === "metrics" ? "metrics" : "message";
      if (typeof e.message !== "string" || e.message.length > 2000) {
        throw new InvalidRequestError(
          "invalid_events",
          "each event needs a message of at most 2000 characters",
        );
      }
      const data = e.data && typeof e.data === "object" && !Array.isArray(e.data) ? e.data : null;
      this.store.addEvent(id, level, type, e.message, data);
    }
  }

  async dataset(id: string, token: string): Promise<Uint8Array> {
    const job = this.store.leased(id, token);
    return datasetJsonl(
      await datasetRecords(
        this.datanets,
        job.spec.snapshots.map((s) => s.id),
      ),
    );
  }

  async putCheckpoint(
    id: string,
    token: string,
    step: number,
    bytes: Uint8Array,
    loss: number,
  ): Promise<string> {
    const job = this.store.leased(id, token);
    if (!Number.isInteger(step) || step < 1)
      throw new InvalidRequestError("invalid_step", "step must be a positive integer");
    const { cid } = await this.blobs.put(bytes);
    this.store.addCheckpoint(job.id, step, cid, { step, train_loss: loss });
    this.store.addEvent(job.id, "info", "message", `Checkpoint saved at step ${step}`, { step, cid });
    return cid;
  }

  async putBlob(id: string, token: string, bytes: Uint8Array): Promise<string> {
    this.store.leased(id, token);
    return (await this.blobs.put(bytes)).cid;
  }

  fail(id: string, token: string, error: { code?: unknown; message?: unknown }): Job {
    this.store.leased(id, token);
    const code = typeof error?.code === "string" ? error.code.slice(0, 64) : "worker_error";
    const message = typeof error?.message === "string" ? error.message.slice(0, 2000) : "the worker failed";
    return this.store.fail(id, { code, message, param: null });
  }

  /**
   * A worker's upload: re-hash and check every artefact, write the manifest, metrics and report, then
   * publish (when the job asks for it). Nothing reaches the chain unless every step before succeeded.
   */
  async complete(id: string, token: string, body: CompletionBody): Promise<Job> {
    const job = this.store.leased(id, token);
    // the lease now covers publishing, which waits for blocks
    this.store.heartbeat(id, token, Math.max(this.leaseMs, 600_000));
    const fail = (e: JobError) => this.store.fail(id, e);
    let result: JobResult;
    try {
      result = await this.assembleResult(job, body);
    } catch (err) {
      const e = err as FactoryError;
      return fail({ code: e.code ?? "invalid_result", message: e.message, param: null });
    }
    // an earlier attempt's publishing may have registered the model before the server went away
    if (job.result?.modelId && job.result.version === undefined) result.modelId = job.result.modelId;
    this.store.setResult(id, result);
    this.store.addEvent(id, "info", "message", "Adapter, gradients, manifest and report stored", {
      manifest: result.artefacts.manifest,
      adapterHash: result.adapterHash,
    });
    if (!job.spec.publish) return this.store.succeed(id, result);
    try {
      const published = await this.publish(job, result, BigInt(job.spec.publish.pricePer1kTokens));
      return this.store.succeed(id, published);
    } catch (err) {
      return fail({
        code: "publish_failed",
        message: `training succeeded but publishing failed, nothing was published: ${(err as Error).message.split("\n")[0]}`,
        param: null,
      });
    }
  }

  private async artefact(cid: unknown, what: string): Promise<{ artefact: Artefact; bytes: Uint8Array }> {
    if (typeof cid !== "string") throw new InvalidRequestError("invalid_result", `${what}: missing CID`);
    let bytes: Uint8Array;
    try {
      bytes = await this.blobs.get(cid);
    } catch (err) {
      throw new InvalidRequestError("invalid_result", `${what} ${cid}: ${(err as Error).message}`);
    }
    return { artefact: { hash: sha256Hex(bytes), uri: ipfsUri(cid), bytes: bytes.length }, bytes };
  }

  private async assembleResult(job: Job, body: CompletionBody): Promise<JobResult> {
    if (!body || typeof body !== "object" || !body.artefacts || !body.metrics) {
      throw new InvalidRequestError("invalid_result", "the completion needs artefacts and metrics");
    }
    const gguf = await this.artefact(body.artefacts.gguf, "GGUF adapter");
    const peftConfig = await this.artefact(body.artefacts.peftConfig, "PEFT adapter_config.json");
    const peftWeights = await this.artefact(body.artefacts.peftWeights, "PEFT adapter_model.safetensors");
    const grads = await this.artefact(body.artefacts.gradStore, "grad-v1 gradient store");
    checkGgufAdapter(gguf.bytes);
    if (Buffer.from(grads.bytes.subarray(0, 8)).toString("latin1") !== "OLGRADST") {
      throw new InvalidRequestError("invalid_result", "the gradient store is not a grad-v1 file");
    }
    const m = body.metrics;
    for (const k of ["heldOutLossBefore", "heldOutLossAfter", "trainedTokens"] as const) {
      if (typeof m[k] !== "number" || !Number.isFinite(m[k])) {
        throw new InvalidRequestError("invalid_result", `metrics.${k} must be a finite number`);
      }
    }
    const records = await datasetRecords(
      this.datanets,
      job.spec.snapshots.map((s) => s.id),
    );
    const manifest: TrainingManifest = {
      schema: MANIFEST_SCHEMA,
      job: job.id,
      name: job.spec.name,
      owner: job.spec.owner,
      baseModel: {
        name: job.spec.baseModel.name,
        modelId: job.spec.baseModel.modelId,
        hash: job.spec.baseModel.hash,
        uri: ipfsUri(job.spec.baseModel.cid),
      },
      tokenizer: ipfsUri(job.spec.baseModel.tokenizerCid),
      snapshots: job.spec.snapshots,
      licences: await this.licences(job),
      config: job.spec.config,
      configHash: job.spec.configHash,
      dataset: {
        hash: datasetHash(datasetJsonl(records)),
        records: records.length,
        trainExamples: m.trainExamples,
        heldOutExamples: m.heldOutExamples,
      },
      adapter: { gguf: gguf.artefact, peftConfig: peftConfig.artefact, peftWeights: peftWeights.artefact },
      gradients: { ...grads.artefact, format: "grad-v1", dims: GRAD_DIMS },
      metrics: {
        totalSteps: m.totalSteps,
        trainedTokens: m.trainedTokens,
        heldOutLossBefore: m.heldOutLossBefore,
        heldOutLossAfter: m.heldOutLossAfter,
        perplexityBefore: m.perplexityBefore,
        perplexityAfter: m.perplexityAfter,
        tokensPerSecond: m.tokensPerSecond,
      },
      backend: String(body.backend ?? "embedded"),
      attempts: job.attempt,
    };
    const report = this.reportData(job, m);
    const cid = (a: Artefact) => a.uri.slice("ipfs://".length);
    return {
      artefacts: {
        gguf: cid(gguf.artefact),
        peftConfig: cid(peftConfig.artefact),
        peftWeights: cid(peftWeights.artefact),
        gradStore: cid(grads.artefact),
        manifest: await putJson(this.blobs, manifest),
        metrics: await putJson(this.blobs, report),
        reportHtml: (await this.blobs.put(Buffer.from(reportHtml(report)))).cid,
      },
      backend: manifest.backend,
      adapterHash: gguf.artefact.hash,
      trainedTokens: m.trainedTokens,
      heldOutLossBefore: m.heldOutLossBefore,
      heldOutLossAfter: m.heldOutLossAfter,
    };
  }

  /** The curves from the job's events (all attempts; a resumed step replaces the earlier one). */
  reportData(job: Job, m: RunMetrics): ReportData {
    const steps = new Map<number, { step: number; loss: number; learningRate: number }>();
    const evals = new Map<number, { step: number; loss: number }>();
    for (const e of this.store.events(job.id)) {
      const d = e.data as Record<string, number> | null;
      if (e.type !== "metrics" || !d) continue;
      if (typeof d.train_loss === "number") {
        steps.set(d.step, { step: d.step, loss: d.train_loss, learningRate: d.learning_rate });
      }
      if (typeof d.valid_loss === "number") evals.set(d.step, { step: d.step, loss: d.valid_loss });
    }
    const byStep = <T extends { step: number }>(map: Map<number, T>) =>
      [...map.values()].sort((a, b) => a.step - b.step);
    return {
      job: job.id,
      name: job.spec.name,
      baseModel: job.spec.baseModel.name,
      snapshots: job.spec.snapshots.map((s) => s.name),
      steps: byStep(steps),
      evals: byStep(evals),
      perplexityBefore: m.perplexityBefore,
      perplexityAfter: m.perplexityAfter,
      heldOutLossBefore: m.heldOutLossBefore,
      heldOutLossAfter: m.heldOutLossAfter,
      trainedTokens: m.trainedTokens,
      tokensPerSecond: m.tokensPerSecond,
      samples: Array.isArray(m.samples) ? m.samples.slice(0, 8) : [],
    };
  }

  private async licences(job: Job): Promise<TrainingManifest["licences"]> {
    const out: TrainingManifest["licences"] = [];
    for (const s of job.spec.snapshots) {
      const logs = await this.options.client
        .getContractEvents({
          address: this.options.datanetRegistry,
          abi: datanetRegistryAbi,
          eventName: "LicensePurchased",
          args: { snapshotId: BigInt(s.id), licensee: job.spec.owner },
          fromBlock: 0n,
        })
        .catch(() => []);
      const log = logs.at(-1);
      out.push({
        snapshotId: s.id,
        licensee: job.spec.owner,
        transactionHash: (log?.transactionHash as Hex | undefined) ?? null,
        blockNumber:
          log?.blockNumber === undefined || log.blockNumber === null ? null : Number(log.blockNumber),
      });
    }
    return out;
  }

  /**
   * Registers the model (metadata) and publishes version 1 with the provenance. Everything
   * publishVersion checks is read first, so a version that would revert is never started; a model
   * registered by an interrupted earlier try is reused (and is invisible to readers without a version).
   * Publications are serialised so one owner's transactions never race for a nonce.
   */
  async publish(job: Job, result: JobResult, pricePer1kTokens: bigint): Promise<JobResult> {
    return this.publishing.run(() => this.publishNow(job, result, pricePer1kTokens));
  }

  private async publishNow(job: Job, result: JobResult, pricePer1kTokens: bigint): Promise<JobResult> {
    if (result.version !== undefined)
      throw new ConflictError("already_published", `${job.spec.name} is already published`);
    const wallet = this.walletFor(job.spec.owner);
    for (const s of job.spec.snapshots) {
      if (!(await this.datanets.hasLicense(BigInt(s.id), job.spec.owner))) {
        throw new PermissionError(
          "missing_license",
          `${job.spec.owner} no longer holds a licence for ${s.name}`,
        );
      }
    }
    const metadata: ModelMetadata = {
      name: job.spec.name,
      kind: "adapter",
      baseModel: {
        name: job.spec.baseModel.name,
        hash: job.spec.baseModel.hash,
        uri: ipfsUri(job.spec.baseModel.cid),
      },
      tokenizer: ipfsUri(job.spec.baseModel.tokenizerCid),
      ...(job.spec.baseModel.chatTemplate ? { chatTemplate: job.spec.baseModel.chatTemplate } : {}),
      manifest: ipfsUri(result.artefacts.manifest),
    };
    const metadataCid = await putJson(this.blobs, metadata);
    const txs: Hex[] = [];
    let modelId = result.modelId ? BigInt(result.modelId) : undefined;
    if (modelId === undefined) {
      const registered = await registerModel(wallet, {
        registry: this.options.modelRegistry,
        metadataURI: ipfsUri(metadataCid),
      });
      modelId = registered.modelId;
      txs.push(registered.hash);
      this.store.setResult(job.id, { ...result, modelId: modelId.toString(), metadataCid });
    } else {
      // reusing the model an interrupted try registered: point it at this try's metadata (manifest)
      const model = await getModel(this.options.client, { registry: this.options.modelRegistry, modelId });
      if (model.metadataURI !== ipfsUri(metadataCid)) {
        const updated = await setModelMetadataURI(wallet, {
          registry: this.options.modelRegistry,
          modelId,
          metadataURI: ipfsUri(metadataCid),
        });
        txs.push(updated.hash);
      }
    }
    const published = await publishModelVersion(wallet, {
      registry: this.options.modelRegistry,
      modelId,
      baseModelHash: job.spec.baseModel.hash,
      adapterHash: result.adapterHash,
      adapterURI: ipfsUri(result.artefacts.gguf),
      snapshotIds: job.spec.snapshots.map((s) => BigInt(s.id)),
      trainingConfigHash: job.spec.configHash,
      pricePer1kTokens,
    });
    txs.push(published.hash);
    this.store.addEvent(
      job.id,
      "info",
      "message",
      `Published ${job.spec.name} as model ${modelId} version ${published.version}`,
      {
        modelId: modelId.toString(),
        version: published.version,
      },
    );
    return {
      ...result,
      modelId: modelId.toString(),
      version: published.version,
      metadataCid,
      publishTxs: txs,
    };
  }

  /**
   * `models publish JOB`: publishes a succeeded job trained with publish off, or retries one whose
   * training succeeded but whose publishing failed.
   */
  async publishJob(id: string, pricePer1kTokens: bigint): Promise<Job> {
    const job = this.store.get(id);
    const retry = job.status === "failed" && job.error?.code === "publish_failed";
    if ((job.status !== "succeeded" && !retry) || !job.result) {
      throw new ConflictError(
        "job_not_succeeded",
        `job ${id} is ${job.status}; only a succeeded job (or one whose publishing failed) can be published`,
      );
    }
    const result = await this.publish(job, job.result, pricePer1kTokens);
    if (retry) return this.store.succeed(id, result);
    this.store.setResult(id, result);
    return this.store.get(id);
  }

  // ------------------------------------------------------------------ local workers

  /** Starts `count` worker processes that claim jobs from `serverUrl` (this server's HTTP API). */
  startLocalWorkers(
    count: number,
    serverUrl: string,
    opts: {
      threads?: number;
      externalCommand?: string;
      name?: string;
      /** exit when the queue is empty */
      once?: boolean;
      log?: (line: string) => void;
    } = {},
  ): ChildProcess[] {
    const started: ChildProcess[] = [];
    const main = fileURLToPath(new URL("./worker-main.ts", import.meta.url));
    const tsx = import.meta.resolve("tsx");
    for (let i = 0; i < count; i++) {
      const name = `${opts.name ?? `local-${process.pid}`}-${i}`;
      const args = ["--import", tsx, main, "--server", serverUrl, "--worker", name];
      args.push("--work-dir", join(this.options.dataDir, "workers", name));
      if (opts.threads) args.push("--threads", String(opts.threads));
      if (opts.externalCommand) args.push("--external-command", opts.externalCommand);
      if (opts.once) args.push("--once");
      if (this.options.rpcUrl)
        args.push(
          "--rpc",
          this.options.rpcUrl,
          "--datanet-registry",
          this.options.datanetRegistry,
          "--model-registry",
          this.options.modelRegistry,
        );
      const child = spawn(process.execPath, args, {
        env: { ...process.env, OPENLEDGER_WORKER_TOKEN: this.options.workerToken },
        stdio: ["ignore", "pipe", "pipe"],
      });
      this.children.add(child);
      const forward = (chunk: Buffer) => {
        for (const line of chunk.toString("utf8").split("\n")) if (line.trim()) opts.log?.(line);
      };
      child.stdout?.on("data", forward);
      child.stderr?.on("data", forward);
      child.once("exit", () => this.children.delete(child));
      started.push(child);
    }
    return started;
  }

  /** Jobs not finished yet. */
  pending(): Job[] {
    return this.store.list({ limit: 1000 }).jobs.filter((j) => !TERMINAL.includes(j.status));
  }
}

function checkGgufAdapter(bytes: Uint8Array): void {
  const dir = mkdtempSync(join(tmpdir(), "openledger-gguf-"));
  try {
    const path = join(dir, "adapter.gguf");
    writeFileSync(path, bytes);
    const file = GgufFile.open(path);
    try {
      if (file.getString("general.type") !== "adapter" || file.getString("adapter.type") !== "lora") {
        throw new InvalidRequestError("invalid_result", "the uploaded GGUF is not a LoRA adapter");
      }
    } finally {
      file.close();
    }
  } catch (err) {
    if (err instanceof FactoryError) throw err;
    throw new InvalidRequestError(
      "invalid_result",
      `the uploaded GGUF adapter does not parse: ${(err as Error).message}`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
