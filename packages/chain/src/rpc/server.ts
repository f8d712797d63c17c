import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { bytesToHex } from "@ethereumjs/util";
import { type WebSocket, WebSocketServer } from "ws";
import { RpcCode, RpcError } from "../errors.ts";
import { formatHeader, formatTransaction } from "../format.ts";
import type { ChainNode, MinedBlockEvent } from "../node.ts";
import { type LogCriteria, matchesLog } from "./filters.ts";
import { type Connection, RpcMethods } from "./methods.ts";
import type { Params } from "./params.ts";

export interface RpcServerOptions {
  port?: number;
  host?: string;
  /** Largest request body or WebSocket message, in bytes (geth: 5 MiB). */
  maxBodyBytes?: number;
  /** Most calls in one batch (geth: 1000). */
  maxBatch?: number;
}

export interface RpcServer {
  url: string;
  wsUrl: string;
  port: number;
  methods: RpcMethods;
  close(): Promise<void>;
}

interface JsonRpcResponse {
  jsonrpc: "2.0";
  id: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

const DEFAULTS = { maxBodyBytes: 5 * 1024 * 1024, maxBatch: 1000 };

function errorResponse(id: unknown, err: unknown): JsonRpcResponse {
  if (err instanceof RpcError) {
    const error: JsonRpcResponse["error"] = { code: err.code, message: err.message };
    if (err.data !== undefined) error.data = err.data;
    return { jsonrpc: "2.0", id, error };
  }
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  return { jsonrpc: "2.0", id, error: { code: RpcCode.Internal, message: `internal error: ${message}` } };
}

function validId(id: unknown): boolean {
  return id === undefined || id === null || typeof id === "string" || typeof id === "number";
}

/**
 * Answers with a JSON body of known length. Without Content-Length Node sends it chunked: more
 * bytes and a second write per response (the framing), which the client must also parse.
 */
function sendJson(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

/** Serves the node's JSON-RPC over HTTP (POST) and WebSocket on one port. */
export async function startRpcServer(node: ChainNode, opts: RpcServerOptions = {}): Promise<RpcServer> {
  const limits = { ...DEFAULTS, ...opts };
  const methods = new RpcMethods(node);

  async function handleOne(msg: unknown, conn: Connection): Promise<JsonRpcResponse | undefined> {
    if (typeof msg !== "object" || msg === null || Array.isArray(msg)) {
      return errorResponse(null, new RpcError(RpcCode.InvalidRequest, "invalid request"));
    }
    const { jsonrpc, method, params, id } = msg as Record<string, unknown>;
    if (!validId(id)) return errorResponse(null, new RpcError(RpcCode.InvalidRequest, "invalid request"));
    if (jsonrpc !== "2.0" || typeof method !== "string") {
      return errorResponse(id ?? null, new RpcError(RpcCode.InvalidRequest, "invalid request"));
    }
    if (params !== undefined && params !== null && !Array.isArray(params)) {
      return errorResponse(id ?? null, new RpcError(RpcCode.InvalidParams, "non-array args"));
    }
    try {
      const result = await methods.call(method, (params as unknown[]) ?? [], conn);
      if (id === undefined) return undefined;
      return { jsonrpc: "2.0", id, result: result === undefined ? null : result };
    } catch (err) {
      if (!(err instanceof RpcError)) node.emit("rpcError", { method, err });
      return id === undefined ? undefined : errorResponse(id, err);
    }
  }

  /** Parses and answers one HTTP body or WebSocket message; returns the JSON text to send, if any. */
  async function handleText(text: string, conn: Connection): Promise<string | undefined> {
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch {
      return JSON.stringify(errorResponse(null, new RpcError(RpcCode.Parse, "parse error")));
    }
    if (Array.isArray(msg)) {
      if (msg.length === 0)
        return JSON.stringify(errorResponse(null, new RpcError(RpcCode.InvalidRequest, "empty batch")));
      if (msg.length > limits.maxBatch) {
        return JSON.stringify(
          errorResponse(
            null,
            new RpcError(
              RpcCode.InvalidRequest,
              `batch too large: ${msg.length} calls, limit ${limits.maxBatch}`,
            ),
          ),
        );
      }
      const out = (await Promise.all(msg.map((m) => handleOne(m, conn)))).filter((r) => r !== undefined);
      return out.length === 0 ? undefined : JSON.stringify(out);
    }
    const out = await handleOne(msg, conn);
    return out ? JSON.stringify(out) : undefined;
  }

  function onHttp(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Access-Control-Allow-Headers", "Content-Type");
    if (req.method === "OPTIONS") {
      res.writeHead(204).end();
      return;
    }
    if (req.method !== "POST") {
      res
        .writeHead(405, { "Content-Type": "text/plain" })
        .end("method not allowed: use POST with a JSON-RPC body\n");
      return;
    }
    const declared = Number(req.headers["content-length"] ?? 0);
    const tooLarge = (size: number) => {
      res.writeHead(413, { "Content-Type": "application/json", Connection: "close" });
      res.end(
        JSON.stringify(
          errorResponse(
            null,
            new RpcError(RpcCode.InvalidRequest, `content length too large (${size}>${limits.maxBodyBytes})`),
          ),
        ),
      );
      req.resume();
    };
    if (declared > limits.maxBodyBytes) {
      tooLarge(declared);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let aborted = false;
    req.on("data", (chunk: Buffer) => {
      if (aborted) return;
      size += chunk.length;
      if (size > limits.maxBodyBytes) {
        aborted = true;
        tooLarge(size);
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (aborted) return;
      handleText(Buffer.concat(chunks).toString("utf8"), {}).then(
        (body) => sendJson(res, 200, body ?? ""),
        (err) => sendJson(res, 500, JSON.stringify(errorResponse(null, err))),
      );
    });
  }

  const server: Server = createServer(onHttp);
  server.keepAliveTimeout = 65_000;
  const wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxBodyBytes });
  server.on("upgrade", (req, socket, head) => {
    wss.handleUpgrade(req, socket, head, (ws) => onSocket(ws));
  });

  function onSocket(ws: WebSocket): void {
    type Sub =
      | { kind: "newHeads" }
      | { kind: "logs"; criteria: LogCriteria }
      | { kind: "newPendingTransactions"; full: boolean };
    const subs = new Map<string, Sub>();
    // A subscription notifies only after the client has its id (the eth_subscribe answer went out).
    const announced = new Set<string>();
    const send = (id: string, result: unknown) => {
      if (announced.has(id) && ws.readyState === ws.OPEN) {
        ws.send(
          JSON.stringify({
            jsonrpc: "2.0",
            method: "eth_subscription",
            params: { subscription: id, result },
          }),
        );
      }
    };
    const onBlock = (ev: MinedBlockEvent) => {
      for (const [id, sub] of subs) {
        if (sub.kind === "newHeads") send(id, formatHeader(ev.block));
        else if (sub.kind === "logs")
          for (const log of ev.logs) if (matchesLog(log, sub.criteria)) send(id, log);
      }
    };
    const onPending = (hash: string) => {
      for (const [id, sub] of subs) {
        if (sub.kind !== "newPendingTransactions") continue;
        if (!sub.full) send(id, hash);
        else {
          const entry = node.pool.get(hash);
          if (entry) send(id, formatTransaction(entry.tx, entry.sender));
        }
      }
    };
    node.on("block", onBlock);
    node.on("pendingTransaction", onPending);
    const conn: Connection = {
      subscribe(kind: string, p: Params): string {
        const id = bytesToHex(randomBytes(16));
        if (kind === "newHeads") subs.set(id, { kind });
        else if (kind === "logs") {
          const filter = p.has(1) ? p.object(1) : {};
          subs.set(id, { kind, criteria: methods.logCriteria(filter, 1) });
        } else if (kind === "newPendingTransactions") subs.set(id, { kind, full: p.bool(1) });
        else throw new RpcError(RpcCode.InvalidParams, `no "${kind}" subscription in eth namespace`);
        return id;
      },
      unsubscribe(id: string): boolean {
        announced.delete(id);
        return subs.delete(id);
      },
    };
    ws.on("message", (data, isBinary) => {
      const text = isBinary ? Buffer.from(data as Buffer).toString("utf8") : data.toString();
      handleText(text, conn).then((out) => {
        if (out !== undefined && ws.readyState === ws.OPEN) ws.send(out);
        for (const id of subs.keys()) announced.add(id);
      });
    });
    ws.on("close", () => {
      node.off("block", onBlock);
      node.off("pendingTransaction", onPending);
      subs.clear();
      announced.clear();
    });
    ws.on("error", () => ws.terminate());
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 8545, opts.host ?? "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = opts.host ?? "127.0.0.1";
  return {
    url: `http://${host}:${port}`,
    wsUrl: `ws://${host}:${port}`,
    port,
    methods,
    async close() {
      methods.close();
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
