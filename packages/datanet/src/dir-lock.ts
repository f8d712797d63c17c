import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { DatanetError } from "./errors.ts";

/**
 * The near-duplicate index, the staging area and the chain follower of a data directory live in one
 * process's memory: a second writer on the same directory would accept near-duplicates the first
 * has staged and race it on the index. So one process holds `<dataDir>/LOCK` (its pid) while open.
 */
export class DataDirInUseError extends DatanetError {
  constructor(dataDir: string, pid: number) {
    super(
      "conflict_error",
      "data_dir_in_use",
      `the Datanet data directory ${dataDir} is in use by process ${pid}${pid === process.pid ? " (this process)" : ""}; use that process (e.g. the HTTP API of \`openledger up\`), stop it, or pass another data directory`,
      { dataDir, pid },
    );
    this.name = "DataDirInUseError";
  }
}

const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the directory's lock (a stale one, left by a process that is gone, is taken over). */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, "LOCK");
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST" || attempt > 0) throw err;
      const pid = Number(readFileSync(path, "utf8").trim());
      const ours = pid === process.pid;
      if (Number.isSafeInteger(pid) && pid > 0 && (ours ? held.has(path) : alive(pid))) {
        throw new DataDirInUseError(dataDir, pid);
      }
      unlinkSync(path); // stale: its process is gone
    }
  }
  held.add(path);
  return () => {
    if (!held.delete(path)) return;
    try {
      if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}
