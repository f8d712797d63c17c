import { createHash, randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { mkdir, open, readFile, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import * as Digest from "multiformats/hashes/digest";
import { sha256 } from "multiformats/hashes/sha2";
import { BlobIntegrityError, InvalidInputError, NotFoundError, PayloadTooLargeError } from "./errors.ts";

export interface PutResult {
  cid: string;
  size: number;
}

/**
 * Content-addressed blob storage: CIDv1, raw codec, sha2-256. The file store below is the embedded
 * default; an IPFS (Kubo RPC) or S3-compatible store implements the same four calls.
 */
export interface BlobStore {
  /** Stores bytes streamed from `source`; rejects with PayloadTooLargeError past `maxBytes`. */
  put(source: AsyncIterable<Uint8Array> | Uint8Array, opts?: { maxBytes?: number }): Promise<PutResult>;
  /** Returns the bytes, verified against the CID; BlobIntegrityError names the CID on mismatch. */
  get(cid: string): Promise<Uint8Array>;
  has(cid: string): Promise<boolean>;
  delete(cid: string): Promise<void>;
}

export function cidForBytes(bytes: Uint8Array): string {
  const digest = createHash("sha256").update(bytes).digest();
  return CID.createV1(raw.code, Digest.create(sha256.code, digest)).toString();
}

function parseCid(cid: string): CID {
  let parsed: CID;
  try {
    parsed = CID.parse(cid);
  } catch {
    throw new InvalidInputError("invalid_cid", `"${cid}" is not a CID`);
  }
  if (parsed.version !== 1 || parsed.code !== raw.code || parsed.multihash.code !== sha256.code) {
    throw new InvalidInputError("unsupported_cid", `${cid}: only CIDv1 raw sha2-256 blobs are stored here`);
  }
  return parsed;
}

/** Blobs as files: `<root>/<2 hex>/<2 hex>/<cid>`, sharded by the sha2-256 digest. */
export class FileBlobStore implements BlobStore {
  readonly root: string;
  private readonly tmpDir: string;

  constructor(root: string) {
    this.root = root;
    this.tmpDir = join(root, "tmp");
    mkdirSync(this.tmpDir, { recursive: true });
  }

  private pathFor(cid: CID): string {
    const hex = Buffer.from(cid.multihash.digest).toString("hex");
    return join(this.root, hex.slice(0, 2), hex.slice(2, 4), cid.toString());
  }

  async put(
    source: AsyncIterable<Uint8Array> | Uint8Array,
    opts: { maxBytes?: number } = {},
  ): Promise<PutResult> {
    const maxBytes = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    const tmp = join(this.tmpDir, `${process.pid}-${randomBytes(8).toString("hex")}`);
    const hash = createHash("sha256");
    const file = await open(tmp, "wx");
    let size = 0;
    try {
      const parts = source instanceof Uint8Array ? [source] : source;
      for await (const part of parts) {
        size += part.length;
        if (size > maxBytes) throw new PayloadTooLargeError(maxBytes);
        hash.update(part);
        await file.write(part);
      }
      await file.sync();
    } catch (err) {
      await file.close();
      await rm(tmp, { force: true });
      throw err;
    }
    await file.close();
    const cid = CID.createV1(raw.code, Digest.create(sha256.code, hash.digest()));
    const dest = this.pathFor(cid);
    const dir = join(dest, "..");
    await mkdir(dir, { recursive: true });
    // rename is atomic: a crash leaves either no blob or the whole blob under its CID
    await rename(tmp, dest);
    const dirHandle = await open(dir, "r");
    try {
      await dirHandle.sync();
    } finally {
      await dirHandle.close();
    }
    return { cid: cid.toString(), size };
  }

  async get(cidText: string): Promise<Uint8Array> {
    const cid = parseCid(cidText);
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathFor(cid));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") {
        throw new NotFoundError("blob_not_found", `blob ${cidText} is not in the store`);
      }
      throw err;
    }
    const digest = createHash("sha256").update(bytes).digest();
    if (!digest.equals(cid.multihash.digest)) {
      throw new BlobIntegrityError(cidText, "content does not match its hash (corrupted on disk)");
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  async has(cidText: string): Promise<boolean> {
    try {
      await stat(this.pathFor(parseCid(cidText)));
      return true;
    } catch {
      return false;
    }
  }

  async delete(cidText: string): Promise<void> {
    await rm(this.pathFor(parseCid(cidText)), { force: true });
  }
}
