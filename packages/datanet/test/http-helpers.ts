// The HTTP harness the Datanet API tests share: the routes on a real fastify listening on 127.0.0.1,
// requests made with fetch as any client would, and the OpenAI-style error shape checked in one place.
import assert from "node:assert/strict";
import Fastify, { type FastifyInstance } from "fastify";
import { datanetRoutes } from "../src/http.ts";
import type { DatanetService } from "../src/service.ts";

export interface TestApi {
  app: FastifyInstance;
  /** The routes' base URL, `http://127.0.0.1:<port>/v1`. */
  base: string;
  /** POSTs `body` as JSON (a string or bytes go as they are, for malformed-body tests). */
  post(path: string, body: unknown): Promise<Response>;
  /** Uploads `bytes` as the multipart `file` with `fields` to the Datanet's contributions route. */
  upload(
    datanetId: bigint,
    fields: Record<string, string>,
    bytes: Uint8Array,
    name?: string,
  ): Promise<Response>;
  close(): Promise<void>;
}

/** Serves `service`'s Datanet routes under /v1 (signing for callers only with `devSigning`). */
export async function serveDatanetApi(
  service: DatanetService,
  options: { devSigning?: boolean } = {},
): Promise<TestApi> {
  const app = Fastify();
  await app.register(datanetRoutes, { service, prefix: "/v1", ...options });
  const base = `${await app.listen({ host: "127.0.0.1", port: 0 })}/v1`;
  return {
    app,
    base,
    post: (path, body) =>
      fetch(`${base}${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
      }),
    upload: (datanetId, fields, bytes, name = "c.txt") => {
      const form = new FormData();
      for (const [k, v] of Object.entries(fields)) form.append(k, v);
      form.append("file", new Blob([bytes]), name);
      return fetch(`${base}/datanets/${datanetId}/contributions`, { method: "POST", body: form });
    },
    close: () => app.close(),
  };
}

/** Asserts an error answer: `status`, the `{error:{message,type,code}}` body with `code` (and `message`). */
export async function expectError(res: Response, status: number, code: string, message?: RegExp) {
  const body = (await res.json()) as { error: { message: string; type: string; code: string } };
  assert.equal(res.status, status, JSON.stringify(body));
  assert.equal(body.error.code, code);
  assert.equal(typeof body.error.type, "string");
  if (message) assert.match(body.error.message, message);
  return body;
}
