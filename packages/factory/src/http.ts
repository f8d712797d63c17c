// HTTP: OpenAI's fine-tuning routes (so existing clients work) and the worker protocol, as one
// fastify plugin. Errors are `{ error: { message, type, code, param } }`.

import { timingSafeEqual } from "node:crypto";
import { openAIError } from "@openledger/common";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { AuthenticationError, FactoryError, InvalidRequestError } from "./errors.ts";
import { hyperparametersView } from "./hyperparameters.ts";
import { type Job, type JobEvent, TERMINAL } from "./job-store.ts";
import type { CompletionBody, FactoryService } from "./service.ts";

export interface FineTuningRoutesOptions {
  factory: FactoryService;
  /** largest worker upload (adapter, checkpoint, gradient store); default 1 GiB */
  maxUploadBytes?: number;
}

/** The longest a worker's claim may wait for a job (its long poll). */
export const MAX_CLAIM_WAIT_MS = 30_000;

export function jobObject(job: Job): Record<string, unknown> {
  const s = job.spec;
  const r = job.result;
  return {
    object: "fine_tuning.job",
    id: job.id,
    model: s.baseModel.name,
    created_at: job.createdAt,
    finished_at: job.finishedAt,
    fine_tuned_model: job.status === "succeeded" ? s.name : null,
    organization_id: s.owner,
    result_files: r ? [r.artefacts.manifest, r.artefacts.metrics, r.artefacts.reportHtml] : [],
    status: job.status,
    validation_file: null,
    training_file: s.trainingFile,
    hyperparameters: hyperparametersView(s.config),
    method: { type: "supervised", supervised: { hyperparameters: hyperparametersView(s.config) } },
    trained_tokens: job.status === "succeeded" ? (r?.trainedTokens ?? null) : null,
    error: job.error,
    seed: s.config.seed,
    estimated_finish: null,
    integrations: [],
    metadata: Object.keys(s.metadata).length ? s.metadata : null,
    openledger: {
      owner: s.owner,
      base_model: { ...s.baseModel },
      snapshots: s.snapshots,
      config_hash: s.configHash,
      step: job.step,
      total_steps: job.totalSteps,
      attempt: job.attempt,
      worker: job.worker,
      publish: s.publish,
      result: r,
    },
  };
}

export function eventObject(e: JobEvent): Record<string, unknown> {
  return {
    object: "fine_tuning.job.event",
    id: `ftevent-${e.id}`,
    created_at: e.createdAt,
    level: e.level,
    message: e.message,
    type: e.type,
    data: e.data ?? {},
  };
}

function limitOf(value: unknown, max = 100): number {
  if (value === undefined) return 20;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new InvalidRequestError("invalid_limit", `limit must be an integer in 1..${max}`, "limit");
  }
  return n;
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof FactoryError) return reply.code(err.status).send(err.toBody());
  const e = err as { statusCode?: number; code?: string; message?: string };
  if (e.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
    return reply
      .code(413)
      .send(openAIError("the request body is too large", "invalid_request_error", "payload_too_large"));
  }
  if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
    return reply
      .code(e.statusCode)
      .send(openAIError(e.message ?? "bad request", "invalid_request_error", e.code ?? "bad_request"));
  }
  return reply.code(500).send(openAIError(e.message ?? "internal error", "server_error", "internal_error"));
}

