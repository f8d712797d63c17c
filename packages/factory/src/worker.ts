// A worker: claims jobs from a factory server over HTTP, fetches the base model and the licensed
// snapshot data by content hash, trains (embedded engine or an external trainer), heartbeats its
// lease, uploads checkpoints and results. Local workers are the same code in child processes.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cidForBytes } from "@openledger/datanet";
import { checkBaseOnChain, checkRootsOnChain, type RootSource } from "./chain-roots.ts";
import { checkDatasetRoots, parseDatasetJsonl } from "./dataset.ts";
import { TrainingError } from "./errors.ts";
import { FileHashes } from "./file-hashes.ts";
import type { JobSpec } from "./job-store.ts";
import {
  CancelledError,
  type RunOutput,
  runEmbedded,
  type StepMetrics,
  type TrainHooks,
} from "./train/embedded.ts";
import { type ExternalTrainer, runExternal } from "./train/external.ts";

export interface WorkerOptions {
  server: string;
  token: string;
  worker: string;
  workDir: string;
  threads?: number;
  /** relaxed-SIMD kernels for the embedded engine (see EmbeddedRunInput.relaxedSimd) */
  relaxedSimd?: boolean;
  /** default: the embedded engine */
  external?: ExternalTrainer;
  /**
   * the chain to read snapshot roots from (`--rpc`): each job's roots must equal DatanetRegistry's
   * and, given its `modelRegistry`, the base hash ModelRegistry's; without it they are checked against
   * what the server says only
   */
  chain?: RootSource;
  /** stop when the queue is empty instead of polling */
  once?: boolean;
  /** pause after an early empty answer or an unreachable server; default 1000 */
  pollMs?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
}

interface Claim {
  job: { id: string; spec: JobSpec; attempt: number };
  lease: { token: string; expiresAt: number; leaseMs: number };
  checkpoint: { step: number; cid: string } | null;
  checkpointEvery: number;
}

/** How long an idle worker's claim waits on the server for a job to be queued. */
const CLAIM_WAIT_MS = 20_000;

/** The lease was lost or the job cancelled: stop working on it. */
class LeaseLostError extends Error {
  override name = "LeaseLostError";
}

class ServerClient {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  async call(
    method: string,
    path: string,
    opts: { lease?: string; json?: unknown; bytes?: Uint8Array; signal?: AbortSignal } = {},
  ) {
    const headers: Record<string, string> = { authorization: `Bearer ${this.token}` };
    if (opts.lease) headers["openledger-lease"] = opts.lease;
    let body: string | Uint8Array | undefined;
    if (opts.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.bytes) {
      headers["content-type"] = "application/octet-stream";
      body = opts.bytes;
    }
    const res = await fetch(new URL(path, this.base), { method, headers, body, signal: opts.signal });
    if (res.status === 409) {
      const b = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new LeaseLostError(b?.error?.message ?? "lease lost");
    }
    if (!res.ok) {
      const err = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new Error(`${method} ${path}: HTTP ${res.status} ${err?.error?.message ?? res.statusText}`);
    }
    return res;
  }

  async json<T>(
    method: string,
    path: string,
    opts: { lease?: string; json?: unknown; bytes?: Uint8Array } = {},
  ) {
    return (await (await this.call(method, path, opts)).json()) as T;
  }

  async bytes(path: string, lease?: string): Promise<Uint8Array> {
    return new Uint8Array(await (await this.call("GET", path, { lease })).arrayBuffer());
  }
}

/** Fetches a blob by CID into the cache (verified against the CID) and returns its path. */
async function cached(client: ServerClient, cacheDir: string, cid: string): Promise<string> {
  const path = join(cacheDir, cid);
  if (existsSync(path)) return path;
  const bytes = await client.bytes(`/v1/factory/worker/blobs/${cid}`);
  if (cidForBytes(bytes) !== cid) throw new Error(`blob ${cid} from the server does not match its CID`);
  mkdirSync(cacheDir, { recursive: true });
  writeFileSync(`${path}.tmp`, bytes);
  renameSync(`${path}.tmp`, path);
  return path;
}

/** Base files hashed by this worker process, so repeat jobs on one base do not re-read it. */
const baseHashes = new FileHashes();

/**
 * The base file must hash to the base's registered hash (the job spec carries it from ModelRegistry):
 * also a cached copy, which the CID check on download no longer covers.
 */
async function checkBaseFile(path: string, name: string, hash: string): Promise<void> {
  const actual = await baseHashes.sha256(path);
  if (actual !== hash.toLowerCase()) {
    throw new TrainingError(
      "base_model_hash_mismatch",
      `the base model file of '${name}' hashes to ${actual}, not its registered ${hash}; nothing was trained`,
    );
  }
}

