import { statSync } from "node:fs";
import { openAIError as apiError } from "@openledger/common";
import type { FastifyInstance, FastifyPluginAsync, FastifyReply } from "fastify";
import { attributeSpanV1 } from "./attribute.ts";
import { AttributionError, OutputTooLargeError } from "./errors.ts";
import { resultToJson } from "./json.ts";
import { SpanIndex } from "./spanIndex.ts";
import { attributeSpanV2 } from "./spanV2.ts";

/** One snapshot the route serves: the name clients use and its index file. */
export interface ServedSnapshot {
  name: string;
  path: string;
}

export interface AttributionRoutesOptions {
  /**
   * The snapshots served: index files by name, or a function giving the current list (asked on every
   * request, so a snapshot indexed while the server runs is served at once).
   */
  snapshots: Record<string, string> | (() => readonly ServedSnapshot[]);
}

export const ATTRIBUTION_ALGORITHMS = ["span-v2", "span-v1"] as const;
export type AttributionAlgorithm = (typeof ATTRIBUTION_ALGORITHMS)[number];

const bodySchema = {
  type: "object",
  required: ["text"],
  additionalProperties: false,
  properties: {
    text: { type: "string", maxLength: 32_768 },
    snapshots: { type: "array", items: { type: "string", maxLength: 200 } },
    algorithm: { type: "string", enum: ATTRIBUTION_ALGORITHMS },
  },
} as const;

interface Body {
  text: string;
  snapshots?: string[];
  algorithm?: AttributionAlgorithm;
}

const invalid = (reply: FastifyReply, status: number, message: string, code: string) =>
  reply.code(status).send(apiError(message, "invalid_request_error", code));

/**
 * `POST /v1/attribution {text, snapshots?: [name...], algorithm?}` -> span-v2 (default) or span-v1
 * result over the named snapshots, or over every served snapshot when none are named, queried
 * together; `GET /v1/attribution/snapshots` lists what is served. Errors use the OpenAI-style
 * error JSON.
 */
export const attributionRoutes: FastifyPluginAsync<AttributionRoutesOptions> = async (
  app: FastifyInstance,
  opts,
) => {
  const listServed: () => readonly ServedSnapshot[] =
    typeof opts.snapshots === "function"
      ? opts.snapshots
      : (() => {
          // Own entries only: names like "__proto__" or "toString" are looked up in a Map, never on an object.
          const fixed = Object.entries(opts.snapshots).map(([name, path]) => ({ name, path }));
          return () => fixed;
        })();
  const served = () => new Map(listServed().map((s) => [s.name, s.path]));

  // Index files are opened (paged positioned reads, not read into memory) once per file version.
  const open = new Map<string, { index: SpanIndex; mtimeMs: number }>();
  const indexAt = (path: string): SpanIndex => {
    const mtimeMs = statSync(path).mtimeMs;
    const cached = open.get(path);
    if (cached && cached.mtimeMs === mtimeMs) return cached.index;
    cached?.index.close();
    const index = SpanIndex.open(path);
    open.set(path, { index, mtimeMs });
    return index;
  };
  app.addHook("onClose", async () => {
    for (const { index } of open.values()) index.close();
    open.clear();
  });

  app.get("/v1/attribution/snapshots", async () => ({
    object: "list",
    data: [...served()].map(([name, path]) => {
      const index = indexAt(path);
      return { name, root: index.root, chunks: index.chunkCount, words: index.wordCount };
    }),
  }));

  app.post<{ Body: Body }>(
    "/v1/attribution",
    {
      schema: { body: bodySchema },
      // Fastify's default validator coerces scalars; a model output must really be a string.
      preValidation: async (req, reply) => {
        const body = req.body as { text?: unknown } | null;
        if (body && typeof body === "object" && "text" in body && typeof body.text !== "string") {
          return invalid(reply, 400, "text must be a string", "invalid_body");
        }
      },
      errorHandler: (err, _req, reply) => {
        const status = (err as { statusCode?: number }).statusCode;
        if ((err as { validation?: unknown }).validation || (status && status >= 400 && status < 500)) {
          return invalid(reply, status && status !== 500 ? status : 400, err.message, "invalid_body");
        }
        return reply.code(500).send(apiError("internal error while attributing", "server_error", "internal"));
      },
    },
    async (req, reply) => {
      const { text, snapshots, algorithm = "span-v2" } = req.body;
      const available = served();
      if (snapshots !== undefined && snapshots.length === 0) {
        return invalid(
          reply,
          400,
          "snapshots is empty: name at least one, or omit it for all",
          "invalid_body",
        );
      }
      const names = snapshots === undefined ? [...available.keys()] : [...new Set(snapshots)];
      if (names.length > available.size) {
        return invalid(
          reply,
          400,
          `${names.length} snapshots named; ${available.size} are served (GET /v1/attribution/snapshots)`,
          "too_many_snapshots",
        );
      }
      if (names.length === 0) {
        return reply
          .code(503)
          .send(apiError("no snapshot is indexed yet; try again shortly", "server_error", "no_snapshots"));
      }
      const indexes: SpanIndex[] = [];
      for (const name of names) {
        const path = available.get(name);
        if (path === undefined) {
          return invalid(
            reply,
            404,
            `unknown snapshot "${name}" (GET /v1/attribution/snapshots lists them)`,
            "unknown_snapshot",
          );
        }
        indexes.push(indexAt(path));
      }
      try {
        const attribute = algorithm === "span-v1" ? attributeSpanV1 : attributeSpanV2;
        return resultToJson(attribute(text, indexes));
      } catch (err) {
        if (err instanceof OutputTooLargeError) return invalid(reply, 413, err.message, "output_too_large");
        if (err instanceof AttributionError) return invalid(reply, 400, err.message, "invalid_text");
        throw err;
      }
    },
  );
};
