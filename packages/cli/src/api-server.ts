import type { DatanetService } from "@openledger/datanet";
import type { FastifyInstance } from "fastify";

export interface ApiServerOptions {
  host: string;
  port: number;
  datanets: DatanetService;
  /** Span-v1 index files by the snapshot name clients use. */
  snapshotIndexes: Record<string, string>;
  /** Uploads larger than this are refused with 413. */
  bodyLimit?: number;
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
  app.get("/health", async () => ({ ok: true }));
  await app.register(datanetRoutes, { service: options.datanets, prefix: "/v1" });
  await app.register(attributionRoutes, { snapshots: options.snapshotIndexes });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send({
      error: {
        message: `no route ${req.method} ${req.url}`,
        type: "invalid_request_error",
        code: "not_found",
      },
    }),
  );
  const url = await app.listen({ host: options.host, port: options.port });
  return { app, url };
}