/** Runs jobs until the signal aborts (or, with `once`, until the queue is empty). */
export async function runWorker(o: WorkerOptions): Promise<number> {
  const client = new ServerClient(o.server, o.token);
  const log = o.log ?? (() => undefined);
  let done = 0;
  let unreachable = false;
  log(
    o.chain
      ? `snapshot roots are checked against DatanetRegistry ${o.chain.datanetRegistry} on the chain`
      : "snapshot roots are checked against the server only (no --rpc): a server that alters both a snapshot's data and its root is not caught",
  );
  if (o.chain && !o.chain.modelRegistry)
    log("the base model's hash is taken from the server (no ModelRegistry address given)");
  else if (o.chain) log(`base model hashes are checked against ModelRegistry ${o.chain.modelRegistry}`);
  while (!o.signal?.aborted) {
    const asked = Date.now();
    let res: Response;
    try {
      res = await client.call("POST", "/v1/factory/worker/claim", {
        json: { worker: o.worker, wait_ms: o.once ? 0 : CLAIM_WAIT_MS },
        signal: o.signal,
      });
    } catch (err) {
      if (o.signal?.aborted) return done;
      // fetch's own failure (no HTTP answer): the server is restarting or away; a long-running worker
      // waits for it, saying so once
      if (o.once || !(err instanceof TypeError)) throw err;
      if (!unreachable) log(`cannot reach ${o.server} (${err.message}); retrying every second`);
      unreachable = true;
      await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      continue;
    }
    if (unreachable) log(`reached ${o.server} again`);
    unreachable = false;
    if (res.status === 204) {
      if (o.once) return done;
      // the server answered before the wait was up (it is closing, or does not long-poll): pause
      if (Date.now() - asked < CLAIM_WAIT_MS / 2) await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
      continue;
    }
    const claim = (await res.json()) as Claim;
    log(`claimed ${claim.job.id} (${claim.job.spec.name}, attempt ${claim.job.attempt})`);
    await runJob(client, o, claim);
    done++;
  }
  return done;
}

