import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import type { Address, Hex } from "viem";
import { ConflictError, NotFoundError } from "./errors.ts";
import type { TrainingConfig } from "./hyperparameters.ts";

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const TERMINAL: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

/** What a job trains, fixed when it is created (after validation). */
export interface JobSpec {
  owner: Address;
  baseModel: {
    name: string;
    modelId: string;
    hash: Hex;
    cid: string;
    tokenizerCid: string;
    chatTemplate?: string;
  };
  snapshots: { id: number; name: string; root: Hex; datanetId: number }[];
  config: TrainingConfig;
  configHash: Hex;
  /** the name the adapter is published under */
  name: string;
  suffix: string | null;
  /** absent: train only, publish later with `models publish` */
  publish: { pricePer1kTokens: string } | null;
  trainingFile: string;
  metadata: Record<string, string>;
}

/** Content-store CIDs of everything a finished job produced. */
export interface JobArtefacts {
  gguf: string;
  peftConfig: string;
  peftWeights: string;
  gradStore: string;
  manifest: string;
  metrics: string;
  reportHtml: string;
}

export interface JobResult {
  artefacts: JobArtefacts;
  /** which worker backend trained it: "embedded" or "external" */
  backend: string;
  adapterHash: Hex;
  trainedTokens: number;
  heldOutLossBefore: number;
  heldOutLossAfter: number;
  modelId?: string;
  version?: number;
  metadataCid?: string;
  publishTxs?: Hex[];
}

export interface JobError {
  code: string;
  message: string;
  param: string | null;
}

export interface Job {
  id: string;
  createdAt: number;
  finishedAt: number | null;
  status: JobStatus;
  spec: JobSpec;
  result: JobResult | null;
  error: JobError | null;
  attempt: number;
  worker: string | null;
  leaseExpiresAt: number | null;
  step: number;
  totalSteps: number;
  trainedTokens: number;
}

export interface JobEvent {
  id: number;
  jobId: string;
  createdAt: number;
  level: "info" | "warn" | "error";
  type: "message" | "metrics";
  message: string;
  data: Record<string, unknown> | null;
}

export interface CheckpointRow {
  jobId: string;
  step: number;
  cid: string;
  metrics: Record<string, number>;
  createdAt: number;
}

export interface Lease {
  job: Job;
  token: string;
  expiresAt: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, created_at INTEGER NOT NULL,
  finished_at INTEGER, status TEXT NOT NULL, spec TEXT NOT NULL, result TEXT, error TEXT,
  attempt INTEGER NOT NULL DEFAULT 0, worker TEXT, lease_token TEXT, lease_expires INTEGER,
  step INTEGER NOT NULL DEFAULT 0, total_steps INTEGER NOT NULL DEFAULT 0,
  trained_tokens INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status, seq);
