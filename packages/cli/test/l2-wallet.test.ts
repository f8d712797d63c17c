// On the OpenLedger L2 the native currency is OPEN: balances say so, and a dev account wraps it to
// pay for a training licence (which it could not do before `wrap` existed). The HTTP API's access and
// error log runs against the same chain. Issue 12.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { RunningNode } from "@openledger/chain";
import { devAccounts } from "@openledger/common";
import { openDatanetService } from "@openledger/datanet";
import { startApiServer } from "../src/api-server.ts";
import { createLogger } from "../src/log.ts";
import { BIN, cleanEnv, lines, runCli, startDevL2 } from "./helpers.ts";

describe("wallet commands on the L2", () => {
  let node: RunningNode;
  let dir: string;
  let common: string[];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "openledger-l2-"));
    node = await startDevL2(dir);
    common = ["--rpc", node.url, "--deployments", join(dir, "deployments")];
  });
  after(async () => {
    await node?.close();
  });

  test("balance and accounts label native OPEN as OPEN; wrap pays for a licence; license --check exits 2 without one", async () => {
    const cli = (args: string[]) => runCli(args, { cwd: dir });
    const datanet = (args: string[]) =>
      cli(["datanet", ...common, "--data-dir", join(dir, "datanet"), ...args]);
    const buyer = devAccounts[2].address;

    const balance = await cli(["balance", ...common, "--account", "2"]);
    assert.equal(balance.code, 0, balance.stderr);
    assert.match(balance.stdout, /\d+(\.\d+)? OPEN \(native\)/);
    assert.match(balance.stdout, /0 WOPEN \(wrapped OPEN/);
    assert.doesNotMatch(balance.stdout, /ETH/);
    const accounts = JSON.parse((await cli(["accounts", ...common, "--json"])).stdout);
    assert.equal(accounts.accounts[2].nativeSymbol, "OPEN");

    // a Datanet with a 1 OPEN licence, one accepted contribution and a snapshot
    const created = await datanet(["create", "--name", "Licensed", "--license-price", String(10n ** 18n)]);
    assert.equal(created.code, 0, created.stderr);
    const id = /^datanet (\d+)/.exec(created.stdout)?.[1];
    assert.ok(id, created.stdout);
    writeFileSync(join(dir, "text.txt"), "Wrapped OPEN pays for the licence of a snapshot on the L2.\n");
    const contributed = await datanet([
      "contribute",
      join(dir, "text.txt"),
      "--datanet",
      id,
      "--license",
      "CC-BY-4.0",
      "--account",
      "1",
    ]);
    assert.equal(contributed.code, 0, contributed.stderr);
    assert.equal((await datanet(["review", "--datanet", id, "--accept-all"])).code, 0);
    const snap = await datanet(["snapshot", "--datanet", id]);
    assert.equal(snap.code, 0, snap.stderr);
    const snapshot = /^snapshot (\d+)/m.exec(snap.stdout)?.[1];
    assert.ok(snapshot, snap.stdout);

    const unlicensed = await datanet(["license", "--snapshot", snapshot, "--check", buyer]);
    assert.equal(unlicensed.code, 2, "no licence: exit 2");
    assert.match(unlicensed.stdout, /does not hold a license/);

    const wrapped = await cli(["wrap", "2", ...common, "--account", "2"]);
    assert.equal(wrapped.code, 0, wrapped.stderr);
    assert.match(wrapped.stdout, /wrapped 2 OPEN into WOPEN/);
    const bought = await datanet(["license", "--snapshot", snapshot, "--account", "2"]);
    assert.equal(bought.code, 0, bought.stderr);
    const licensed = await datanet(["license", "--snapshot", snapshot, "--check", buyer]);
    assert.equal(licensed.code, 0, licensed.stderr);
    assert.match(licensed.stdout, /holds a license/);

    // 2 wrapped - 1 paid = 1 left: unwrapping more is refused before any transaction
    const tooMuch = await cli(["unwrap", "5", ...common, "--account", "2"]);
    assert.notEqual(tooMuch.code, 0);
    assert.match(lines(tooMuch.stderr)[0], /^error: .*holds 1 WOPEN, less than the 5 asked/);
    assert.equal((await cli(["unwrap", "1", ...common, "--account", "2"])).code, 0);
    const after = JSON.parse((await cli(["balance", ...common, buyer, "--json"])).stdout);
    assert.equal(after.native.symbol, "OPEN");
    assert.equal(after.token.wrapped, true);
    assert.equal(after.token.wei, "0");
  });

  test("balance and accounts load neither the sdk nor viem's ESM build, so it starts fast", async () => {
    // the forbidding hook fails any ESM import of viem or the sdk (viem's CommonJS build is allowed);
    // spawned asynchronously: the node answering it runs in this process
    const forbid = fileURLToPath(new URL("./fixtures/forbid-heavy-imports.mjs", import.meta.url));
    const child = spawn(
      process.execPath,
      ["--import", forbid, BIN, "balance", ...common, "--account", "3", "--json"],
      { cwd: dir, env: cleanEnv() },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const [code] = await once(child, "close");
    assert.equal(code, 0, stderr);
    const balance = JSON.parse(stdout);
    assert.equal(balance.address, devAccounts[3].address);
    assert.equal(balance.native.symbol, "OPEN");
    assert.equal(balance.token.wrapped, true);
    const accounts = spawn(process.execPath, ["--import", forbid, BIN, "accounts", ...common, "--json"], {
      cwd: dir,
      env: cleanEnv(),
    });
    let listed = "";
    accounts.stdout.on("data", (d) => (listed += d));
    assert.equal((await once(accounts, "close"))[0], 0);
    assert.equal(JSON.parse(listed).accounts[3].nativeSymbol, "OPEN");
  });

  test("the HTTP API logs every request, and the cause of every 500, in the chosen format", async () => {
    const logged: string[] = [];
    const log = createLogger({ format: "json", write: (line) => logged.push(line) });
    const deployment = JSON.parse(readFileSync(join(dir, "deployments", "1337.json"), "utf8"));
    const service = await openDatanetService({
      dataDir: join(dir, "api-datanet"),
      rpcUrl: node.url,
      registry: deployment.addresses.datanetRegistry,
    });
    const api = await startApiServer({
      host: "127.0.0.1",
      port: 0,
      datanets: service,
      snapshotIndexes: {},
      log,
    });
    try {
      assert.equal((await fetch(`${api.url}/v1/datanets`)).status, 200);
      assert.equal((await fetch(`${api.url}/v2/nothing`)).status, 404);
      // a real internal failure: the service's database is closed under the server
      service.close();
      const failed = await fetch(`${api.url}/v1/datanets`);
      assert.equal(failed.status, 500);
      assert.match(((await failed.json()) as { error: { message: string } }).error.message, /server log/);
    } finally {
      await api.app.close();
    }
    const entries = logged.map((l) => JSON.parse(l));
    const requests = entries.filter((e) => e.msg === "request");
    assert.deepEqual(
      requests.map((e) => [e.method, e.url, e.status]),
      [
        ["GET", "/v1/datanets", 200],
        ["GET", "/v2/nothing", 404],
      ],
    );
    const failure = entries.find((e) => e.msg === "request failed");
    assert.ok(failure, `a 500 is logged: ${logged.join("\n")}`);
    assert.equal(failure.status, 500);
    assert.match(failure.error, /database|not open/i);
  });
});
