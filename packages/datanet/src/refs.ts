import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";

/**
 * Named pointers from what the chain records (Datanet id, content hash) to the metadata blob's CID,
 * kept beside the blobs: with them the index can be rebuilt from chain events alone.
 */
export class ContentRefs {
  readonly root: string;

  constructor(root: string) {
    this.root = root;
    mkdirSync(root, { recursive: true });
  }

  private path(datanetId: bigint, contentHash: string): string {
    return join(this.root, String(datanetId), contentHash.toLowerCase());
  }

  async set(datanetId: bigint, contentHash: string, metaCid: string): Promise<void> {
    const dir = join(this.root, String(datanetId));
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(6).toString("hex")}`);
    const file = await open(tmp, "wx");
    try {
      await file.writeFile(metaCid);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, this.path(datanetId, contentHash));
  }

  async get(datanetId: bigint, contentHash: string): Promise<string | undefined> {
    try {
      return (await readFile(this.path(datanetId, contentHash), "utf8")).trim();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
  }
}
