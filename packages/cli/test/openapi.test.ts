// The HTTP API's OpenAPI document (GET /docs/json) and CORS, on the real server over a real
// (read-only) Datanet service.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DatanetService } from "@openledger/datanet";
import { Validator } from "@seriousme/openapi-schema-validator";
import { startApiServer } from "../src/api-server.ts";
import { createLogger } from "../src/log.ts";
import { parseCorsOrigins } from "../src/openapi.ts";

/** Every `METHOD /path` fastify's route tree prints (paths in OpenAPI's `{param}` form). */
function registeredRoutes(tree: string): Set<string> {
  const routes = new Set<string>();
  const stack: { depth: number; path: string }[] = [];
  for (const line of tree.split("\n")) {
    const m = /^([│├└─\s]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m || !line.trim()) continue;
    const depth = m[1].length;
    while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
    const path = (stack.at(-1)?.path ?? "") + m[2];
    stack.push({ depth, path });
    for (const method of m[3]?.split(", ") ?? []) routes.add(`${method} ${path}`);
  }
  return routes;
}

describe("OpenAPI document and CORS", () => {
  let datanets: DatanetService;
  let api: Awaited<ReturnType<typeof startApiServer>>;
  const start = (corsOrigins?: string[]) =>
    startApiServer({
      host: "127.0.0.1",
      port: 0,
      datanets,
      snapshotIndexes: {},
      corsOrigins,
      log: createLogger({ quiet: true }),
    });
  before(async () => {
    datanets = new DatanetService({ dataDir: mkdtempSync(join(tmpdir(), "openledger-openapi-")) });
    api = await start();
  });
  after(async () => {
    await api.app.close();
    datanets.close();
  });

  test("/docs/json is a valid OpenAPI 3 document listing every registered route", async () => {
    const res = await fetch(`${api.url}/docs/json`);
    assert.equal(res.status, 200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    const validator = new Validator();
    assert.deepEqual(await validator.validate(doc as unknown as Parameters<Validator["validate"]>[0]), {
      valid: true,
    });
    assert.equal(validator.version, "3.0");

    const documented = new Set(
      Object.entries(doc.paths).flatMap(([path, ops]) =>
        Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`),
      ),
    );
    const registered = [...registeredRoutes(api.app.printRoutes({ commonPrefix: false }))]
      .filter((r) => !/^(HEAD|OPTIONS) /.test(r) && !r.includes(" /docs"))
      .map((r) => r.replace(/:(\w+)/g, "{$1}"));
    assert.ok(registered.length >= 20, `routes found: ${registered.join(", ")}`);
    for (const route of registered) assert.ok(documented.has(route), `${route} missing from /docs/json`);
    for (const route of documented) assert.ok(registered.includes(route), `${route} documented, not served`);

    // the route schemas reach the document: parameters, bodies, the multipart upload
    const create = doc.paths["/v1/datanets"].post as { requestBody: { content: Record<string, unknown> } };
    assert.ok(create.requestBody.content["application/json"]);
    const upload = doc.paths["/v1/datanets/{id}/contributions"].post as {
      requestBody?: unknown;
      parameters: { name: string; in: string }[];
      description: string;
    };
    assert.deepEqual(
      upload.parameters.map((p) => `${p.in}:${p.name}`),
      ["path:id"],
    );
    assert.match(upload.description, /multipart|contentHash/);
    const attribution = doc.paths["/v1/attribution"].post as { requestBody: unknown };
    assert.ok(attribution.requestBody, "the attribution route's body schema is documented");
  });

  test("/docs serves the Swagger UI page", async () => {
    const res = await fetch(`${api.url}/docs`, { redirect: "follow" });
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
  });

  test("schemas document but do not change the Datanet routes' own errors", async () => {
    const res = await fetch(`${api.url}/v1/datanets/0x1`);
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "invalid_id");
  });

  const preflight = (url: string, origin: string) =>
    fetch(`${url}/v1/datanets`, {
      method: "OPTIONS",
      headers: {
        origin,
        "access-control-request-method": "POST",
        "access-control-request-headers": "content-type",
      },
    });

  test("a preflight from a page on this machine gets the CORS headers; another site's does not", async () => {
    const local = await preflight(api.url, "http://localhost:5173");
    assert.equal(local.status, 204);
    assert.equal(local.headers.get("access-control-allow-origin"), "http://localhost:5173");
    assert.match(local.headers.get("access-control-allow-methods") ?? "", /POST/);
    assert.equal(local.headers.get("access-control-allow-headers"), "content-type");
    const foreign = await preflight(api.url, "https://evil.example");
    assert.equal(foreign.headers.get("access-control-allow-origin"), null);
    const simple = await fetch(`${api.url}/health`, { headers: { origin: "http://127.0.0.1:3000" } });
    assert.equal(simple.headers.get("access-control-allow-origin"), "http://127.0.0.1:3000");
    // x402 clients in a page read the payment terms and settlement from these
    assert.match(
      simple.headers.get("access-control-expose-headers") ?? "",
      /payment-required.*payment-response/,
    );
  });

  test("configured origins replace the default", async () => {
    const other = await start(["https://app.example"]);
    try {
      const ok = await preflight(other.url, "https://app.example");
      assert.equal(ok.headers.get("access-control-allow-origin"), "https://app.example");
      const local = await preflight(other.url, "http://localhost:5173");
      assert.equal(local.headers.get("access-control-allow-origin"), null);
    } finally {
      await other.app.close();
    }
    const any = await start(["*"]);
    try {
      const res = await preflight(any.url, "https://anywhere.example");
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
    } finally {
      await any.app.close();
    }
  });

  test("--cors-origin values are checked", () => {
    assert.deepEqual(parseCorsOrigins("https://a.example, http://b.example:8000"), [
      "https://a.example",
      "http://b.example:8000",
    ]);
    assert.deepEqual(parseCorsOrigins("*"), ["*"]);
    assert.throws(() => parseCorsOrigins("https://a.example/path"), /not an origin/);
    assert.throws(() => parseCorsOrigins("a.example"), /not an origin/);
    assert.throws(() => parseCorsOrigins(" , "), /expected/);
  });
});
