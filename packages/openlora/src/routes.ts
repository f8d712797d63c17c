import { createHash } from "node:crypto";
import { openAIError } from "@openledger/common";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { Credentials } from "./admission.ts";
import { DEFAULT_CHAT_STOPS, DEFAULT_CHAT_TEMPLATE, renderChat } from "./chat-template.ts";
import { errorBody, InvalidRequestError, OpenLoraError, QueueFullError } from "./errors.ts";
import { type Body, chatParams, completionParams, ensembleField, requireModel } from "./params.ts";
import type { OpenLora, ServedResult, StartedGeneration } from "./service.ts";
import type { GenerationEvent, GenerationResult, PublishedModel, TokenLogprob } from "./types.ts";

export interface OpenAiRoutesOptions {
  openlora: OpenLora;
}

function modelCard(m: PublishedModel) {
  return {
    id: m.name,
    object: "model",
    created: 0,
    owned_by: m.owner,
    openledger: {
      modelId: m.modelId.toString(),
      version: m.version,
      kind: m.adapter ? "adapter" : "base",
      owner: m.owner,
      pricePer1kTokens: m.pricePer1kTokens.toString(),
      baseModel: m.baseModel,
      ...(m.adapter ? { adapter: m.adapter } : {}),
      snapshotIds: m.snapshotIds.map(String),
      tokenizer: m.tokenizerCid,
    },
  };
}

/** Fairness key: the `user` field, else a hash of the API key, else the client address. */
function tenantOf(req: FastifyRequest, body: Body): string {
  if (typeof body.user === "string" && body.user) return `user:${body.user.slice(0, 128)}`;
  const auth = req.headers.authorization;
  if (auth) return `key:${createHash("sha256").update(auth).digest("hex").slice(0, 16)}`;
  return `ip:${req.ip}`;
}

/** The payment credentials a request carries, for the admission hook. */
function credentialsOf(req: FastifyRequest): Credentials {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);
  const authorization = one(req.headers.authorization);
  const payment = one(req.headers["payment-signature"]) ?? one(req.headers["x-payment"]);
  return { ...(authorization ? { authorization } : {}), ...(payment ? { payment } : {}) };
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  const { status, body } = errorBody(err);
  if (err instanceof OpenLoraError && err.headers) reply.headers(err.headers);
  if (err instanceof QueueFullError) reply.header("retry-after", String(err.retryAfterSeconds));
  return reply.code(status).send(body);
}

function completionLogprobs(lps: TokenLogprob[]) {
  let offset = 0;
  const text_offset = lps.map((l) => {
    const at = offset;
    offset += l.token.length;
    return at;
  });
  return {
    tokens: lps.map((l) => l.token),
    token_logprobs: lps.map((l) => l.logprob),
    top_logprobs: lps.map((l) => Object.fromEntries((l.top ?? []).map((t) => [t.token, t.logprob]))),
    text_offset,
  };
}

function chatLogprobs(lps: TokenLogprob[]) {
  const bytes = (s: string) => [...Buffer.from(s, "utf8")];
  return {
    content: lps.map((l) => ({
      token: l.token,
      logprob: l.logprob,
      bytes: bytes(l.token),
      top_logprobs: (l.top ?? []).map((t) => ({ token: t.token, logprob: t.logprob, bytes: bytes(t.token) })),
    })),
  };
}

function usage(r: GenerationResult) {
  return {
    prompt_tokens: r.promptTokens,
    completion_tokens: r.completionTokens,
    total_tokens: r.promptTokens + r.completionTokens,
  };
}

type Kind = "completion" | "chat";

/**
 * Runs a started generation as a JSON answer or as server-sent events. A client that goes away
 * (its socket closes before the answer is done) aborts the generation.
 */
