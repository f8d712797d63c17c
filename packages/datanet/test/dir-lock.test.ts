// One writing process per data directory: the near-duplicate index and staging area live in its
// memory, so a second process on the same directory is refused with a message saying what to do.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DataDirInUseError } from "../src/dir-lock.ts";
import { DatanetService } from "../src/service.ts";
import { startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";

describe("data directory lock", () => {
  let chain: TestChain;
  before(async () => {
    chain = await startTestChain();
  });
  after(() => chain?.stop());

  test("a second service on the same directory is refused until the first closes", async () => {
    const dir = tempDir("datanet-lock-");
    const first = await chain.open(dir);
    await assert.rejects(
      chain.open(dir),
      (e: unknown) =>
        e instanceof DataDirInUseError &&
        e.code === "data_dir_in_use" &&
        e.message.includes(`in use by process ${process.pid}`) &&
        /HTTP API of `openledger up`/.test(e.message),
    );
    // A reader without a chain (e.g. attribution over snapshots) may still open it.
    new DatanetService({ dataDir: dir }).close();
    first.close();
    assert.equal(existsSync(join(dir, "LOCK")), false);
    (await chain.open(dir)).close();
  });

  test("another live process's lock refuses; a dead process's lock is taken over", async () => {
    const dir = tempDir("datanet-lock-other-");
    const other = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
    try {
      writeFileSync(join(dir, "LOCK"), String(other.pid));
      await assert.rejects(
        chain.open(dir),
        (e: unknown) =>
          e instanceof DataDirInUseError && e.message.includes(`in use by process ${other.pid}`),
      );
    } finally {
      other.kill();
      await once(other, "exit");
    }
    const service = await chain.open(dir);
    service.close();
  });
});
