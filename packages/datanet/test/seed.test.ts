import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { verify } from "@openledger/merkle";
import { seedWordnet } from "../src/seed.ts";
import type { DatanetService } from "../src/service.ts";
import { parseSynsetLine, readWordnetByDomain, synsetText } from "../src/wordnet.ts";
import { accounts, startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";

describe("WordNet demo seed", () => {
  test("data.* lines parse into domain, words, gloss and examples", () => {
    const s = parseSynsetLine(
      '00001740 29 v 04 breathe 0 take_a_breath 0 respire 0 suspire 3 021 * 00005041 v 0000 | draw air into, and expel out of, the lungs; "I can breathe better when the air is clean"; "The patient is respiring"  ',
    )!;
    assert.equal(s.domain, "verb.body");
    assert.deepEqual(s.words, ["breathe", "take a breath", "respire", "suspire"]);
    assert.equal(s.definition, "draw air into, and expel out of, the lungs");
    assert.deepEqual(s.examples, ["I can breathe better when the air is clean", "The patient is respiring"]);
    assert.equal(parseSynsetLine("  1 This software and database is being provided"), null);
    const byDomain = readWordnetByDomain();
    assert.equal(byDomain.size, 45);
    assert.match(synsetText(byDomain.get("noun.food")![0]), /\(noun\.food\)\n/);
  });

  let chain: TestChain;
  let service: DatanetService;
  before(async () => {
    chain = await startTestChain();
    service = await chain.open(tempDir("datanet-seed-"));
  });
  after(async () => {
    service?.close();
    await chain?.stop();
  });

  test("builds, curates and snapshots one Datanet per domain with batch calls", async () => {
    const phases = new Set<string>();
    const summary = await seedWordnet(service, {
      owner: accounts[0],
      contributors: accounts.slice(1, 4),
      perDomain: 12,
      domains: ["noun.food", "verb.weather"],
      rejectEvery: 5,
      onProgress: (phase) => phases.add(phase),
    });
    assert.equal(summary.datanets, 2);
    assert.equal(summary.contributions + summary.skippedDuplicates, 24);
    assert.equal(summary.accepted + summary.rejected, summary.contributions);
    assert.ok(summary.rejected >= 4);
    assert.deepEqual([...phases].sort(), ["snapshot", "stage"]);
    const names = service.listDatanets().map((d) => d.name);
    assert.deepEqual(names, ["WordNet noun.food", "WordNet verb.weather"]);
    const contributors = new Set(service.listContributions(1n).map((c) => c.contributor));
    assert.equal(contributors.size, 3);
    for (const s of summary.snapshots) {
      const root = await service.registry.snapshotChunksRoot(BigInt(s.snapshotId));
      assert.equal(root, s.root);
      for await (const c of service.snapshots.chunks(s.snapshotId)) assert.ok(verify(c.proof, root, c.leaf));
    }
  });

  test("seeding domains concurrently gives the same Datanets and contributions as one at a time", async () => {
    const opts = {
      owner: accounts[0],
      contributors: accounts.slice(1, 4),
      perDomain: 8,
      domains: ["adj.ppl", "noun.food", "verb.weather"],
      rejectEvery: 3,
    };
    const before = service.listDatanets().length;
    const parallel = await seedWordnet(service, { ...opts, concurrency: 3 });
    const serial = await seedWordnet(service, { ...opts, concurrency: 1 });
    const created = service.listDatanets().slice(before);
    // Created in domain order on both runs.
    assert.deepEqual(
      created.map((d) => d.name),
      [...opts.domains, ...opts.domains].map((d) => `WordNet ${d}`),
    );
    const content = (datanetId: bigint) =>
      service.listContributions(datanetId).map((c) => [c.contributor, c.contentHash, c.status]);
    for (let k = 0; k < 3; k++) {
      assert.deepEqual(content(parallel.snapshots[k].datanetId), content(serial.snapshots[k].datanetId));
      assert.equal(parallel.snapshots[k].chunks, serial.snapshots[k].chunks);
    }
    assert.equal(parallel.rejected, serial.rejected);
    assert.ok(parallel.rejected > 0);
  });
});
