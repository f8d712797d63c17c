import { SerialQueue } from "@openledger/common";
import type { DatanetStores } from "./context.ts";
import { applyEvents, type FollowerTarget } from "./follower.ts";
import type { RegistryPort } from "./registry-port.ts";

/** Follows the DatanetRegistry into the index, one block range at a time, resuming after a restart. */
export class ChainMirror {
  private readonly syncing = new SerialQueue();

  constructor(
    private readonly stores: DatanetStores,
    private readonly target: FollowerTarget,
    private readonly registry: () => RegistryPort,
    /** Block range per eth_getLogs call. */
    private readonly logRange: bigint,
  ) {}

  /** Applies every registry event up to the chain head; resumes from the last processed block. */
  sync(): Promise<void> {
    return this.syncing.run(() => this.syncOnce());
  }

  private async syncOnce(): Promise<void> {
    const registry = this.registry();
    const { db } = this.stores;
    const last = db.getSync("lastBlock");
    if (last !== undefined && (await registry.blockHash(BigInt(last))) !== db.getSync("lastBlockHash")) {
      // The block we stopped at is gone (a reorg, or a fresh chain at the same address): start over.
      this.reset();
    }
    const head = await registry.blockNumber();
    let from = BigInt(db.getSync("lastBlock") ?? "-1") + 1n;
    while (from <= head) {
      const to = from + this.logRange - 1n < head ? from + this.logRange - 1n : head;
      const events = await registry.events(from, to);
      await applyEvents(this.target, events);
      const hash = await registry.blockHash(to);
      db.transaction(() => {
        db.setSync("lastBlock", to.toString());
        db.setSync("lastBlockHash", hash ?? "");
      });
      from = to + 1n;
    }
  }

  /** Forgets the chain mirror and replays the chain from block 0 (blobs, refs and staged uploads stay). */
  async rebuild(): Promise<void> {
    await this.syncing.idle();
    this.reset();
    await this.sync();
  }

  private reset(): void {
    const { db, nearDup, snapshots } = this.stores;
    for (const d of db.listDatanets()) {
      for (const c of db.listContributions(d.id)) nearDup.remove(d.id, c.id);
    }
    db.transaction(() => {
      for (const table of [
        "licenses",
        "snapshot_entries",
        "snapshots",
        "chunks",
        "contributions",
        "datanets",
      ]) {
        db.db.exec(`DELETE FROM ${table}`);
      }
      db.db.exec("DELETE FROM sync_state WHERE key IN ('lastBlock', 'lastBlockHash')");
    });
    snapshots.forget();
  }
}
