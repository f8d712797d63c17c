import type { Address } from "viem";
import type { BlobStore } from "./blobstore.ts";
import type { DatanetDb } from "./db.ts";
import type { RateLimiter } from "./limits.ts";
import type { NearDupIndex } from "./neardup.ts";
import type { ContentRefs } from "./refs.ts";
import type { RegistryPort } from "./registry-port.ts";
import type { SnapshotStore } from "./snapshots.ts";

/** The stores of one data directory, shared by the service's sections. */
export interface DatanetStores {
  readonly db: DatanetDb;
  readonly blobs: BlobStore;
  readonly refs: ContentRefs;
  readonly nearDup: NearDupIndex;
  readonly limiter: RateLimiter;
  readonly snapshots: SnapshotStore;
  readonly maxChunkBytes: number;
}

/** The chain as the service's sections see it. */
export interface ChainAccess {
  /** Throws `no_chain` when the service was opened without one. */
  readonly registry: RegistryPort;
  /** Catches the index up with the chain head. */
  sync(): Promise<void>;
  /** `account` as an address this process may send from (else a permission error naming `what`). */
  sender(account: string, what: string): Address;
}

export type Progress = (done: number, total: number) => void;
