// Upload derivation (decode, chunk, hash, MinHash) runs on a worker thread, so the API's event loop,
// and in `openledger up` the chain's RPC and block production, are not stalled by a large upload.
import assert from "node:assert/strict";
import { test } from "node:test";
import { threadId } from "node:worker_threads";
import { deriveOffThread } from "../src/derive-off-thread.ts";
import { InvalidInputError } from "../src/errors.ts";
import { deriveContent } from "../src/ingest.ts";
import { MinHasher } from "../src/minhash.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("derives on another thread, with the same result as inline", async () => {
  const hasher = new MinHasher();
  const text = Array.from(
    { length: 400 },
    (_, i) => `Paragraph ${i}: the ferry crosses the strait twice an hour, carrying cars and cyclists.\n\n`,
  ).join("");
  const bytes = enc(text);
  const off = await deriveOffThread(bytes, "text", {}, 512, hasher);
  assert.notEqual(off.threadId, threadId, "derived on a worker thread");
  const inline = deriveContent(bytes, "text", {}, 512, hasher);
  assert.equal(off.contentHash, inline.contentHash);
  assert.deepEqual(
    off.chunks.map((c) => [c.index, c.byteStart, c.byteEnd, c.contentHash, [...(c.minhash ?? [])]]),
    inline.chunks.map((c) => [c.index, c.byteStart, c.byteEnd, c.contentHash, [...(c.minhash ?? [])]]),
  );
});

test("input errors come back as the same named errors", async () => {
  const bad = new Uint8Array([...enc("valid start "), 0xff, 0xfe]);
  await assert.rejects(
    deriveOffThread(bad, "text", {}, 512, new MinHasher()),
    (e: unknown) =>
      e instanceof InvalidInputError && e.code === "invalid_utf8" && /offset 12/.test(e.message),
  );
});