async function runJob(client: ServerClient, o: WorkerOptions, claim: Claim): Promise<void> {
  const { id, spec } = claim.job;
  const lease = claim.lease.token;
  const jobDir = join(o.workDir, "jobs", id);
  mkdirSync(jobDir, { recursive: true });
  const pending: { level: string; type: string; message: string; data?: unknown }[] = [];
  let lastFlush = Date.now();
  let stop = false;
  let progress = { step: 0, totalSteps: 0, trainedTokens: 0 };
  const flushEvery = Math.min(1000, claim.lease.leaseMs / 3);
  let flushing: Promise<void> = Promise.resolve();
  const send = async () => {
    lastFlush = Date.now();
    try {
      if (pending.length) {
        const events = pending.splice(0, pending.length);
        await client.call("POST", `/v1/factory/worker/jobs/${id}/events`, { lease, json: { events } });
      }
      await client.call("POST", `/v1/factory/worker/jobs/${id}/heartbeat`, { lease, json: progress });
    } catch (err) {
      if (err instanceof LeaseLostError) stop = true;
      else throw err;
    }
  };
  /** Sends buffered events and a heartbeat (one at a time); between steps only every flushEvery ms. */
  const flush = (force = false): Promise<void> => {
    if (!force && Date.now() - lastFlush < flushEvery) return flushing;
    flushing = flushing.then(send, send);
    return flushing;
  };
  /**
   * Between steps: starts a flush when one is due but does not wait for the server's answer, so
   * training never stalls on a round trip. The macrotask turn lets answers, timers and the heartbeat
   * run (a step is synchronous compute that holds the event loop).
   */
  const between = async (): Promise<void> => {
    if (Date.now() - lastFlush >= flushEvery) flush().catch(() => undefined);
    await new Promise((r) => setImmediate(r));
  };
  // heartbeats also while nothing reports steps (loading, evaluation, an external trainer starting up)
  const beat = setInterval(() => void flush(true).catch(() => undefined), flushEvery);
  const hooks: TrainHooks = {
    onStep: async (m: StepMetrics) => {
      progress = { step: m.step, totalSteps: m.totalSteps, trainedTokens: m.trainedTokens };
      pending.push({
        level: "info",
        type: "metrics",
        message: `Step ${m.step}/${m.totalSteps}: training loss=${m.loss.toFixed(4)}`,
        data: {
          step: m.step,
          total_steps: m.totalSteps,
          train_loss: m.loss,
          learning_rate: m.learningRate,
          tokens_per_second: m.tokensPerSecond,
          eta_seconds: m.etaSeconds,
          trained_tokens: m.trainedTokens,
        },
      });
      if (m.step === m.totalSteps) await flush(true);
      else await between();
    },
    onEval: async (e) => {
      pending.push({
        level: "info",
        type: "metrics",
        message: `Step ${e.step}: held-out loss=${e.loss.toFixed(4)} perplexity=${e.perplexity.toFixed(2)}`,
        data: { step: e.step, valid_loss: e.loss, valid_perplexity: e.perplexity },
      });
      await between();
    },
    onCheckpoint: async (path, step, metrics) => {
      // uploaded in the background, after the events before it; the file is read now because the
      // next checkpoint overwrites it
      const bytes = readFileSync(path);
      const upload = async () => {
        if (stop) return;
        await client.call(
          "PUT",
          `/v1/factory/worker/jobs/${id}/checkpoints/${step}?loss=${metrics.train_loss}`,
          {
            lease,
            bytes,
          },
        );
      };
      flushing = flush(true)
        .then(upload)
        .catch((err) => {
          if (err instanceof LeaseLostError) stop = true;
          else throw err;
        });
      flushing.catch(() => undefined);
      await between();
    },
    shouldStop: () => stop,
  };
  try {
    const cacheDir = join(o.workDir, "cache");
    if (o.chain?.modelRegistry) {
      await checkBaseOnChain(o.chain.client, o.chain.modelRegistry, spec.baseModel, async (cid) =>
        readFileSync(await cached(client, cacheDir, cid)),
      );
    }
    const basePath = await cached(client, cacheDir, spec.baseModel.cid);
    const tokenizerPath = await cached(client, cacheDir, spec.baseModel.tokenizerCid);
    await checkBaseFile(basePath, spec.baseModel.name, spec.baseModel.hash);
    if (o.chain) await checkRootsOnChain(o.chain, spec.snapshots);
    const records = parseDatasetJsonl(await client.bytes(`/v1/factory/worker/jobs/${id}/dataset`, lease));
    checkDatasetRoots(records, spec.snapshots);
    let resumeFrom: string | undefined;
    if (claim.checkpoint && !o.external) {
      resumeFrom = join(jobDir, "resume.bin");
      writeFileSync(resumeFrom, await client.bytes(`/v1/factory/worker/blobs/${claim.checkpoint.cid}`));
    }
    pending.push({
      level: "info",
      type: "message",
      message: `Training on ${records.length} records with the ${o.external ? "external" : "embedded"} trainer${resumeFrom ? ` from step ${claim.checkpoint!.step}` : ""}`,
    });
    await flush(true);
    const input = {
      baseGgufPath: basePath,
      tokenizerJson: readFileSync(tokenizerPath, "utf8"),
      records,
      config: spec.config,
      workDir: jobDir,
      threads: o.threads,
      relaxedSimd: o.relaxedSimd,
      hooks,
    };
    const out: RunOutput = o.external
      ? await runExternal({ ...input, trainer: o.external })
      : await runEmbedded({ ...input, resumeFrom, checkpointEvery: claim.checkpointEvery });
    await flush(true);
    if (stop) throw new LeaseLostError("lease lost");
    const put = async (path: string) =>
      (
        await client.json<{ cid: string }>("PUT", `/v1/factory/worker/jobs/${id}/blobs`, {
          lease,
          bytes: readFileSync(path),
        })
      ).cid;
    const artefacts = {
      gguf: await put(out.ggufPath),
      peftConfig: await put(join(out.peftDir, "adapter_config.json")),
      peftWeights: await put(join(out.peftDir, "adapter_model.safetensors")),
      gradStore: await put(out.gradStorePath),
    };
    const finished = await client.json<{ status: string; error?: { message: string } }>(
      "POST",
      `/v1/factory/worker/jobs/${id}/complete`,
      { lease, json: { backend: o.external ? "external" : "embedded", artefacts, metrics: out.metrics } },
    );
    o.log?.(`${id} ${finished.status}${finished.error ? `: ${finished.error.message}` : ""}`);
  } catch (err) {
    if (err instanceof LeaseLostError || err instanceof CancelledError) {
      o.log?.(`${id}: stopped (${(err as Error).message})`);
      return;
    }
    const code = err instanceof TrainingError ? err.code : "worker_error";
    o.log?.(`${id} failed: ${(err as Error).message}`);
    // the steps before the failure belong in the job's curve (a divergence shows where it happened)
    await flush(true).catch(() => undefined);
    await client
      .call("POST", `/v1/factory/worker/jobs/${id}/fail`, {
        lease,
        json: { error: { code, message: (err as Error).message } },
      })
      .catch(() => undefined);
  } finally {
    clearInterval(beat);
    await flushing.catch(() => undefined);
    rmSync(jobDir, { recursive: true, force: true });
  }
}
