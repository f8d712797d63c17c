import multipart from "@fastify/multipart";
import { internalErrorBody, openAIError } from "@openledger/common";
import type {
  FastifyError,
  FastifyInstance,
  FastifyPluginAsync,
  FastifyReply,
  FastifyRequest,
} from "fastify";
import type { Hex } from "viem";
import { DatanetError, InvalidInputError, PayloadTooLargeError } from "./errors.ts";
import { formatFromFileName, parseFormat } from "./formats.ts";
import { toCount, toCursor, toId, toIndex } from "./ids.ts";
import { routeDocs } from "./route-docs.ts";
import type { DatanetService } from "./service.ts";
import { firstInvalidUtf8Offset } from "./text.ts";
import { toWireJson } from "./wire.ts";

export interface DatanetHttpOptions {
  service: DatanetService;
  /**
   * Dev mode: the service's own keys (the local dev accounts) sign for callers, and only for callers
   * on the loopback interface. Off (the default), actions that need a transaction answer 202 with
   * the unsigned transactions for the caller's wallet: the server never acts for an address that did
   * not sign.
   */
  devSigning?: boolean;
}

/** Whether a socket address is the loopback interface (127.0.0.0/8, ::1, IPv4-mapped). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

const NEXT_UNSIGNED =
  "sign and send these transactions, in order, from the `from` account (e.g. eth_sendTransaction in your wallet); the Datanet index shows the result once they are mined";

const STATUSES = new Set(["pending", "accepted", "rejected"]);
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** A page of a list fetched with one row more than `limit` (which says whether another page follows). */
function page<T extends { id: bigint }>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  return { data, has_more: hasMore, next_after: hasMore ? data[data.length - 1].id : null };
}

function body(request: { body: unknown }): Record<string, unknown> {
  const b = request.body;
  if (typeof b !== "object" || b === null || Array.isArray(b)) {
    throw new InvalidInputError("invalid_body", "request body must be a JSON object");
  }
  return b as Record<string, unknown>;
}

function str(b: Record<string, unknown>, key: string, required = true): string | undefined {
  const v = b[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== "string" || v === "")
    throw new InvalidInputError("invalid_field", `"${key}" must be a non-empty string`);
  return v;
}

function bigintField(b: Record<string, unknown>, key: string): bigint | undefined {
  const v = b[key];
  if (v === undefined) return undefined;
  if ((typeof v !== "string" && typeof v !== "number") || !/^\d+$/.test(String(v))) {
    throw new InvalidInputError(
      "invalid_field",
      `"${key}" must be a non-negative integer (as a decimal string)`,
    );
  }
  return BigInt(v);
}

function sendError(reply: FastifyReply, err: unknown): FastifyReply {
  if (err instanceof DatanetError) return reply.status(err.httpStatus).send(err.toJSON());
  const fe = err as FastifyError;
  if (fe?.statusCode === 413 || fe?.code === "FST_REQ_FILE_TOO_LARGE") {
    return reply
      .status(413)
      .send(openAIError("upload exceeds the size limit", "payload_too_large_error", "payload_too_large"));
  }
  if (fe?.statusCode && fe.statusCode >= 400 && fe.statusCode < 500) {
    return reply
      .status(fe.statusCode)
      .send(openAIError(fe.message, "invalid_request_error", (fe.code ?? "bad_request").toLowerCase()));
  }
  reply.log.error(err);
  return reply.status(500).send(internalErrorBody());
}

/**
 * Datanet HTTP routes as a fastify plugin: `app.register(datanetRoutes, { service, prefix: "/v1" })`.
 * Errors answer `{ error: { message, type, code } }` with the matching HTTP status.
 */
