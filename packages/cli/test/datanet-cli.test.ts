// `openledger datanet` and `openledger contribution` as a script uses them: --json on every command,
// pages with their metadata, show commands, and exporting a published snapshot without publishing
// another. Against the real L2 node (automine) and the real binary. Issue 12.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { RunningNode } from "@openledger/chain";
import { devAccounts } from "@openledger/common";
import { openDatanetService } from "@openledger/datanet";
import { readDeployment } from "@openledger/sdk";
import { startApiServer } from "../src/api-server.ts";
import { createLogger } from "../src/log.ts";
import { resolveDevSigning } from "../src/options.ts";
import { assertOneLineError, runCli, startDevL2 } from "./helpers.ts";

describe("datanet commands for scripts", () => {
  let node: RunningNode;
  let dir: string;
  let datanet: (args: string[]) => ReturnType<typeof runCli>;
  let contribution: (args: string[]) => ReturnType<typeof runCli>;
  const json = async (run: ReturnType<typeof runCli>) => {
    const r = await run;
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "openledger-datanet-cli-"));
    node = await startDevL2(dir);
    const common = ["--rpc", node.url, "--deployments", join(dir, "deployments")];
    const shared = [...common, "--data-dir", join(dir, "datanet")];
    datanet = (args) => runCli(["datanet", ...shared, ...args], { cwd: dir });
    contribution = (args) => runCli(["contribution", ...shared, ...args], { cwd: dir });
  });
  after(async () => {
    await node?.close();
  });

  test("--json everywhere, pages, show, and export of an existing snapshot", async () => {
    const first = await json(datanet(["create", "--name", "First", "--json"]));
    const second = await json(datanet(["--json", "create", "--name", "Second", "--description", "two"]));
    assert.equal(second.id, first.id + 1);
    assert.equal(second.owner, devAccounts[0].address);
    assert.equal(second.description, "two");

    // pages: metadata in JSON, a hint in text
    const page1 = await json(datanet(["list", "--limit", "1", "--json"]));
    assert.deepEqual(
      page1.data.map((d: { id: number }) => d.id),
      [first.id],
    );
    assert.equal(page1.has_more, true);
    assert.equal(page1.next_after, first.id);
    assert.equal(page1.data[0].counts.pending, 0);
    const page2 = await json(
      datanet(["list", "--limit", "1", "--after", String(page1.next_after), "--json"]),
    );
    assert.deepEqual(
      page2.data.map((d: { id: number }) => d.id),
      [second.id],
    );
    assert.equal(page2.has_more, false);
    assert.equal(page2.next_after, null);
    const text = await datanet(["list", "--limit", "1"]);
    assert.match(text.stdout, new RegExp(`^ +${first.id} +First .*\\nmore: --after ${first.id}\\n$`));

    // contributions from two dev accounts
    writeFileSync(join(dir, "a.txt"), "Foxes are small omnivorous mammals with bushy tails.\n");
    writeFileSync(join(dir, "b.txt"), "Herons wade in shallow water and spear fish with their bills.\n");
    const a = await json(
      datanet([
        "--account",
        "1",
        "contribute",
        "a.txt",
        "--datanet",
        String(second.id),
        "--license",
        "CC0-1.0",
        "--json",
      ]),
    );
    const b = await json(
      datanet([
        "--account",
        "2",
        "contribute",
        "b.txt",
        "--datanet",
        String(second.id),
        "--license",
        "CC0-1.0",
        "--json",
      ]),
    );
    assert.equal(a.status, "pending");
    assert.equal(b.contributor, devAccounts[2].address);
    const curated = await json(
      datanet([
        "review",
        "--datanet",
        String(second.id),
        "--accept",
        String(a.id),
        "--reject",
        String(b.id),
        "--json",
      ]),
    );
    assert.deepEqual(
      curated.curated.map((c: { status: string }) => c.status),
      ["accepted", "rejected"],
    );

    const shown = await json(contribution(["show", String(a.id), "--chunks", "--json"]));
    assert.equal(shown.datanetId, second.id);
    assert.equal(shown.status, "accepted");
    assert.equal(shown.chunks[0].text, "Foxes are small omnivorous mammals with bushy tails.");

    const published = await json(datanet(["snapshot", "--datanet", String(second.id), "--json"]));
    assert.equal(published.snapshot.version, 1);
    assert.equal(published.snapshot.chunkCount, 1);
    assert.equal(published.export, undefined);

    // export what is published: no new version
    const out = join(dir, "export");
    const exported = await datanet(["export", out, "--snapshot", String(published.snapshot.id)]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^exported 1 chunks to /);
    const line = JSON.parse(readFileSync(join(out, "dataset.jsonl"), "utf8").trim());
    assert.equal(line.text, "Foxes are small omnivorous mammals with bushy tails.");
    assert.ok(existsSync(join(out, "manifest.json")));
    const latest = await json(
      datanet(["export", join(dir, "latest"), "--datanet", String(second.id), "--json"]),
    );
    assert.equal(latest.snapshot.id, published.snapshot.id);
    assert.equal(latest.export.lines, 1);

    const showText = await datanet(["show", String(second.id)]);
    assert.match(showText.stdout, /^datanet \d+ {2}Second\n/);
    assert.match(
      showText.stdout,
      /snapshot \d+ {2}version 1 {2}1 contributions {2}1 chunks {2}root 0x[0-9a-f]{64}\n$/,
      "exporting published no new snapshot",
    );
    assert.match(showText.stdout, /contributions {2}pending 0 {2}accepted 1 {2}rejected 1/);
  });

  test("unknown ids and bad flags are one line", async () => {
    assertOneLineError(await contribution(["show", "999"]), /contribution 999 does not exist/);
    assertOneLineError(await datanet(["show", "0x1"]), /positive integer/);
    assertOneLineError(await datanet(["list", "--limit", "5000"]), /1\.\.1000/);
    assertOneLineError(await datanet(["export", join(dir, "x")]), /--snapshot <id> or --datanet <id>/);
  });

  test("dev-key signing: on for loopback by default, off on request, refused on a reachable host", async () => {
    const up = await runCli(["up", "--host", "0.0.0.0", "--dev-signing", "--datadir", "never"], { cwd: dir });
    assertOneLineError(up, /--dev-signing is only allowed on a loopback --host .* not 0\.0\.0\.0/);
    assert.ok(!existsSync(join(dir, "never")), "refused before anything started");
    assert.equal(resolveDevSigning(undefined, "127.0.0.1"), true);
    assert.equal(resolveDevSigning(undefined, "0.0.0.0"), false);
    assert.equal(resolveDevSigning(false, "localhost"), false);
    assert.throws(() => resolveDevSigning(true, "192.168.1.5"), /only allowed on a loopback/);

    // the service holds the data directory, as `openledger up` does
    const registry = readDeployment(join(dir, "deployments"), 1337)!.addresses.datanetRegistry!;
    const service = await openDatanetService({
      dataDir: join(dir, "datanet"),
      rpcUrl: node.url,
      registry,
      privateKeys: [devAccounts[0].privateKey],
    });
    try {
      // read commands still work: they read the index the holder keeps
      const listed = await json(datanet(["list", "--json"]));
      assert.deepEqual(
        listed.data.map((d: { name: string }) => d.name),
        ["First", "Second"],
      );
      const start = (devSigning?: boolean) =>
        startApiServer({
          host: "127.0.0.1",
          port: 0,
          datanets: service,
          snapshotIndexes: {},
          devSigning,
          log: createLogger({ quiet: true }),
        });
      const create = (url: string) =>
        fetch(`${url}/v1/datanets`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ owner: devAccounts[0].address, name: "Via HTTP" }),
        });
      const off = await start(false);
      try {
        const res = await create(off.url);
        assert.equal(res.status, 202);
        const body = (await res.json()) as { status: string; transactions: { from: string }[] };
        assert.equal(body.status, "unsigned");
        assert.equal(body.transactions[0].from, devAccounts[0].address);
      } finally {
        await off.app.close();
      }
      const on = await start();
      try {
        const res = await create(on.url);
        assert.equal(res.status, 201);
        assert.equal(((await res.json()) as { name: string }).name, "Via HTTP");
      } finally {
        await on.app.close();
      }
      await assert.rejects(
        startApiServer({
          host: "0.0.0.0",
          port: 0,
          datanets: service,
          snapshotIndexes: {},
          devSigning: true,
          log: createLogger({ quiet: true }),
        }),
        /only allowed on a loopback/,
      );
    } finally {
      service.close();
    }
  });
});
