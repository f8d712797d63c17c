import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { DatanetService } from "@openledger/datanet";
import type { Hex } from "viem";

export interface SnapshotIndexFile {
  /** Name clients pass to POST /v1/attribution: `<datanet name slug>@<version>`. */
  name: string;
  snapshotId: number;
  path: string;
}

function slug(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9.]+/g, "-")
    .replace(/^-|-$/g, "");
}

/**
 * Builds (once) a span-v1 index file for the latest snapshot of every Datanet, from the snapshot's
 * chunks in leaf order, so the attribution route can answer for the Datanets this service holds.
 */
export async function buildSnapshotIndexes(
  service: DatanetService,
  dir: string,
): Promise<SnapshotIndexFile[]> {
  const { SpanIndex } = await import("@openledger/attribution");
  mkdirSync(dir, { recursive: true });
  const files: SnapshotIndexFile[] = [];
  for (const row of service.listDatanets()) {
    const latest = service.getDatanet(row.id).snapshots.at(-1);
    if (!latest) continue;
    const path = join(dir, `snapshot-${latest.id}.spanidx`);
    if (!existsSync(path)) {
      const chunks = [];
      for await (const c of service.snapshots.chunks(latest.id)) chunks.push(c);
      SpanIndex.build(chunks, latest.root as Hex).writeFile(path);
    }
    files.push({ name: `${slug(row.name)}@${latest.version}`, snapshotId: latest.id, path });
  }
  return files;
}
