import { statSync } from "node:fs";
import { openAIError as apiError } from "@openledger/common";
import type { FastifyInstance, FastifyPluginAsync } from "fastify";
import { attributeSpanV1 } from "./attribute.ts";
import { AttributionError, OutputTooLargeError } from "./errors.ts";
import { resultToJson } from "./json.ts";
import { SpanIndex } from "./spanIndex.ts";

export interface AttributionRoutesOptions {
  /** Index files the route may use, by snapshot name (what clients pass in `snapshots`). */
  snapshots: Record<string, string>;
}

const bodySchema = {
  type: "object",
  required: ["text", "snapshots"],
  additionalProperties: false,
  properties: {
    text: { type: "string", maxLength: 32_768 },
    snapshots: { type: "array", minItems: 1, maxItems: 16, items: { type: "string", maxLength: 200 } },
  },
} as const;

/**
 * `POST /v1/attribution {text, snapshots: [name...]}` -> span-v1 result (bigints as decimal strings).
 * Indexes are opened once and reused; errors use the OpenAI-style error JSON.
 */
export const attributionRoutes: FastifyPluginAsync<AttributionRoutesOptions> = async (
  app: FastifyInstance,
  opts,
) => {
  const open = new Map<string, { index: SpanIndex; mtimeMs: number }>();
  const indexFor = (name: string): SpanIndex | undefined => {
    const path = opts.snapshots[name];
    if (!path) return undefined;
    const mtimeMs = statSync(path).mtimeMs;
    const cached = open.get(name);
    if (cached && cached.mtimeMs === mtimeMs) return cached.index;
    const index = SpanIndex.readFile(path);
    open.set(name, { index, mtimeMs });
    return index;
  };

  app.post<{ Body: { text: string; snapshots: string[] } }>(
    "/v1/attribution",
    {
      schema: { body: bodySchema },
      // Fastify's default validator coerces scalars; a model output must really be a string.
      preValidation: async (req, reply) => {
        const body = req.body as { text?: unknown } | null;
        if (body && typeof body === "object" && "text" in body && typeof body.text !== "string") {
          return reply
            .code(400)
            .send(apiError("text must be a string", "invalid_request_error", "invalid_body"));
        }
      },
      errorHandler: (err, _req, reply) => {
        const status = (err as { statusCode?: number }).statusCode;
        if ((err as { validation?: unknown }).validation || (status && status >= 400 && status < 500)) {
          return reply
            .code(status && status !== 500 ? status : 400)
            .send(apiError(err.message, "invalid_request_error", "invalid_body"));
        }
        return reply.code(500).send(apiError("internal error while attributing", "server_error", "internal"));
      },
    },
    async (req, reply) => {
      const { text, snapshots } = req.body;
      const indexes: SpanIndex[] = [];
      for (const name of snapshots) {
        const index = indexFor(name);
        if (!index) {
          return reply
            .code(404)
            .send(apiError(`unknown snapshot "${name}"`, "invalid_request_error", "unknown_snapshot"));
        }
        indexes.push(index);
      }
      try {
        return resultToJson(attributeSpanV1(text, indexes));
      } catch (err) {
        if (err instanceof OutputTooLargeError) {
          return reply.code(413).send(apiError(err.message, "invalid_request_error", "output_too_large"));
        }
        if (err instanceof AttributionError) {
          return reply.code(400).send(apiError(err.message, "invalid_request_error", "invalid_text"));
        }
        throw err;
      }
    },
  );
};
