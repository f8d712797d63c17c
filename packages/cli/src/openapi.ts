import { InvalidArgumentError } from "commander";
import type { FastifyInstance } from "fastify";

export interface HttpDocsOptions {
  /**
   * Browser origins allowed by CORS: `"*"` for any, or exact origins (`https://app.example`).
   * Default: pages served from this machine (http(s)://localhost, 127.0.0.1 or [::1], any port), so a
   * local web UI works and a page on another site cannot read the API's answers.
   */
  corsOrigins?: string[];
}

/** Any port on the loopback host names a browser may use. */
export const LOOPBACK_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

/** `--cors-origin` values: `*`, or comma-separated origins (scheme://host[:port], no path). */
export function parseCorsOrigins(value: string): string[] {
  const origins = value
    .split(",")
    .map((o) => o.trim())
    .filter(Boolean);
  if (origins.length === 0) throw new InvalidArgumentError("expected * or a comma-separated list of origins");
  for (const origin of origins) {
    if (origin !== "*" && !/^https?:\/\/[^/\s?#]+$/.test(origin)) {
      throw new InvalidArgumentError(
        `"${origin}" is not an origin; write scheme://host[:port], e.g. https://app.example`,
      );
    }
  }
  return origins;
}

/**
 * The API's OpenAPI 3 description at GET /docs (Swagger UI) and /docs/json (/docs/yaml), and CORS.
 * The description is generated from the routes as they are registered (paths, methods and their
 * schemas), so register this before any route: a route added later cannot be left out of it.
 */
export async function registerHttpDocs(app: FastifyInstance, options: HttpDocsOptions = {}): Promise<void> {
  const [{ default: cors }, { default: swagger }, { default: swaggerUi }] = await Promise.all([
    import("@fastify/cors"),
    import("@fastify/swagger"),
    import("@fastify/swagger-ui"),
  ]);
  const origins = options.corsOrigins;
  await app.register(cors, {
    origin: origins?.includes("*") ? "*" : (origins ?? LOOPBACK_ORIGIN),
    methods: ["GET", "HEAD", "POST", "DELETE"],
    // a page's script reads the x402 terms and settlement and the usage receipt from these
    exposedHeaders: ["payment-required", "payment-response", "openledger-receipt"],
    maxAge: 600,
  });
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: {
        title: "OpenLedger HTTP API",
        version: "0.1.0",
        description:
          "Datanets, Proof of Attribution, fine-tuning (OpenAI fine_tuning API), inference (OpenAI API) and payments. Errors answer `{ error: { message, type, code } }`.",
      },
      tags: [
        { name: "datanets", description: "Datanets, contributions, curation, snapshots, licences" },
        { name: "attribution", description: "Proof of Attribution over published snapshots" },
      ],
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
}
