import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { cidForBytes, FileBlobStore } from "../src/blobstore.ts";
import { BlobIntegrityError, NotFoundError, PayloadTooLargeError } from "../src/errors.ts";

function tempStore(): FileBlobStore {
  return new FileBlobStore(join(mkdtempSync(join(tmpdir(), "datanet-blobs-")), "blobs"));
}

async function* pieces(total: number, size: number): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total; sent += size)
    yield new Uint8Array(Math.min(size, total - sent)).fill(sent % 251);
}

describe("FileBlobStore", () => {
  test("round-trips bytes under a CIDv1 raw sha2-256 CID", async () => {
    const store = tempStore();
    const bytes = new TextEncoder().encode("hello datanet");
    const { cid, size } = await store.put(bytes);
    assert.equal(size, bytes.length);
    assert.equal(cid, cidForBytes(bytes));
    assert.match(cid, /^bafkrei/);
    assert.deepEqual(await store.get(cid), bytes);
    assert.equal(await store.has(cid), true);
  });

  test("streams large input and leaves no temp file behind", async () => {
    const store = tempStore();
    const { size, cid } = await store.put(pieces(3_000_000, 65536));
    assert.equal(size, 3_000_000);
    assert.equal((await store.get(cid)).length, 3_000_000);
    assert.deepEqual(readdirSync(join(store.root, "tmp")), []);
  });

  test("over the size limit: PayloadTooLargeError and nothing stored", async () => {
    const store = tempStore();
    await assert.rejects(store.put(pieces(1_000_000, 4096), { maxBytes: 100_000 }), PayloadTooLargeError);
    assert.deepEqual(readdirSync(join(store.root, "tmp")), []);
    assert.deepEqual(
      readdirSync(store.root).filter((d) => d !== "tmp"),
      [],
    );
  });

  test("a stream that breaks mid-upload leaves neither a blob nor a temp file", async () => {
    const store = tempStore();
    async function* broken(): AsyncGenerator<Uint8Array> {
      yield new Uint8Array(70_000);
      throw new Error("client went away");
    }
    await assert.rejects(store.put(broken()), /client went away/);
    assert.deepEqual(readdirSync(join(store.root, "tmp")), []);
    assert.deepEqual(
      readdirSync(store.root).filter((d) => d !== "tmp"),
      [],
    );
  });

  test("a corrupted blob is refused on read, naming its CID", async () => {
    const store = tempStore();
    const { cid } = await store.put(new TextEncoder().encode("original"));
    const [a] = readdirSync(store.root).filter((d) => d !== "tmp");
    const [b] = readdirSync(join(store.root, a));
    writeFileSync(join(store.root, a, b, cid), "tampered");
    await assert.rejects(store.get(cid), (err: unknown) => {
      assert.ok(err instanceof BlobIntegrityError);
      assert.ok(err.message.includes(cid));
      return true;
    });
  });

  test("unknown and malformed CIDs", async () => {
    const store = tempStore();
    await assert.rejects(store.get(cidForBytes(new Uint8Array([1]))), NotFoundError);
    await assert.rejects(store.get("not-a-cid"), /is not a CID/);
  });
});
