// Attribution over everything served: real anvil with the protocol, a real Datanet service seeded with
// WordNet domains, the SnapshotIndexer and the HTTP API. One POST /v1/attribution without snapshot
// names equals `openledger attribute` (a subprocess) over every served index file, stdin and argument
// forms agree, and a snapshot published while the server runs is served without a restart.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type DatanetService, openDatanetService, seedWordnet } from "@openledger/datanet";
import { devAccounts, startAnvil } from "@openledger/devnet";
import { connect, deployProtocol } from "@openledger/sdk";
import { privateKeyToAccount } from "viem/accounts";
import { startApiServer } from "../src/api-server.ts";
import { SnapshotIndexer } from "../src/attribution-indexes.ts";
import { runCli } from "./helpers.ts";

const accounts = devAccounts.map((a) => privateKeyToAccount(a.privateKey));

describe("one attribution query over every served snapshot", () => {
  let anvil: Awaited<ReturnType<typeof startAnvil>>;
  let service: DatanetService;
  let indexer: SnapshotIndexer;
  let api: Awaited<ReturnType<typeof startApiServer>>;
  const dir = mkdtempSync(join(tmpdir(), "attribution-serve-"));
  const seed = (domains: string[]) =>
    seedWordnet(service, { owner: accounts[0], contributors: accounts.slice(1, 3), perDomain: 3, domains });

  before(async () => {
    anvil = await startAnvil();
    const { walletClient, publicClient } = await connect(anvil.rpcUrl, devAccounts[0].privateKey);
    const { addresses } = await deployProtocol(walletClient!, publicClient, {
      deploymentsDir: join(dir, "deploy"),
    });
    service = await openDatanetService({
      dataDir: join(dir, "datanet"),
      rpcUrl: anvil.rpcUrl,
      registry: addresses.datanetRegistry,
      privateKeys: devAccounts.slice(0, 3).map((a) => a.privateKey),
    });
    await seed(["noun.food", "verb.motion"]);
    indexer = new SnapshotIndexer(service, join(dir, "indexes"), { intervalMs: 100 });
    await indexer.refresh();
    indexer.start();
    api = await startApiServer({
      host: "127.0.0.1",
      port: 0,
      datanets: service,
      snapshotIndexes: () => indexer.served(),
    });
  });
  after(async () => {
    await api?.app.close();
    await indexer?.close();
    service?.close();
    await anvil?.stop();
  });

  const post = async (body: unknown) => {
    const res = await fetch(`${api.url}/v1/attribution`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200);
    return (await res.json()) as { commitment: string; credits: { contributionId: string; share: number }[] };
  };
  const firstChunkOf = async (snapshotId: bigint) => {
    for await (const c of service.snapshots.chunks(snapshotId)) return c;
    throw new Error(`snapshot ${snapshotId} has no chunks`);
  };

  test("the HTTP route without names equals the CLI over every served index; stdin drops its final newline", async () => {
    const served = indexer.served();
    assert.equal(served.length, 2);
    const listed = (await (await fetch(`${api.url}/v1/attribution/snapshots`)).json()) as {
      data: { name: string; root: string }[];
    };
    assert.deepEqual(
      listed.data.map((s) => [s.name, s.root]),
      served.map((s) => [s.name, s.root]),
    );
    const food = await firstChunkOf(served[0].snapshotId);
    const motion = await firstChunkOf(served[1].snapshotId);
    const text = `Notes: ${food.text} Also, ${motion.text}`;

    const overHttp = await post({ text });
    assert.deepEqual(
      overHttp.credits.map((c) => c.contributionId),
      [food.contributionId, motion.contributionId].map(String).sort((a, b) => Number(a) - Number(b)),
    );
    const snapshotArgs = served.flatMap((s) => ["--snapshot", s.path]);
    const viaStdin = await runCli(["attribute", "--json", ...snapshotArgs, "-"], { stdin: `${text}\n` });
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.deepEqual(JSON.parse(viaStdin.stdout), overHttp);
    const viaArgument = await runCli(["attribute", "--json", ...snapshotArgs, text]);
    assert.equal(JSON.parse(viaArgument.stdout).commitment, overHttp.commitment);
    // Naming every snapshot is the same query.
    assert.deepEqual(await post({ text, snapshots: served.map((s) => s.name) }), overHttp);
  });

  test("a snapshot published while the server runs is listed and attributed without a restart", async () => {
    await seed(["noun.plant"]);
    let names: string[] = [];
    while (names.length < 3) {
      await new Promise((r) => setTimeout(r, 50));
      const listed = (await (await fetch(`${api.url}/v1/attribution/snapshots`)).json()) as {
        data: { name: string }[];
      };
      names = listed.data.map((s) => s.name);
    }
    assert.ok(names.includes("wordnet-noun.plant@1"), names.join(", "));
    const plant = indexer.served().find((s) => s.name === "wordnet-noun.plant@1")!;
    const chunk = await firstChunkOf(plant.snapshotId);
    const json = await post({ text: chunk.text });
    assert.deepEqual(
      json.credits.map((c) => c.contributionId),
      [String(chunk.contributionId)],
    );
  });

  test("CLI: an unknown --algorithm is one error line and a non-zero exit", async () => {
    const r = await runCli([
      "attribute",
      "--algorithm",
      "span-v9",
      "--snapshot",
      indexer.served()[0].path,
      "x",
    ]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /span-v9/);
  });
});