CREATE TABLE IF NOT EXISTS events (
  id INTEGER PRIMARY KEY AUTOINCREMENT, job_id TEXT NOT NULL, created_at INTEGER NOT NULL,
  level TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL, data TEXT
);
CREATE INDEX IF NOT EXISTS events_job ON events (job_id, id);
CREATE TABLE IF NOT EXISTS checkpoints (
  job_id TEXT NOT NULL, step INTEGER NOT NULL, cid TEXT NOT NULL, metrics TEXT NOT NULL,
  created_at INTEGER NOT NULL, PRIMARY KEY (job_id, step)
);
`;

interface JobRecord {
  id: string;
  created_at: number;
  finished_at: number | null;
  status: JobStatus;
  spec: string;
  result: string | null;
  error: string | null;
  attempt: number;
  worker: string | null;
  lease_token: string | null;
  lease_expires: number | null;
  step: number;
  total_steps: number;
  trained_tokens: number;
}

function toJob(r: JobRecord): Job {
  return {
    id: r.id,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
    status: r.status,
    spec: JSON.parse(r.spec),
    result: r.result ? JSON.parse(r.result) : null,
    error: r.error ? JSON.parse(r.error) : null,
    attempt: r.attempt,
    worker: r.worker,
    leaseExpiresAt: r.lease_expires,
    step: r.step,
    totalSteps: r.total_steps,
    trainedTokens: r.trained_tokens,
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

/**
 * Jobs, their events and checkpoints in one SQLite file (WAL). The queue is here: workers claim the
 * oldest queued job under a lease that heartbeats extend; a job whose lease ran out is queued again.
 */
export class JobStore {
  readonly db: Database.Database;
  /** Called after every new event (the SSE streams listen here). */
  onEvent: ((event: JobEvent) => void) | null = null;

  constructor(path: string) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma("journal_mode = WAL");
    this.db.pragma("busy_timeout = 5000");
    this.db.exec(SCHEMA);
  }

  close(): void {
    this.db.close();
  }

  create(spec: JobSpec): Job {
    const id = `ftjob-${randomBytes(12).toString("hex")}`;
    this.db
      .prepare("INSERT INTO jobs (id, created_at, status, spec) VALUES (?, ?, 'queued', ?)")
      .run(id, nowSeconds(), JSON.stringify(spec));
    this.addEvent(id, "info", "message", `Created fine-tuning job: ${id}`);
    return this.get(id);
  }

  get(id: string): Job {
    const r = this.db.prepare("SELECT * FROM jobs WHERE id = ?").get(id) as JobRecord | undefined;
    if (!r) throw new NotFoundError("job_not_found", `no fine-tuning job '${id}'`, "fine_tuning_job_id");
    return toJob(r);
  }

  /** Newest first; `after` is a job id from the previous page. */
  list(opts: { after?: string; limit?: number } = {}): { jobs: Job[]; hasMore: boolean } {
    const limit = opts.limit ?? 20;
    const afterSeq = opts.after
      ? ((this.db.prepare("SELECT seq FROM jobs WHERE id = ?").get(opts.after) as { seq: number } | undefined)
          ?.seq ?? 0)
      : Number.MAX_SAFE_INTEGER;
    const rows = this.db
      .prepare("SELECT * FROM jobs WHERE seq < ? ORDER BY seq DESC LIMIT ?")
      .all(afterSeq, limit + 1) as JobRecord[];
    return { jobs: rows.slice(0, limit).map(toJob), hasMore: rows.length > limit };
  }

  addEvent(
    jobId: string,
    level: JobEvent["level"],
    type: JobEvent["type"],
    message: string,
    data: Record<string, unknown> | null = null,
  ): JobEvent {
    const createdAt = nowSeconds();
    const { lastInsertRowid } = this.db
      .prepare(
        "INSERT INTO events (job_id, created_at, level, type, message, data) VALUES (?, ?, ?, ?, ?, ?)",
      )
      .run(jobId, createdAt, level, type, message, data ? JSON.stringify(data) : null);
    const event: JobEvent = { id: Number(lastInsertRowid), jobId, createdAt, level, type, message, data };
    this.onEvent?.(event);
    return event;
  }

  /** Events in order; `afterId` continues a stream. */
  events(jobId: string, opts: { afterId?: number; limit?: number } = {}): JobEvent[] {
    const rows = this.db
      .prepare("SELECT * FROM events WHERE job_id = ? AND id > ? ORDER BY id LIMIT ?")
      .all(jobId, opts.afterId ?? 0, opts.limit ?? 10_000) as {
      id: number;
      job_id: string;
      created_at: number;
      level: JobEvent["level"];
      type: JobEvent["type"];
      message: string;
      data: string | null;
    }[];
    return rows.map((r) => ({
      id: r.id,
      jobId: r.job_id,
      createdAt: r.created_at,
      level: r.level,
      type: r.type,
      message: r.message,
      data: r.data ? JSON.parse(r.data) : null,
    }));
  }

  /** Queues again every running job whose lease expired before `now` (ms). Returns their ids. */
  requeueExpired(now = Date.now()): string[] {
    const expired = this.db
      .prepare("SELECT id, worker FROM jobs WHERE status = 'running' AND lease_expires < ?")
      .all(now) as { id: string; worker: string }[];
    for (const { id, worker } of expired) {
      this.db
        .prepare(
          "UPDATE jobs SET status = 'queued', worker = NULL, lease_token = NULL, lease_expires = NULL WHERE id = ? AND status = 'running'",
        )
        .run(id);
      this.addEvent(id, "warn", "message", `Worker ${worker} stopped heartbeating; job re-queued`);
    }
    return expired.map((e) => e.id);
  }

  /** Leases the oldest queued job to `worker` for `leaseMs`; null when the queue is empty. */
  claim(worker: string, leaseMs: number, now = Date.now()): Lease | null {
    return this.db.transaction((): Lease | null => {
      this.requeueExpired(now);
      const row = this.db.prepare("SELECT id FROM jobs WHERE status = 'queued' ORDER BY seq LIMIT 1").get() as
        | { id: string }
        | undefined;
      if (!row) return null;
      const token = randomBytes(16).toString("hex");
      const expiresAt = now + leaseMs;
      this.db
        .prepare(
          "UPDATE jobs SET status = 'running', worker = ?, lease_token = ?, lease_expires = ?, attempt = attempt + 1 WHERE id = ?",
        )
        .run(worker, token, expiresAt, row.id);
      const job = this.get(row.id);
      this.addEvent(row.id, "info", "message", `Worker ${worker} started the job (attempt ${job.attempt})`);
      return { job, token, expiresAt };
    })();
  }

  /** The job if `token` is its current lease; a ConflictError says why not (cancelled, re-queued). */
  leased(jobId: string, token: string): Job {
    const job = this.get(jobId);
    const r = this.db.prepare("SELECT lease_token FROM jobs WHERE id = ?").get(jobId) as {
      lease_token: string | null;
    };
    if (job.status !== "running" || r.lease_token !== token) {
      throw new ConflictError(
        job.status === "cancelled" ? "job_cancelled" : "lease_lost",
        job.status === "cancelled"
          ? `job ${jobId} was cancelled`
          : `this worker no longer holds job ${jobId} (status ${job.status}); stop working on it`,
      );
    }
    return job;
  }

  heartbeat(
    jobId: string,
    token: string,
    leaseMs: number,
    progress: { step?: number; totalSteps?: number; trainedTokens?: number } = {},
    now = Date.now(),
  ): number {
    const job = this.leased(jobId, token);
    const expiresAt = now + leaseMs;
    this.db
      .prepare(
        "UPDATE jobs SET lease_expires = ?, step = ?, total_steps = ?, trained_tokens = ? WHERE id = ?",
      )
      .run(
        expiresAt,
        progress.step ?? job.step,
        progress.totalSteps ?? job.totalSteps,
        progress.trainedTokens ?? job.trainedTokens,
        jobId,
      );
    return expiresAt;
  }

  private finish(jobId: string, status: JobStatus, fields: { result?: JobResult; error?: JobError }): Job {
    this.db
      .prepare(
        "UPDATE jobs SET status = ?, finished_at = ?, result = ?, error = ?, lease_token = NULL, lease_expires = NULL WHERE id = ?",
      )
      .run(
        status,
        nowSeconds(),
        fields.result ? JSON.stringify(fields.result) : null,
        fields.error ? JSON.stringify(fields.error) : null,
        jobId,
      );
    return this.get(jobId);
  }

  succeed(jobId: string, result: JobResult): Job {
    const job = this.finish(jobId, "succeeded", { result });
    this.addEvent(jobId, "info", "message", "The job has successfully completed");
    return job;
  }

  /** Records a result without finishing (publish may still fail or be retried). */
  setResult(jobId: string, result: JobResult): void {
    this.db.prepare("UPDATE jobs SET result = ? WHERE id = ?").run(JSON.stringify(result), jobId);
  }

  fail(jobId: string, error: JobError): Job {
    const job = this.finish(jobId, "failed", { error, result: this.get(jobId).result ?? undefined });
    this.addEvent(jobId, "error", "message", `The job failed: ${error.message}`, { code: error.code });
    return job;
  }

  /** Cancels a queued or running job; a finished one is a conflict. */
  cancel(jobId: string): Job {
    const job = this.get(jobId);
    if (TERMINAL.includes(job.status)) {
      throw new ConflictError(
        "job_finished",
        `job ${jobId} has already ${job.status}; it cannot be cancelled`,
      );
    }
    const done = this.finish(jobId, "cancelled", {});
    this.addEvent(jobId, "info", "message", "The job was cancelled");
    return done;
  }

  addCheckpoint(jobId: string, step: number, cid: string, metrics: Record<string, number>): void {
    this.db
      .prepare(
        "INSERT OR REPLACE INTO checkpoints (job_id, step, cid, metrics, created_at) VALUES (?, ?, ?, ?, ?)",
      )
      .run(jobId, step, cid, JSON.stringify(metrics), nowSeconds());
  }

  checkpoints(jobId: string): CheckpointRow[] {
    const rows = this.db
      .prepare("SELECT * FROM checkpoints WHERE job_id = ? ORDER BY step DESC")
      .all(jobId) as { job_id: string; step: number; cid: string; metrics: string; created_at: number }[];
    return rows.map((r) => ({
      jobId: r.job_id,
      step: r.step,
      cid: r.cid,
      metrics: JSON.parse(r.metrics),
      createdAt: r.created_at,
    }));
  }
}
