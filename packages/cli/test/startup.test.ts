// `openledger` starts in well under a second because command modules load their heavy dependencies
// (viem, the sdk, the services, fastify) inside their actions. Tests never assert on time; this checks
// the cause instead: with those modules made unloadable, help and `accounts` still work.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { BIN, cleanEnv } from "./helpers.ts";

const FORBID = fileURLToPath(new URL("./fixtures/forbid-heavy-imports.mjs", import.meta.url));

function runLight(args: string[]) {
  return spawnSync(process.execPath, ["--import", FORBID, BIN, ...args], {
    encoding: "utf8",
    env: cleanEnv(),
  });
}

test("help and flag errors load no heavy module", () => {
  // registering the commands imports every command module, so this covers all of them
  const help = runLight(["--help"]);
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /datanet/);
  const sub = runLight(["datanet", "create", "--help"]);
  assert.equal(sub.status, 0, sub.stderr);
  const bad = runLight(["datanet", "--account", "x", "list"]);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /^error: .*--account/);
});

test("the forbidding hook does stop a heavy import (the check above can fail)", () => {
  const run = spawnSync(
    process.execPath,
    ["--import", FORBID, "--input-type=module", "-e", 'await import("viem")'],
    {
      encoding: "utf8",
    },
  );
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /heavy module imported at start-up: viem/);
});

test("accounts without --rpc needs no chain client", () => {
  const run = runLight(["accounts", "--json"]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(JSON.parse(run.stdout).accounts.length, 10);
});
