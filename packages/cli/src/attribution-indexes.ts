import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { ServedSnapshot } from "@openledger/attribution";
import type { DatanetService } from "@openledger/datanet";
import type { Hex } from "viem";

export interface SnapshotIndexFile extends ServedSnapshot {
  /** Name clients pass to POST /v1/attribution: `<datanet name slug>@<version>`. */
  name: string;
  snapshotId: bigint;
  root: string;
  path: string;
}

/** What the indexer reads: the Datanet service's public API (listing, snapshot rows, chunks). */
export type SnapshotSource = Pick<DatanetService, "listDatanets" | "getDatanet" | "snapshots">;

export interface SnapshotIndexerOptions {
  /** How often to look for newly published snapshots (ms); 1000 by default. */
  intervalMs?: number;
  /** Called when a snapshot could not be indexed (snapshotId 0n: the pass failed); retried next pass. */
  onError?: (err: unknown, snapshotId: bigint) => void;
  /** Called when a snapshot starts being served. */
  onIndexed?: (file: SnapshotIndexFile) => void;
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * Keeps a span index file for the latest snapshot of every Datanet and serves them to the
 * attribution route: `refresh()` indexes what is new (snapshots are immutable, so a file is written
 * once, atomically), and `start()` polls the service so a snapshot is served as soon as it is
 * published, without a restart. Until a Datanet's new version is indexed its previous one is served.
 */
export class SnapshotIndexer {
  readonly #source: SnapshotSource;
  readonly #dir: string;
  readonly #opts: SnapshotIndexerOptions;
  /** Served snapshot by Datanet id. */
  readonly #latest = new Map<bigint, SnapshotIndexFile>();
  #running: Promise<SnapshotIndexFile[]> | undefined;
  #timer: NodeJS.Timeout | undefined;

  constructor(source: SnapshotSource, dir: string, opts: SnapshotIndexerOptions = {}) {
    this.#source = source;
    this.#dir = dir;
    this.#opts = opts;
  }

  /** The snapshots served now, one per Datanet (its latest indexed version). */
  served(): SnapshotIndexFile[] {
    return [...this.#latest.values()];
  }

  /** Indexes every Datanet's latest snapshot not indexed yet; one pass at a time. */
  refresh(): Promise<SnapshotIndexFile[]> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /** Polls for new snapshots every `intervalMs` until `close()`. */
  start(): void {
    if (this.#timer) return;
    // A failed pass (e.g. the service closing) is reported and retried on the next tick.
    this.#timer = setInterval(
      () => void this.refresh().catch((err) => this.#opts.onError?.(err, 0n)),
      this.#opts.intervalMs ?? 1000,
    );
    this.#timer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  async #pass(): Promise<SnapshotIndexFile[]> {
    const { SpanIndex } = await import("@openledger/attribution");
    mkdirSync(this.#dir, { recursive: true });
    for (const row of this.#source.listDatanets()) {
      let latest: { id: bigint; version: number; root: string } | undefined;
      try {
        latest = this.#source.getDatanet(row.id).snapshots.at(-1);
      } catch (err) {
        this.#opts.onError?.(err, 0n);
        continue;
      }
      if (!latest || this.#latest.get(row.id)?.snapshotId === latest.id) continue;
      const path = join(this.#dir, `snapshot-${latest.id}.spanidx`);
      try {
        // A file from an earlier run is reused (snapshots never change, and it was renamed into place
        // whole) unless it has an older index layout.
        if (!SpanIndex.isCurrentFile(path)) {
          const chunks = [];
          for await (const c of this.#source.snapshots.chunks(latest.id)) chunks.push(c);
          const index = SpanIndex.build(chunks, latest.root as Hex);
          index.writeFile(path); // written beside and renamed: a reader never sees half a file
        }
      } catch (err) {
        this.#opts.onError?.(err, latest.id);
        continue;
      }
      const file = {
        name: `${slug(row.name)}@${latest.version}`,
        snapshotId: latest.id,
        root: latest.root.toLowerCase(),
        path,
      };
      this.#latest.set(row.id, file);
      this.#opts.onIndexed?.(file);
    }
    return this.served();
  }
}

/** Indexes the latest snapshot of every Datanet once (see SnapshotIndexer for serving as they appear). */
export async function buildSnapshotIndexes(
  service: SnapshotSource,
  dir: string,
): Promise<SnapshotIndexFile[]> {
  return new SnapshotIndexer(service, dir).refresh();
}
