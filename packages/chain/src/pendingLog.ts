import { closeSync, fdatasync, openSync, readFileSync, writeSync } from "node:fs";
import { type FileHandle, open, rename } from "node:fs/promises";
import { dirname } from "node:path";

/**
 * An append-only, fsync'd log of accepted pool transactions (4-byte big-endian length + raw bytes).
 * Everything appended during one event-loop turn goes out in one write and one fdatasync (group
 * commit). The node truncates the log whenever its pool is empty and compacts it when it grows;
 * on start it re-admits what the log holds.
 */
export class PendingLog {
  /** An append (raw), a clear (nothing) or a compaction (keep: the records to rewrite the log with). */
  private queue: {
    raw?: Uint8Array;
    keep?: Uint8Array[];
    resolve: () => void;
    reject: (e: unknown) => void;
  }[] = [];
  private writing: Promise<void> | undefined;

  private constructor(
    private readonly path: string,
    private file: FileHandle,
    private size: number,
  ) {}

  static async open(path: string): Promise<{ log: PendingLog; entries: Uint8Array[] }> {
    closeSync(openSync(path, "a"));
    const bytes = readFileSync(path);
    const entries: Uint8Array[] = [];
    let off = 0;
    while (off + 4 <= bytes.length) {
      const len = bytes.readUInt32BE(off);
      if (off + 4 + len > bytes.length) break; // torn last record from a crash mid-write
      entries.push(bytes.subarray(off + 4, off + 4 + len));
      off += 4 + len;
    }
    const file = await open(path, "r+");
    if (off !== bytes.length) await file.truncate(off);
    return { log: new PendingLog(path, file, off), entries };
  }

  /** Resolves once `raw` is on disk. */
  append(raw: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ raw, resolve, reject });
      if (!this.writing) this.writing = new Promise((r) => setImmediate(r)).then(() => this.drain());
    });
  }

  /** Empties the log in order with appends (the node calls this when its pool is empty). */
  clear(): Promise<void> {
    if (this.size === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.queue.push({ resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  /** Rewrites the log to hold exactly `keep` (the pool), atomically: temp file, fsync, rename. */
  compact(keep: Uint8Array[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ keep, resolve, reject });
      if (!this.writing) this.writing = this.drain();
    });
  }

  get bytes(): number {
    return this.size;
  }

  async close(): Promise<void> {
    await this.writing;
    await this.file.close();
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (!head.raw) {
        this.queue.shift();
        try {
          if (head.keep) await this.rewrite(head.keep);
          else {
            await this.file.truncate(0);
            await this.file.datasync();
            this.size = 0;
          }
          head.resolve();
        } catch (err) {
          head.reject(err);
        }
        continue;
      }
      // Every append queued up to the next clear goes out in one write and one fdatasync.
      let n = 0;
      while (n < this.queue.length && this.queue[n].raw) n++;
      const batch = this.queue.splice(0, n);
      const data = encode(batch.map((b) => b.raw as Uint8Array));
      try {
        // The write goes to the page cache synchronously; the fdatasync runs on the thread pool so
        // the event loop keeps admitting transactions, which queue up for the next batch meanwhile.
        writeSync(this.file.fd, data, 0, data.length, this.size);
        this.size += data.length;
        await datasync(this.file.fd);
        for (const item of batch) item.resolve();
      } catch (err) {
        for (const item of batch) item.reject(err);
      }
    }
    this.writing = undefined;
  }

  private async rewrite(keep: Uint8Array[]): Promise<void> {
    const tmp = `${this.path}.tmp`;
    const data = encode(keep);
    const out = await open(tmp, "w");
    try {
      await out.write(data, 0, data.length, 0);
      await out.datasync();
    } finally {
      await out.close();
    }
    await this.file.close();
    await rename(tmp, this.path);
    const dir = await open(dirname(this.path), "r");
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
    this.file = await open(this.path, "r+");
    this.size = data.length;
  }
}

function datasync(fd: number): Promise<void> {
  return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
}

function encode(raws: Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const raw of raws) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(raw.length);
    parts.push(len, Buffer.from(raw.buffer, raw.byteOffset, raw.length));
  }
  return Buffer.concat(parts);
}