export const datanetRoutes: FastifyPluginAsync<DatanetHttpOptions> = async (app: FastifyInstance, opts) => {
  const { service } = opts;
  // The server acts with its own keys only in dev mode, and only for a caller on this machine.
  const signsFor = (request: FastifyRequest) =>
    opts.devSigning === true && isLoopback(request.socket.remoteAddress);
  const unsignedReply = (reply: FastifyReply, transactions: unknown[]) =>
    reply.status(202).send({ status: "unsigned", transactions, next: NEXT_UNSIGNED });
  // Reads catch up with the chain first, so transactions the caller sent show up.
  const fresh = async () => {
    if (service.hasChain) await service.sync();
  };
  const maxUpload = service.limiter.limits.maxUploadBytes;
  // A host app may already have multipart registered; the blob store enforces the size limit either way.
  if (!app.hasRequestDecorator("isMultipart")) {
    await app.register(multipart, {
      limits: { fileSize: maxUpload + 1, files: 1, fields: 20, fieldSize: 64 * 1024 },
    });
  }
  app.setErrorHandler((err, _request, reply) => sendError(reply, err));
  // Ids leave as JSON numbers, amounts as decimal strings (wire.ts).
  app.setReplySerializer((payload) => toWireJson(payload));
  // The route schemas (route-docs.ts) describe the API for its OpenAPI document; the handlers check the
  // input themselves, with error codes of their own, so the schemas validate nothing here.
  app.setValidatorCompiler(() => () => true);
  // JSON bodies must be valid UTF-8: the default parser would turn bad bytes into U+FFFD and store them.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "buffer" }, (_request, raw, done) => {
    const bytes = raw as Buffer;
    let text: string;
    try {
      text = strictUtf8.decode(bytes);
    } catch {
      done(
        new InvalidInputError(
          "invalid_utf8",
          `request body is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8Offset(bytes)}); send JSON encoded as UTF-8`,
        ),
      );
      return;
    }
    try {
      done(null, text === "" ? undefined : JSON.parse(text));
    } catch (err) {
      done(
        new InvalidInputError("invalid_json", `request body is not valid JSON: ${(err as Error).message}`),
      );
    }
  });

  app.get<{ Querystring: { limit?: string; after?: string } }>(
    "/datanets",
    { schema: routeDocs.listDatanets },
    async (request) => {
      const q = request.query;
      const limit = Math.min(q.limit === undefined ? 100 : toCount(q.limit, "limit"), 1000);
      const afterId = q.after === undefined ? 0n : toCursor(q.after, "after");
      await fresh();
      return page(service.listDatanets({ limit: limit + 1, afterId }), limit);
    },
  );

  app.post("/datanets", { schema: routeDocs.createDatanet }, async (request, reply) => {
    const b = body(request);
    const curators = b.curators ?? [];
    if (!Array.isArray(curators) || curators.some((c) => typeof c !== "string")) {
      throw new InvalidInputError("invalid_field", '"curators" must be an array of addresses');
    }
    const ownerBps = b.ownerBps === undefined ? undefined : Number(b.ownerBps);
    const input = {
      owner: str(b, "owner") as Hex,
      name: str(b, "name")!,
      description: str(b, "description", false),
      licensePrice: bigintField(b, "licensePrice"),
      ownerBps,
      bond: bigintField(b, "bond"),
      curators: curators as Hex[],
    };
    if (!signsFor(request)) return unsignedReply(reply, await service.createDatanetTransactions(input));
    return reply.status(201).send(await service.createDatanet(input));
  });

  app.get<{ Params: { id: string } }>("/datanets/:id", { schema: routeDocs.getDatanet }, async (request) => {
    const id = toId(request.params.id, "datanet id");
    await fresh();
    return service.getDatanet(id);
  });

  app.get<{ Params: { id: string }; Querystring: { status?: string; limit?: string; after?: string } }>(
    "/datanets/:id/contributions",
    { schema: routeDocs.listContributions },
    async (request) => {
      const q = request.query;
      if (q.status !== undefined && !STATUSES.has(q.status)) {
        throw new InvalidInputError(
          "invalid_status",
          `status must be pending, accepted or rejected, not "${q.status}"`,
        );
      }
      const limit = Math.min(q.limit === undefined ? 100 : toCount(q.limit, "limit"), 1000);
      await fresh();
      const rows = service.listContributions(toId(request.params.id, "datanet id"), {
        status: q.status as "pending" | "accepted" | "rejected" | undefined,
        limit: limit + 1,
        afterId: q.after === undefined ? 0n : toCursor(q.after, "after"),
      });
      return page(rows, limit);
    },
  );

  // Multipart upload: text fields first (contributor, signature, license, [contentHash, source, format,
  // field, column, submit]), then one file part. With contentHash the signature is checked before the
  // file is read. The file streams into the blob store; past the limit -> 413.
  app.post<{ Params: { id: string } }>(
    "/datanets/:id/contributions",
    { schema: routeDocs.uploadContribution },
    async (request, reply) => {
      const datanetId = toId(request.params.id, "datanet id");
      const declared = Number(request.headers["content-length"] ?? 0);
      if (declared > maxUpload + 64 * 1024) throw new PayloadTooLargeError(maxUpload);
      if (!request.isMultipart()) {
        throw new InvalidInputError(
          "not_multipart",
          "upload the contribution as multipart/form-data with a file part",
        );
      }
      const part = await request.file();
      if (!part) throw new InvalidInputError("missing_file", "the form has no file part");
      const fields: Record<string, string> = {};
      for (const [name, f] of Object.entries(part.fields)) {
        const field = Array.isArray(f) ? f[0] : f;
        if (field && field.type === "field") fields[name] = String(field.value);
      }
      const need = (name: string) => {
        const v = fields[name];
        if (!v) {
          throw new InvalidInputError(
            "missing_field",
            `form field "${name}" is required (send fields before the file)`,
          );
        }
        return v;
      };
      let staged: Awaited<ReturnType<DatanetService["stage"]>>;
      try {
        const column = fields.column;
        staged = await service.stage({
          datanetId,
          contributor: need("contributor"),
          signature: need("signature") as Hex,
          contentHash: fields.contentHash as Hex | undefined,
          license: need("license"),
          source: fields.source,
          format: fields.format ? parseFormat(fields.format) : formatFromFileName(part.filename ?? ""),
          extract: {
            field: fields.field,
            column: column === undefined ? undefined : /^\d+$/.test(column) ? Number(column) : column,
          },
          content: part.file,
        });
      } catch (err) {
        // The rest of the upload is not read: answer, then close the connection instead of draining it.
        part.file.destroy();
        reply.header("connection", "close");
        throw err;
      }
      const submit =
        fields.submit !== "false" && signsFor(request) && service.registry.canSendFrom(staged.contributor);
      if (!submit) {
        return reply.status(202).send({
          status: "staged",
          ...staged,
          transactions: await service.submitTransactions(staged.contributor, [staged]),
          next: "submit the content hash on-chain from the contributor's account: send `transactions` (submitContributions) before the upload expires",
        });
      }
      const [row] = await service.submitStaged(staged.contributor, [staged]);
      return reply.status(201).send(row);
    },
  );

  // Staged uploads: listed with their owner and expiry; submitted (from a key this server holds) or
  // cancelled by their owner's CancelStaged signature.
  app.get<{ Params: { id: string }; Querystring: { contributor?: string } }>(
    "/datanets/:id/staged",
    { schema: routeDocs.listStaged },
    async (request) => ({
      data: await service.listStaged({
        datanetId: toId(request.params.id, "datanet id"),
        contributor: request.query.contributor,
      }),
    }),
  );

  app.post<{ Params: { id: string } }>(
    "/datanets/:id/staged/submit",
    { schema: routeDocs.submitStaged },
    async (request, reply) => {
      const datanetId = toId(request.params.id, "datanet id");
      const b = body(request);
      const hashes = b.contentHashes;
      if (!Array.isArray(hashes) || hashes.length === 0 || hashes.some((h) => typeof h !== "string")) {
        throw new InvalidInputError(
          "invalid_field",
          '"contentHashes" must be a non-empty array of content hashes',
        );
      }
      const staged = hashes.map((contentHash) => ({ datanetId, contentHash: contentHash as Hex }));
      if (!signsFor(request))
        return unsignedReply(reply, await service.submitTransactions(str(b, "contributor")!, staged));
      return { data: await service.submitStaged(str(b, "contributor")!, staged) };
    },
  );

  app.post<{ Params: { id: string; hash: string } }>(
    "/datanets/:id/staged/:hash/cancel",
    { schema: routeDocs.cancelStaged },
    async (request) => {
      const b = body(request);
      const cancelled = await service.cancelStaged(
        toId(request.params.id, "datanet id"),
        request.params.hash,
        {
          signature: str(b, "signature") as Hex,
        },
      );
      return { cancelled: true, ...cancelled };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { chunks?: string } }>(
    "/contributions/:id",
    { schema: routeDocs.getContribution },
    async (request) => {
      const id = toId(request.params.id, "contribution id");
      await fresh();
      return service.getContribution(id, { chunks: request.query.chunks === "true" });
    },
  );

  app.post<{ Params: { id: string } }>(
    "/datanets/:id/curate",
    { schema: routeDocs.curate },
    async (request, reply) => {
      const datanetId = toId(request.params.id, "datanet id");
      const b = body(request);
      const decisions = b.decisions;
      if (!Array.isArray(decisions) || decisions.length === 0) {
        throw new InvalidInputError(
          "invalid_field",
          '"decisions" must be a non-empty array of {contributionId, accept}',
        );
      }
      const parsed = decisions.map((d) => {
        const x = d as { contributionId?: unknown; accept?: unknown };
        if (typeof x?.accept !== "boolean")
          throw new InvalidInputError("invalid_field", '"accept" must be true or false');
        return { contributionId: toId(x.contributionId, "contributionId"), accept: x.accept };
      });
      if (!signsFor(request))
        return unsignedReply(
          reply,
          await service.curateTransactions(str(b, "curator")!, parsed, { datanetId }),
        );
      return { data: await service.curate(str(b, "curator")!, parsed, { datanetId }) };
    },
  );

  app.get<{ Params: { id: string } }>(
    "/datanets/:id/snapshots",
    { schema: routeDocs.listSnapshots },
    async (request) => {
      const id = toId(request.params.id, "datanet id");
      await fresh();
      return { data: service.getDatanet(id).snapshots };
    },
  );

  app.post<{ Params: { id: string } }>(
    "/datanets/:id/snapshots",
    { schema: routeDocs.createSnapshot },
    async (request, reply) => {
      const b = body(request);
      const datanetId = toId(request.params.id, "datanet id");
      if (!signsFor(request))
        return unsignedReply(reply, await service.snapshotTransactions(str(b, "owner")!, datanetId));
      const row = await service.snapshot(str(b, "owner")!, datanetId);
      return reply.status(201).send(row);
    },
  );

  app.get<{ Params: { id: string } }>(
    "/snapshots/:id",
    { schema: routeDocs.getSnapshot },
    async (request) => {
      const id = toId(request.params.id, "snapshot id");
      return { ...service.getSnapshot(id), manifest: await service.snapshots.manifest(id) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { leaf?: string; contribution?: string; chunk?: string } }>(
    "/snapshots/:id/proof",
    { schema: routeDocs.proof },
    async (request) => {
      const id = toId(request.params.id, "snapshot id");
      const q = request.query;
      const at =
        q.leaf !== undefined
          ? { leafIndex: toIndex(q.leaf, "leaf") }
          : q.contribution !== undefined && q.chunk !== undefined
            ? { contributionId: toId(q.contribution, "contribution"), chunkIndex: toIndex(q.chunk, "chunk") }
            : undefined;
      if (!at) throw new InvalidInputError("invalid_query", "give ?leaf=N or ?contribution=ID&chunk=N");
      const proof = await service.snapshots.proof(id, at);
      // A proof has always carried its contribution id as a decimal string.
      return { ...proof, contributionId: proof.contributionId.toString() };
    },
  );

  app.get<{ Params: { id: string; address: string } }>(
    "/snapshots/:id/royalty/:address",
    { schema: routeDocs.royaltyProof },
    async (request) =>
      service.snapshots.royaltyProof(toId(request.params.id, "snapshot id"), request.params.address),
  );

  app.post<{ Params: { id: string } }>(
    "/snapshots/:id/license",
    { schema: routeDocs.buyLicense },
    async (request, reply) => {
      const b = body(request);
      const snapshotId = toId(request.params.id, "snapshot id");
      if (!signsFor(request)) {
        return unsignedReply(
          reply,
          await service.licenseTransactions(str(b, "buyer")!, snapshotId, str(b, "licensee", false)),
        );
      }
      const { price } = await service.buyLicense(str(b, "buyer")!, snapshotId, str(b, "licensee", false));
      return reply.status(201).send({ licensed: true, price: price.toString() });
    },
  );

  app.get<{ Params: { id: string; address: string } }>(
    "/snapshots/:id/license/:address",
    { schema: routeDocs.hasLicense },
    async (request) => {
      const snapshotId = toId(request.params.id, "snapshot id");
      // An unknown snapshot is a 404, not "no license".
      if (!service.db.getSnapshot(snapshotId)) await service.sync();
      service.getSnapshot(snapshotId);
      return {
        snapshotId,
        account: request.params.address,
        hasLicense: await service.hasLicense(snapshotId, request.params.address),
      };
    },
  );
};
