// An interrupted WordNet seed (a failing key mid-domain, then Ctrl-C between domains) resumes where it
// stopped: no Datanet is created twice, nothing staged or submitted is sent again, and the result has
// the same contents as a seed that ran straight through. Real anvil and SQLite.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { LocalAccount } from "viem";
import { SeedInterruptedError, seedWordnet, wordnetSeedUnfinished } from "../src/seed.ts";
import type { DatanetService } from "../src/service.ts";
import { accounts, startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";

const DOMAINS = ["adj.ppl", "noun.food", "verb.weather"];
const OPTS = { owner: accounts[0], perDomain: 8, domains: DOMAINS, rejectEvery: 3, concurrency: 1 };

/** The same keys, except that signing fails from the `failAt`-th signature on (a wallet that went away). */
function failingAfter(list: readonly LocalAccount[], failAt: number): LocalAccount[] {
  let signed = 0;
  return list.map(
    (a): LocalAccount => ({
      ...a,
      signTypedData: (async (args: Parameters<LocalAccount["signTypedData"]>[0]) => {
        if (++signed >= failAt) throw new Error("the signer went away");
        return a.signTypedData(args);
      }) as LocalAccount["signTypedData"],
    }),
  );
}

describe("WordNet seed resumes after an interruption", () => {
  let chain: TestChain;
  let service: DatanetService;
  const dataDir = tempDir("datanet-seed-resume-");
  const contributors = accounts.slice(1, 4);

  before(async () => {
    chain = await startTestChain();
    service = await chain.open(dataDir);
  });
  after(async () => {
    service?.close();
    await chain?.stop();
  });

  const content = (datanetId: bigint) =>
    service
      .listContributions(datanetId)
      .map((c) => `${c.contributor} ${c.contentHash} ${c.status}`)
      .sort();

  test("stopped mid-domain and between domains, the next runs finish the same seed", async () => {
    // 1. The signer fails in the second domain: the first is snapshotted, the second half staged.
    await assert.rejects(
      seedWordnet(service, { ...OPTS, contributors: failingAfter(contributors, 12) }),
      /the signer went away/,
    );
    assert.equal(wordnetSeedUnfinished(service), true);
    assert.equal(service.listDatanets().length, 3);
    assert.ok(service.db.listStaged().length > 0, "some uploads were left staged");

    // 2. Ctrl-C (an abort) once the next domain is done.
    const stop = new AbortController();
    await assert.rejects(
      seedWordnet(service, {
        ...OPTS,
        contributors,
        signal: stop.signal,
        onProgress: (phase) => {
          if (phase === "snapshot") stop.abort();
        },
      }),
      SeedInterruptedError,
    );
    assert.equal(wordnetSeedUnfinished(service), true);

    // 3. Resumed to the end; still three Datanets, each snapshotted, nothing pending or staged.
    const resumed = await seedWordnet(service, { ...OPTS, contributors });
    assert.equal(wordnetSeedUnfinished(service), false);
    const names = service.listDatanets().map((d) => d.name);
    assert.deepEqual(
      names,
      DOMAINS.map((d) => `WordNet ${d}`),
    );
    assert.equal(resumed.snapshots.length, 3);
    for (const d of service.listDatanets()) {
      const view = service.getDatanet(d.id);
      assert.equal(view.snapshots.length, 1, `${d.name} has one snapshot`);
      assert.equal(view.counts.pending, 0, `${d.name} has nothing pending`);
    }
    assert.deepEqual(service.db.listStaged(), []);

    // 4. A seed that ran straight through (a new set, since the first finished) has the same contents.
    const straight = await seedWordnet(service, { ...OPTS, contributors });
    assert.equal(service.listDatanets().length, 6);
    for (let k = 0; k < 3; k++) {
      assert.deepEqual(content(resumed.snapshots[k].datanetId), content(straight.snapshots[k].datanetId));
      assert.equal(resumed.snapshots[k].chunks, straight.snapshots[k].chunks);
    }
    assert.equal(resumed.accepted, straight.accepted);
    assert.equal(resumed.rejected, straight.rejected);
  });
});
