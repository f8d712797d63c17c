// Staged uploads have an owner and an expiry: an upload whose transaction never comes stops blocking
// its text once it expires (also across restarts), its owner can cancel it sooner, and HTTP clients
// can list, submit and cancel them. The clock is injected, so nothing here waits or reads the time.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DuplicateContentError, PermissionError } from "../src/errors.ts";
import type { DatanetService } from "../src/service.ts";
import { cancelStagedTypedData } from "../src/staging.ts";
import { accounts, stageText, startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";
import { serveDatanetApi, type TestApi } from "./http-helpers.ts";

const TTL = 60_000;
const TEXT =
  "Beekeepers smoke the hive entrance before opening it, which masks the alarm pheromone and keeps the colony calm.";

describe("staged uploads: owner, expiry, list, submit, cancel", () => {
  let chain: TestChain;
  let service: DatanetService;
  let api: TestApi;
  let clock = 1_000_000;
  const dataDir = tempDir("datanet-staged-");
  const [owner, , alice, bob] = accounts;
  let datanetId: bigint;

  const open = () => chain.open(dataDir, { stagedTtlMs: TTL, now: () => clock });

  before(async () => {
    chain = await startTestChain();
    service = await open();
    api = await serveDatanetApi(service, { devSigning: true });
    datanetId = (await service.createDatanet({ owner: owner.address, name: "Bees" })).id;
  });
  after(async () => {
    await api?.close();
    service?.close();
    await chain?.stop();
  });

  const stage = (who: (typeof accounts)[number], text: string) =>
    stageText(service, who, datanetId, text, "CC0-1.0");

  const cancelSignature = (who: (typeof accounts)[number], contentHash: `0x${string}`) =>
    who.signTypedData(
      cancelStagedTypedData(
        { chainId: service.registry.chainId, verifyingContract: service.registry.address },
        BigInt(datanetId),
        contentHash,
      ),
    );

  test("a staged upload is listed with its owner and expiry; only its owner can cancel it", async () => {
    const staged = await stage(alice, TEXT);
    const list = (await (await fetch(`${api.base}/datanets/${datanetId}/staged`)).json()) as {
      data: { contributor: string; contentHash: string; expiresAt: number; stagedAt: number }[];
    };
    assert.deepEqual(
      list.data.map((s) => [s.contributor, s.contentHash, s.expiresAt - s.stagedAt]),
      [[alice.address, staged.contentHash, TTL]],
    );
    const none = (await (
      await fetch(`${api.base}/datanets/${datanetId}/staged?contributor=${bob.address}`)
    ).json()) as { data: unknown[] };
    assert.equal(none.data.length, 0);
    // Someone else cannot squat or free it.
    await assert.rejects(stage(bob, TEXT), DuplicateContentError);
    const byBob = await api.post(`/datanets/${datanetId}/staged/${staged.contentHash}/cancel`, {
      signature: await cancelSignature(bob, staged.contentHash),
    });
    assert.equal(byBob.status, 403);
    assert.equal(((await byBob.json()) as { error: { code: string } }).error.code, "not_owner");
    await assert.rejects(
      service.cancelStaged(datanetId, staged.contentHash, { from: bob.address }),
      PermissionError,
    );
    // The owner can.
    const byAlice = await api.post(`/datanets/${datanetId}/staged/${staged.contentHash}/cancel`, {
      signature: await cancelSignature(alice, staged.contentHash),
    });
    assert.equal(byAlice.status, 200);
    assert.equal(service.db.listStaged().length, 0);
    assert.equal(await service.blobs.has(staged.contentCid), false, "its blobs are gone");
    const again = await stage(bob, TEXT);
    assert.equal(again.contributor, bob.address);
  });

  test("an expired staged upload stops blocking its text, also after a restart", async () => {
    const mine = await stage(bob, "Queen bees mate in flight, once, with a dozen or more drones.");
    clock += TTL + 1;
    await assert.rejects(
      service.submitStaged(bob.address, [mine]),
      (e: unknown) => e instanceof Error && /expired; upload it again/.test(e.message),
    );
    // A fresh process on the same data dir finds nothing live to block with.
    await api.close();
    service.close();
    service = await open();
    api = await serveDatanetApi(service, { devSigning: true });
    assert.deepEqual(await service.listStaged({ datanetId }), []);
    const retaken = await stage(alice, TEXT);
    assert.equal(retaken.contributor, alice.address);
  });

  test("staged uploads can be submitted over HTTP by their contributor", async () => {
    const [row] = await service.listStaged({ datanetId, contributor: alice.address });
    const wrong = await api.post(`/datanets/${datanetId}/staged/submit`, {
      contributor: bob.address,
      contentHashes: [row.contentHash],
    });
    assert.equal(wrong.status, 403);
    const res = await api.post(`/datanets/${datanetId}/staged/submit`, {
      contributor: alice.address,
      contentHashes: [row.contentHash],
    });
    assert.equal(res.status, 200);
    const { data } = (await res.json()) as { data: { contributor: string; status: string }[] };
    assert.deepEqual(
      data.map((c) => [c.contributor, c.status]),
      [[alice.address, "pending"]],
    );
    assert.deepEqual(await service.listStaged({ datanetId }), []);
  });
});
