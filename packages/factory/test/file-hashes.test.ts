import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { FileHashes } from "../src/file-hashes.ts";

const dir = mkdtempSync(join(tmpdir(), "ol-file-hashes-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const sha = (bytes: Uint8Array) => `0x${createHash("sha256").update(bytes).digest("hex")}`;
const bytes = (seed: number, n = 200_000) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

test("a file is read once while it is unchanged", async () => {
  const path = join(dir, "base.gguf");
  writeFileSync(path, bytes(1));
  const hashes = new FileHashes();
  assert.equal(await hashes.sha256(path), sha(bytes(1)));
  assert.equal(await hashes.sha256(path), sha(bytes(1)));
  assert.equal(hashes.reads, 1);
});

test("an in-place edit of the same size with the mtime put back is hashed again", async () => {
  const path = join(dir, "edited.gguf");
  writeFileSync(path, bytes(2));
  const hashes = new FileHashes();
  assert.equal(await hashes.sha256(path), sha(bytes(2)));
  // `touch -r` copies times to the nanosecond (utimensat), as an editor covering its tracks would
  const ref = `${path}.times`;
  writeFileSync(ref, "");
  execFileSync("touch", ["-r", path, ref]);
  const before = statSync(path, { bigint: true });
  await new Promise((r) => setTimeout(r, 20)); // ctime has at least the clock's resolution to move
  const fd = openSync(path, "r+");
  writeSync(fd, Uint8Array.of(0xee), 0, 1, 1000);
  closeSync(fd);
  execFileSync("touch", ["-r", ref, path]);
  const afterEdit = statSync(path, { bigint: true });
  assert.equal(afterEdit.mtimeNs, before.mtimeNs, "the edit's mtime is put back exactly");
  assert.equal(afterEdit.size, before.size);
  const edited = bytes(2);
  edited[1000] = 0xee;
  assert.equal(await hashes.sha256(path), sha(edited));
  assert.equal(hashes.reads, 2);
});

test("a file renamed over the cached one is hashed again", async () => {
  const path = join(dir, "swapped.gguf");
  writeFileSync(path, bytes(3));
  const hashes = new FileHashes();
  await hashes.sha256(path);
  writeFileSync(`${path}.new`, bytes(4));
  renameSync(`${path}.new`, path);
  assert.equal(await hashes.sha256(path), sha(bytes(4)));
  assert.equal(hashes.reads, 2);
});

test("a missing file is an error, not a stale hash", async () => {
  const path = join(dir, "gone.gguf");
  writeFileSync(path, bytes(5));
  const hashes = new FileHashes();
  await hashes.sha256(path);
  rmSync(path);
  await assert.rejects(hashes.sha256(path), /ENOENT/);
});
