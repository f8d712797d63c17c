import { Worker } from "node:worker_threads";
import { DatanetError, InvalidInputError } from "./errors.ts";
import type { ContentFormat, ExtractOptions } from "./formats.ts";
import { type DerivedContent, deriveContent } from "./ingest.ts";
import type { MinHasher } from "./minhash.ts";

// Deriving an upload (strict decode, chunking, keccak per chunk, MinHash) is the heaviest CPU step of
// ingestion: a 15 MB upload takes seconds. It runs on a worker thread, one upload at a time, so the
// event loop that serves the API, the chain's RPC and block production is not stalled. When no worker
// can start, it runs inline, as before.

type Reply = {
  id: number;
  derived?: DerivedContent;
  threadId?: number;
  error?: { type?: DatanetError["type"]; code?: string; message: string; details?: Record<string, unknown> };
};

let worker: Promise<Worker | undefined> | undefined;
const pending = new Map<number, (reply: Reply) => void>();
let nextId = 0;

function startWorker(): Promise<Worker | undefined> {
  worker ??= new Promise((resolve) => {
    let w: Worker;
    try {
      w = new Worker(new URL("./derive-worker.mjs", import.meta.url));
    } catch {
      resolve(undefined);
      return;
    }
    w.unref();
    w.once("error", () => {
      resolve(undefined);
      for (const [id, done] of pending) done({ id, error: { message: "the derivation worker failed" } });
      pending.clear();
      worker = undefined;
    });
    w.on("message", (m: Reply & { ready?: boolean }) => {
      if (m.ready) return resolve(w);
      pending.get(m.id)?.(m);
      pending.delete(m.id);
    });
  });
  return worker;
}

function rebuildError(e: NonNullable<Reply["error"]>): Error {
  if (e.type === "invalid_request_error" && e.code)
    return new InvalidInputError(e.code, e.message, e.details);
  if (e.type && e.code) return new DatanetError(e.type, e.code, e.message, e.details);
  return new Error(e.message);
}

/** deriveContent on a worker thread (inline when none can start); resolves to the same result. */
export async function deriveOffThread(
  bytes: Uint8Array,
  format: ContentFormat,
  extract: ExtractOptions,
  maxChunkBytes: number,
  hasher: MinHasher,
): Promise<DerivedContent & { threadId: number }> {
  const w = await startWorker();
  if (!w) return { ...deriveContent(bytes, format, extract, maxChunkBytes, hasher), threadId: 0 };
  const id = nextId++;
  const reply = await new Promise<Reply>((resolve) => {
    pending.set(id, resolve);
    w.ref(); // keep the process alive while an upload is being derived
    w.postMessage({ id, bytes, format, extract, maxChunkBytes, params: hasher.params });
  });
  if (pending.size === 0) w.unref();
  if (reply.error) throw rebuildError(reply.error);
  return { ...reply.derived!, threadId: reply.threadId! };
}
