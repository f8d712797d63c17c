import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { SpanIndex } from "@openledger/attribution";
import type { DatanetService } from "@openledger/datanet";

/** What the cache reads: a snapshot's row (its root) and its chunks in leaf order. */
export type SnapshotChunkSource = Pick<DatanetService, "getSnapshot" | "snapshots">;

/**
 * The span index of any snapshot by its on-chain id, for attributing a paid answer over the snapshots
 * its model was trained on (older versions too, not only the latest that the attribution route
 * serves). Files are shared with SnapshotIndexer (`<dir>/snapshot-<id>.spanidx`, written once and
 * renamed into place); each is opened once and kept open until `close()`.
 */
export class SnapshotSpanIndexes {
  readonly #open = new Map<bigint, Promise<SpanIndex>>();

  constructor(
    private readonly source: SnapshotChunkSource,
    private readonly dir: string,
  ) {}

  /** The indexes of `snapshotIds`, in that order (a snapshot unknown here throws the service's error). */
  get(snapshotIds: readonly bigint[]): Promise<SpanIndex[]> {
    return Promise.all(snapshotIds.map((id) => this.#index(id)));
  }

  #index(id: bigint): Promise<SpanIndex> {
    let index = this.#open.get(id);
    if (!index) {
      index = this.#load(id);
      // a failed load (snapshot not synced yet) is tried again by the next request
      index.catch(() => this.#open.delete(id));
      this.#open.set(id, index);
    }
    return index;
  }

  async #load(id: bigint): Promise<SpanIndex> {
    const { SpanIndex } = await import("@openledger/attribution");
    const path = join(this.dir, `snapshot-${id}.spanidx`);
    if (!SpanIndex.isCurrentFile(path)) {
      const row = this.source.getSnapshot(id);
      const chunks = [];
      for await (const c of this.source.snapshots.chunks(row.id, { proofs: false })) chunks.push(c);
      mkdirSync(this.dir, { recursive: true });
      SpanIndex.build(chunks, row.root).writeFile(path); // replaced in one rename
    }
    return SpanIndex.open(path);
  }

  async close(): Promise<void> {
    const all = [...this.#open.values()];
    this.#open.clear();
    for (const index of await Promise.allSettled(all)) if (index.status === "fulfilled") index.value.close();
  }
}
