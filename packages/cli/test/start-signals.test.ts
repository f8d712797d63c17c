// `npm start` hands SIGTERM to the process that owns the ports, so the node stops instead of being
// orphaned and serving on; with OPENLEDGER_LOG_FORMAT=json every log line, the HTTP access log
// included, is one JSON object. Issue 12.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { cleanEnv, lines, REPO_ROOT } from "./helpers.ts";

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(url, { signal: AbortSignal.timeout(5_000) });
    return true;
  } catch {
    return false;
  }
}

test("SIGTERM to npm start stops the node and the API; logs are JSON lines", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openledger-start-"));
  const args = ["--datadir", join(dir, "data"), "--deployments", join(dir, "deployments")];
  const child = spawn(
    "npm",
    ["start", "--silent", "--", ...args, "--port", "0", "--api-port", "0", "--automine", "--no-seed"],
    { cwd: REPO_ROOT, env: cleanEnv({ OPENLEDGER_LOG_FORMAT: "json" }) },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  // "exit", not "close": an orphaned node would keep the pipes open and "close" would never come
  const exited = new Promise<number | null>((done) => child.on("exit", (code) => done(code)));
  const closed = new Promise<void>((done) => child.on("close", () => done()));
  let rpc: string | undefined;
  let api: string | undefined;
  try {
    await new Promise<void>((ready, fail) => {
      child.stdout.on("data", () => {
        if (stdout.includes("Ready.")) ready();
      });
      exited.then((code) => fail(new Error(`npm start exited early (${code}):\n${stderr}`)));
    });
    rpc = /^RPC\s+(\S+)/m.exec(stdout)?.[1];
    api = /^API\s+(\S+)/m.exec(stdout)?.[1];
    assert.ok(rpc && api, stdout);
    assert.equal((await fetch(`${api}/v1/datanets`)).status, 200);
    assert.equal((await fetch(`${api}/v2/nothing`)).status, 404);
  } finally {
    // the signal goes to npm, as `kill -TERM <pid of npm start>` would send it
    child.kill("SIGTERM");
  }
  assert.equal(await exited, 0, stderr);
  assert.equal(await reachable(rpc), false, "the RPC port is closed");
  assert.equal(await reachable(api), false, "the API port is closed");
  await closed; // all of stderr is in

  // the build step may print before the CLI starts; from the CLI's first line on, all is JSON
  const logLines = lines(stderr);
  const first = logLines.findIndex((l) => l.startsWith('{"time"'));
  assert.ok(first >= 0, stderr);
  const entries = logLines.slice(first).map((l) => {
    assert.doesNotThrow(() => JSON.parse(l), `not JSON: ${l}`);
    return JSON.parse(l);
  });
  const access = entries.filter((e) => e.msg === "request").map((e) => [e.method, e.url, e.status]);
  assert.deepEqual(access, [
    ["GET", "/v1/datanets", 200],
    ["GET", "/v2/nothing", 404],
  ]);
  assert.ok(entries.some((e) => e.msg === "stopping" && e.signal === "SIGTERM"));
});