async function respond(
  kind: Kind,
  started: StartedGeneration,
  body: Body,
  req: FastifyRequest,
  reply: FastifyReply,
): Promise<FastifyReply | undefined> {
  const id = `${kind === "chat" ? "chatcmpl" : "cmpl"}-${started.id}`;
  const created = Math.floor(Date.now() / 1000);
  const model = started.model.name;
  const abort = new AbortController();
  const onClose = () => {
    if (!reply.raw.writableFinished) abort.abort();
  };
  reply.raw.on("close", onClose);
  req.raw.on("aborted", onClose);
  if (body.stream !== true) {
    try {
      const r: ServedResult = await started.run(() => {}, abort.signal);
      if (abort.signal.aborted) return reply.hijack();
      if (started.headers) reply.headers(started.headers);
      if (r.settlement) reply.headers(r.settlement.headers);
      const finish_reason = r.finishReason === "cancelled" ? "stop" : r.finishReason;
      const choice =
        kind === "chat"
          ? {
              index: 0,
              message: { role: "assistant", content: r.text, refusal: null },
              logprobs: r.logprobs ? chatLogprobs(r.logprobs) : null,
              finish_reason,
            }
          : {
              index: 0,
              text: r.text,
              logprobs: r.logprobs ? completionLogprobs(r.logprobs) : null,
              finish_reason,
            };
      return reply.send({
        id,
        object: kind === "chat" ? "chat.completion" : "text_completion",
        created,
        model,
        choices: [choice],
        usage: usage(r),
        ...(r.settlement ? { openledger: r.settlement.extension } : {}),
      });
    } catch (err) {
      return sendError(reply, err);
    }
  }

  // stream: headers go out with the first event, so a refusal before it is still a JSON error
  const includeUsage = (body.stream_options as Body | undefined)?.include_usage === true;
  const object = kind === "chat" ? "chat.completion.chunk" : "text_completion";
  let open = false;
  const write = (data: unknown) => {
    if (!open) {
      open = true;
      reply.hijack();
      reply.raw.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
        ...started.headers,
      });
      if (kind === "chat")
        write({
          id,
          object,
          created,
          model,
          choices: [
            { index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null },
          ],
        });
    }
    if (!reply.raw.destroyed) reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  const chunk = (ev: GenerationEvent, finish: string | null) => {
    const lp = ev.logprob ? [ev.logprob] : null;
    const choice =
      kind === "chat"
        ? {
            index: 0,
            delta: finish ? {} : { content: ev.text },
            logprobs: lp ? chatLogprobs(lp) : null,
            finish_reason: finish,
          }
        : { index: 0, text: ev.text, logprobs: lp ? completionLogprobs(lp) : null, finish_reason: finish };
    write({ id, object, created, model, choices: [choice] });
  };
  let result: ServedResult;
  try {
    result = await started.run((ev) => chunk(ev, null), abort.signal);
  } catch (err) {
    if (!open) return sendError(reply, err);
    write(errorBody(err).body);
    reply.raw.end();
    return;
  }
  if (abort.signal.aborted || result.finishReason === "cancelled") {
    if (open) reply.raw.end();
    else reply.hijack();
    return;
  }
  chunk({ text: "" }, result.finishReason);
  // a stream's headers left before the usage was known: its receipt rides in a last extension event
  if (result.settlement)
    write({ id, object, created, model, choices: [], openledger: result.settlement.extension });
  if (includeUsage) write({ id, object, created, model, choices: [], usage: usage(result) });
  reply.raw.write("data: [DONE]\n\n");
  reply.raw.end();
}

/**
 * The OpenAI-compatible API as a Fastify plugin: GET /v1/models, GET /v1/models/:model,
 * POST /v1/completions, POST /v1/chat/completions (stream: true as server-sent events) and GET /metrics
 * (Prometheus text). Register it without a prefix.
 */
export async function openaiRoutes(app: FastifyInstance, options: OpenAiRoutesOptions): Promise<void> {
  const lora = options.openlora;

  app.setErrorHandler((err, _req, reply) => {
    const status = (err as { statusCode?: number }).statusCode ?? 500;
    const code = status === 413 ? "request_too_large" : status === 400 ? "invalid_json" : "internal_error";
    return reply
      .code(status)
      .send(
        openAIError((err as Error).message, status < 500 ? "invalid_request_error" : "server_error", code),
      );
  });

  app.get("/v1/models", async () => ({ object: "list", data: (await lora.catalog.list()).map(modelCard) }));

  app.get<{ Params: { model: string } }>("/v1/models/:model", async (req, reply) => {
    try {
      return modelCard(await lora.catalog.resolve(req.params.model));
    } catch (err) {
      return sendError(reply, err);
    }
  });

  app.post("/v1/completions", async (req, reply) => {
    const body = (req.body ?? {}) as Body;
    let started: StartedGeneration;
    try {
      if (typeof body !== "object" || Array.isArray(body))
        throw new InvalidRequestError("the body must be a JSON object");
      const model = requireModel(body);
      const { prompt, params } = completionParams(body);
      const ensemble = ensembleField(body);
      started = await lora.start({
        model,
        prompt,
        params,
        tenant: tenantOf(req, body),
        credentials: credentialsOf(req),
        ...(ensemble ? { ensemble } : {}),
      });
    } catch (err) {
      return sendError(reply, err);
    }
    return respond("completion", started, body, req, reply);
  });

  app.post("/v1/chat/completions", async (req, reply) => {
    const body = (req.body ?? {}) as Body;
    let started: StartedGeneration;
    try {
      if (typeof body !== "object" || Array.isArray(body))
        throw new InvalidRequestError("the body must be a JSON object");
      const name = requireModel(body);
      const model = await lora.catalog.resolve(name);
      const { messages, params } = chatParams(body, 256);
      const template =
        model.chatTemplate && !model.chatTemplate.includes("{%") ? model.chatTemplate : DEFAULT_CHAT_TEMPLATE;
      if (template === DEFAULT_CHAT_TEMPLATE) params.stop = [...params.stop, ...DEFAULT_CHAT_STOPS];
      const ensemble = ensembleField(body);
      started = await lora.start({
        model: name,
        prompt: renderChat(messages, template),
        params,
        tenant: tenantOf(req, body),
        credentials: credentialsOf(req),
        ...(ensemble ? { ensemble } : {}),
      });
    } catch (err) {
      return sendError(reply, err);
    }
    return respond("chat", started, body, req, reply);
  });

  app.get("/metrics", async (_req, reply) =>
    reply.header("content-type", "text/plain; version=0.0.4").send(lora.metrics.render()),
  );
}
