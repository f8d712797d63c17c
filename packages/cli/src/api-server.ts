import type { AttributionRoutesOptions } from "@openledger/attribution";
import { openAIError } from "@openledger/common";
import type { DatanetService } from "@openledger/datanet";
import type { FactoryService } from "@openledger/factory";
import type { OpenLora } from "@openledger/openlora";
import type { FastifyInstance } from "fastify";
import { activeLogger } from "./context.ts";
import type { Logger } from "./log.ts";
import { registerHttpDocs } from "./openapi.ts";
import { resolveDevSigning } from "./options.ts";
import type { PayableRoutes } from "./payable-inference.ts";

export interface ApiServerOptions {
  host: string;
  port: number;
  datanets: DatanetService;
  /** Span index files by the snapshot name clients use, or a function giving the current list. */
  snapshotIndexes: AttributionRoutesOptions["snapshots"];
  /** Uploads larger than this are refused with 413. */
  bodyLimit?: number;
  /** OpenAI-compatible model serving (GET /v1/models, completions, chat, /metrics) when given. */
  openlora?: OpenLora;
  /** Fine-tuning jobs (OpenAI /v1/fine_tuning routes) and the worker protocol when given. */
  factory?: FactoryService;
  /**
   * When inference is paid: GET /v1/payments, POST /v1/keys, GET /v1/receipts/:id, the settlement
   * records (/v1/settlement/batches...) and the x402 facilitator (/v1/x402/...).
   */
  payments?: PayableRoutes;
  /** Access and error log (default: the running command's logger, so --log-format applies). */
  log?: Logger;
  /** Browser origins CORS allows (`["*"]` for any); default: pages on this machine (see openapi.ts). */
  corsOrigins?: string[];
  /** Dev mode: the service's dev keys sign for loopback callers (default: on a loopback host only; refused elsewhere). */
  devSigning?: boolean;
}

/**
 * The project's HTTP server: Datanet routes and the attribution route under /v1, and GET /health.
 * Errors use the OpenAI-style `{error:{message,type,code}}` body.
 */
export async function startApiServer(
  options: ApiServerOptions,
): Promise<{ app: FastifyInstance; url: string }> {
  const { default: Fastify } = await import("fastify");
  const { datanetRoutes } = await import("@openledger/datanet");
  const { attributionRoutes } = await import("@openledger/attribution");
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimit ?? 1024 * 1024 });
  const log = options.log ?? activeLogger();
  // Access log: one line per request. Error log: the cause of every 5xx, which the client is only
  // told to look for here. Hooks on the root instance reach every route registered after them.
  const failures = new WeakMap<object, Error>();
  app.addHook("onError", async (request, _reply, error) => {
    failures.set(request, error);
  });
  app.addHook("onResponse", async (request, reply) => {
    const fields = {
      method: request.method,
      url: request.url,
      status: reply.statusCode,
      ms: Math.round(reply.elapsedTime),
      remote: request.ip,
    };
    const failure = failures.get(request);
    if (reply.statusCode >= 500) {
      log.error("request failed", {
        ...fields,
        error: failure ? `${failure.name}: ${failure.message}` : "(no error object; see the route's handler)",
      });
      if (failure?.stack) log.debug("request failure stack", { stack: failure.stack });
    } else if (request.url.startsWith("/v1/factory/worker/")) {
      log.debug("request", fields); // workers poll and heartbeat every second or two
    } else {
      log.info("request", fields);
    }
  });
  await registerHttpDocs(app, { corsOrigins: options.corsOrigins }); // before the routes it describes
  app.get("/health", async () => ({ ok: true }));
  // Dev-key signing only on a loopback host (datanetRoutes also checks each caller).
  const devSigning = resolveDevSigning(options.devSigning, options.host);
  await app.register(datanetRoutes, { service: options.datanets, prefix: "/v1", devSigning });
  await app.register(attributionRoutes, { snapshots: options.snapshotIndexes });
  if (options.openlora)
    await app.register((await import("@openledger/openlora")).openaiRoutes, { openlora: options.openlora });
  if (options.factory)
    await app.register((await import("@openledger/factory")).fineTuningRoutes, { factory: options.factory });
  if (options.payments) {
    const payments = await import("@openledger/payments");
    await app.register(payments.paymentRoutes, options.payments.payments);
    await app.register(payments.settlementRoutes, options.payments.settlement);
    if (options.payments.x402) await app.register(payments.x402FacilitatorRoutes, options.payments.x402);
  }
  app.setNotFoundHandler((req, reply) =>
    reply
      .code(404)
      .send(openAIError(`no route ${req.method} ${req.url}`, "invalid_request_error", "not_found")),
  );
  const url = await app.listen({ host: options.host, port: options.port });
  return { app, url };
}