export async function fineTuningRoutes(app: FastifyInstance, opts: FineTuningRoutesOptions): Promise<void> {
  const f = opts.factory;
  const maxUpload = opts.maxUploadBytes ?? 1024 * 1024 * 1024;
  const listeners = new Set<(e: JobEvent) => void>();
  const previous = f.store.onEvent;
  f.store.onEvent = (e) => {
    previous?.(e);
    for (const l of listeners) l(e);
  };

  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  // workers' long polls would hold the server's close for their whole wait
  const closing = new AbortController();
  app.addHook("preClose", async () => closing.abort());
  app.addContentTypeParser(
    "application/octet-stream",
    { parseAs: "buffer", bodyLimit: maxUpload },
    (_req, body, done) => done(null, body),
  );

  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  app.post("/v1/fine_tuning/jobs", async (req, reply) =>
    reply.code(200).send(jobObject(await f.createJob(req.body))),
  );

  app.get("/v1/fine_tuning/jobs", async (req) => {
    const q = req.query as { after?: string; limit?: string };
    const { jobs, hasMore } = f.store.list({ after: q.after, limit: limitOf(q.limit) });
    return { object: "list", data: jobs.map(jobObject), has_more: hasMore };
  });

  app.get("/v1/fine_tuning/jobs/:id", async (req) => jobObject(f.store.get(id(req))));

  app.post("/v1/fine_tuning/jobs/:id/cancel", async (req) => jobObject(f.cancel(id(req))));

  // extension: publish a job trained with `openledger.publish: false`
  app.post("/v1/fine_tuning/jobs/:id/publish", async (req) => {
    const price = ((req.body ?? {}) as { price_per_1k_tokens?: unknown }).price_per_1k_tokens ?? "0";
    if (
      !(typeof price === "string" && /^\d{1,40}$/.test(price)) &&
      !(typeof price === "number" && Number.isSafeInteger(price) && price >= 0)
    ) {
      throw new InvalidRequestError(
        "invalid_price",
        "price_per_1k_tokens must be a whole number of OPEN wei",
        "price_per_1k_tokens",
      );
    }
    return jobObject(await f.publishJob(id(req), BigInt(price)));
  });

  app.get("/v1/fine_tuning/jobs/:id/checkpoints", async (req) => {
    const job = f.store.get(id(req));
    const rows = f.store.checkpoints(job.id);
    return {
      object: "list",
      data: rows.map((c) => ({
        object: "fine_tuning.job.checkpoint",
        id: `ftckpt-${job.id.slice(6)}-${c.step}`,
        created_at: c.createdAt,
        fine_tuned_model_checkpoint: `${job.spec.name}:ckpt-step-${c.step}`,
        step_number: c.step,
        metrics: c.metrics,
        fine_tuning_job_id: job.id,
        openledger: { cid: c.cid },
      })),
      has_more: false,
      first_id: rows[0] ? `ftckpt-${job.id.slice(6)}-${rows[0].step}` : null,
      last_id: rows.at(-1) ? `ftckpt-${job.id.slice(6)}-${rows.at(-1)!.step}` : null,
    };
  });

  app.get("/v1/fine_tuning/jobs/:id/report", async (req, reply) => {
    const job = f.store.get(id(req));
    if (!job.result)
      throw new InvalidRequestError("no_report", `job ${job.id} has no report yet (${job.status})`);
    const html = await f.blobs.get(job.result.artefacts.reportHtml);
    return reply.type("text/html; charset=utf-8").send(Buffer.from(html));
  });

  // Events: newest first like OpenAI (`after` pages to older ones); `?stream=true` is server-sent
  // events from the first one on, ending with `data: [DONE]` when the job finishes.
  app.get("/v1/fine_tuning/jobs/:id/events", async (req, reply) => {
    const job = f.store.get(id(req));
    const q = req.query as { after?: string; limit?: string; stream?: string };
    const wantsStream = q.stream === "true" || (req.headers.accept ?? "").includes("text/event-stream");
    if (!wantsStream) {
      const limit = limitOf(q.limit, 10_000);
      let before = Number.MAX_SAFE_INTEGER;
      if (q.after !== undefined) {
        const m = /^ftevent-(\d+)$/.exec(q.after);
        if (!m)
          throw new InvalidRequestError("invalid_cursor", "after must be an event id (ftevent-N)", "after");
        before = Number(m[1]);
      }
      const all = f.store
        .events(job.id)
        .filter((e) => e.id < before)
        .reverse();
      return { object: "list", data: all.slice(0, limit).map(eventObject), has_more: all.length > limit };
    }
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
    });
    let last = 0;
    let done = false;
    const send = (e: JobEvent) => {
      if (e.id <= last || done) return;
      last = e.id;
      res.write(`data: ${JSON.stringify(eventObject(e))}\n\n`);
    };
    const finish = () => {
      if (done) return;
      done = true;
      listeners.delete(onEvent);
      res.write(
        `data: ${JSON.stringify({ object: "fine_tuning.job", status: f.store.get(job.id).status })}\n\n`,
      );
      res.write("data: [DONE]\n\n");
      res.end();
    };
    const onEvent = (e: JobEvent) => {
      if (e.jobId !== job.id) return;
      send(e);
      if (TERMINAL.includes(f.store.get(job.id).status)) finish();
    };
    listeners.add(onEvent);
    req.raw.once("close", () => {
      done = true;
      listeners.delete(onEvent);
    });
    for (const e of f.store.events(job.id)) send(e);
    if (TERMINAL.includes(f.store.get(job.id).status)) finish();
  });

  // ---------------------------------------------------------------- workers (bearer token)
  const expected = Buffer.from(`Bearer ${f.options.workerToken}`);
  const authorise = async (req: FastifyRequest) => {
    const got = Buffer.from(req.headers.authorization ?? "");
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new AuthenticationError(
        "worker routes need `Authorization: Bearer <worker token>` (see `openledger worker --help`)",
      );
    }
  };
  const lease = (req: FastifyRequest) => {
    const token = req.headers["openledger-lease"];
    if (typeof token !== "string" || token.length === 0) {
      throw new InvalidRequestError("missing_lease", "send the lease token in the openledger-lease header");
    }
    return token;
  };

  app.register(async (w) => {
    w.addHook("onRequest", authorise);
    w.post("/v1/factory/worker/claim", async (req, reply) => {
      const body = (req.body ?? {}) as { worker?: string; wait_ms?: unknown };
      const waitMs = body.wait_ms ?? 0;
      if (
        typeof waitMs !== "number" ||
        !Number.isInteger(waitMs) ||
        waitMs < 0 ||
        waitMs > MAX_CLAIM_WAIT_MS
      ) {
        throw new InvalidRequestError(
          "invalid_wait",
          `wait_ms must be an integer in 0..${MAX_CLAIM_WAIT_MS}`,
          "wait_ms",
        );
      }
      const gone = new AbortController();
      reply.raw.once("close", () => gone.abort());
      const claimed = await f.claimOrWait(
        body.worker ?? "",
        waitMs,
        AbortSignal.any([gone.signal, closing.signal]),
      );
      if (!claimed) return reply.code(204).send();
      return {
        job: { id: claimed.job.id, spec: claimed.job.spec, attempt: claimed.job.attempt },
        lease: { token: claimed.token, expiresAt: claimed.expiresAt, leaseMs: f.leaseMs },
        checkpoint: claimed.checkpoint,
        checkpointEvery: f.checkpointEvery,
      };
    });
    w.post("/v1/factory/worker/jobs/:id/heartbeat", async (req) => {
      const b = (req.body ?? {}) as { step?: number; totalSteps?: number; trainedTokens?: number };
      const num = (v: unknown) =>
        typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : undefined;
      const expiresAt = f.heartbeat(id(req), lease(req), {
        step: num(b.step),
        totalSteps: num(b.totalSteps),
        trainedTokens: num(b.trainedTokens),
      });
      return { expiresAt };
    });
    w.post("/v1/factory/worker/jobs/:id/events", async (req) => {
      f.postEvents(id(req), lease(req), (req.body as { events?: unknown })?.events);
      return { ok: true };
    });
    w.get("/v1/factory/worker/jobs/:id/dataset", async (req, reply) =>
      reply.type("application/x-ndjson").send(Buffer.from(await f.dataset(id(req), lease(req)))),
    );
    w.put("/v1/factory/worker/jobs/:id/checkpoints/:step", async (req) => {
      const q = req.query as { loss?: string };
      const body = req.body;
      if (!Buffer.isBuffer(body))
        throw new InvalidRequestError("invalid_body", "send the checkpoint as application/octet-stream");
      const step = Number((req.params as { step: string }).step);
      return { cid: await f.putCheckpoint(id(req), lease(req), step, body, Number(q.loss ?? Number.NaN)) };
    });
    w.put("/v1/factory/worker/jobs/:id/blobs", async (req) => {
      if (!Buffer.isBuffer(req.body))
        throw new InvalidRequestError("invalid_body", "send the file as application/octet-stream");
      return { cid: await f.putBlob(id(req), lease(req), req.body) };
    });
    w.get("/v1/factory/worker/blobs/:cid", async (req, reply) => {
      const cid = (req.params as { cid: string }).cid;
      try {
        return reply.type("application/octet-stream").send(Buffer.from(await f.blobs.get(cid)));
      } catch (err) {
        throw new FactoryError(
          404,
          "not_found_error",
          "blob_not_found",
          `blob ${cid}: ${(err as Error).message}`,
        );
      }
    });
    w.post("/v1/factory/worker/jobs/:id/complete", async (req) =>
      jobObject(await f.complete(id(req), lease(req), req.body as CompletionBody)),
    );
    w.post("/v1/factory/worker/jobs/:id/fail", async (req) =>
      jobObject(
        f.fail(
          id(req),
          lease(req),
          ((req.body ?? {}) as { error?: { code?: unknown; message?: unknown } }).error ?? {},
        ),
      ),
    );
  });
}
