// SHA-256 of files a worker reads again and again (the base model before every job: about 5 GB at
// 8B). A file is hashed once per identity: device, inode, size, mtime and ctime (nanoseconds). Any
// write to the file, a rename over it or a restored mtime changes ctime, which user code cannot set,
// so a cached base that was swapped or edited in place is hashed again and still caught.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";

export class FileHashes {
  private readonly known = new Map<string, { identity: string; hash: string }>();
  /** Whole-file reads so far (what the memo saves; for tests and logs). */
  reads = 0;

  /** `0x`-prefixed lowercase hex SHA-256 of the file at `path`. */
  async sha256(path: string): Promise<string> {
    const identity = await identityOf(path);
    const hit = this.known.get(path);
    if (hit?.identity === identity) return hit.hash;
    const h = createHash("sha256");
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
    this.reads++;
    const hash = `0x${h.digest("hex")}`;
    // stat again: a write during the read must not be remembered under the old identity
    if ((await identityOf(path)) === identity) this.known.set(path, { identity, hash });
    return hash;
  }
}

async function identityOf(path: string): Promise<string> {
  const s = await stat(path, { bigint: true });
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}`;
}
