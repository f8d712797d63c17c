// Worker thread for derive-off-thread.ts: decodes, chunks, hashes and MinHashes one upload at a time,
// so the thread that serves the API (and, in `openledger up`, the chain's RPC and block production)
// keeps running. Plain JavaScript that registers tsx itself: the CLI registers tsx only in its own thread.
import { parentPort, threadId } from "node:worker_threads";
import { register } from "tsx/esm/api";

register();
const { deriveContent } = await import("./ingest.ts");
const { MinHasher } = await import("./minhash.ts");
const { DatanetError } = await import("./errors.ts");

const hashers = new Map();
parentPort.on("message", ({ id, bytes, format, extract, maxChunkBytes, params }) => {
  try {
    const key = JSON.stringify(params);
    let hasher = hashers.get(key);
    if (!hasher) hashers.set(key, (hasher = new MinHasher(params)));
    const derived = deriveContent(bytes, format, extract, maxChunkBytes, hasher);
    parentPort.postMessage({ id, derived, threadId });
  } catch (err) {
    const error =
      err instanceof DatanetError
        ? { type: err.type, code: err.code, message: err.message, details: err.details }
        : { message: err instanceof Error ? err.message : String(err) };
    parentPort.postMessage({ id, error });
  }
});
parentPort.postMessage({ ready: true });
