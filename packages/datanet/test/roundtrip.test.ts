import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { devAccounts } from "@openledger/devnet";
import { chunkContentHash, chunkLeaf, verify } from "@openledger/merkle";
import { claimRoyalty, connect, contribute, spdxToBytes32 } from "@openledger/sdk";
import { keccak256, toHex } from "viem";
import type { DatanetService } from "../src/service.ts";
import { accounts, signContribution, startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);

const ARTICLE = `# Tides

Tides are the rise and fall of sea levels caused by the combined effects of the gravitational forces
exerted by the Moon and the Sun, and the rotation of the Earth.

## Spring and neap tides

When the Sun and Moon are aligned the tidal range is largest: a spring tide. When they are at right
angles the range is smallest: a neap tide. Coastal engineers plan harbour works around both.

## Prediction

Tide tables are computed from harmonic constituents measured at each port over many years.`;

const JSONL = [
  { text: "Photosynthesis turns light, water and carbon dioxide into sugar and oxygen inside chloroplasts." },
  { text: "Mitochondria release the energy stored in sugar through cellular respiration, producing ATP." },
  { text: "Ribosomes read messenger RNA and assemble amino acids into proteins, one codon at a time." },
]
  .map((r) => JSON.stringify(r))
  .join("\n");

const CSV = `id,body
1,"Granite is an intrusive igneous rock, rich in quartz and feldspar, that cools slowly underground."
2,"Basalt is an extrusive volcanic rock that cools quickly, so its crystals stay very small."
3,"Marble forms when limestone is metamorphosed by heat and pressure, recrystallising its calcite."`;

const CHAT = JSON.stringify({
  messages: [
    { role: "user", content: "Why is the sky blue during the day but red at sunset?" },
    {
      role: "assistant",
      content:
        "Air molecules scatter short blue wavelengths much more than red ones. At sunset light crosses far more air, so most blue is scattered away and reds remain.",
    },
  ],
});

function dump(service: DatanetService) {
  const q = (sql: string) => service.db.db.prepare(sql).all();
  return {
    datanets: q("SELECT * FROM datanets ORDER BY id"),
    contributions: q("SELECT * FROM contributions ORDER BY id"),
    chunks: q(
      "SELECT contribution_id, idx, byte_start, byte_end, content_hash, text FROM chunks ORDER BY 1, 2",
    ),
    snapshots: q("SELECT * FROM snapshots ORDER BY id"),
    entries: q("SELECT * FROM snapshot_entries ORDER BY 1, 2"),
    licenses: q("SELECT * FROM licenses ORDER BY 1, 2"),
  };
}

describe("round trip on anvil: contribute, curate, snapshot, prove, license, rebuild", () => {
  let chain: TestChain;
  let service: DatanetService;
  const dataDir = tempDir("datanet-rt-");
  const [owner, curator, alice, bob, buyer] = accounts;

  before(async () => {
    chain = await startTestChain();
    service = await chain.open(dataDir, { maxChunkBytes: 160 });
  });

  after(async () => {
    service?.close();
    await chain?.stop();
  });

  test("the full flow, every chunk proven against the on-chain root", async () => {
    const datanet = await service.createDatanet({
      owner: owner.address,
      name: "Natural science",
      description: "Short explanations",
      licensePrice: 5n * 10n ** 18n,
      curators: [curator.address],
    });
    assert.equal(datanet.id, 1n);
    assert.equal(datanet.name, "Natural science");

    const uploads = [
      { who: alice, bytes: enc(ARTICLE), format: "markdown" as const, extract: {} },
      { who: bob, bytes: enc(JSONL), format: "jsonl" as const, extract: {} },
      { who: alice, bytes: enc(CSV), format: "csv" as const, extract: { column: "body" } },
      { who: bob, bytes: enc(CHAT), format: "jsonl" as const, extract: {} },
      {
        who: alice,
        bytes: enc("A rejected note about nothing in particular, kept short."),
        format: "text" as const,
        extract: {},
      },
    ];
    const rows = [];
    for (const u of uploads) {
      const signature = await signContribution(service, u.who, datanet.id, u.bytes, u.format, u.extract);
      rows.push(
        await service.contribute({
          datanetId: datanet.id,
          contributor: u.who.address,
          signature,
          license: "CC-BY-4.0",
          source: "round-trip test",
          format: u.format,
          extract: u.extract,
          content: u.bytes,
        }),
      );
    }
    assert.deepEqual(
      rows.map((r) => r.status),
      ["pending", "pending", "pending", "pending", "pending"],
    );
    assert.ok(rows[0].chunkCount > 1, "the article spans several chunks");
    const csv = service.getContribution(rows[2].id, { chunks: true });
    assert.equal(csv.chunks?.length, 3);
    assert.match(csv.chunks![0].text, /^Granite/);

    const curated = await service.curate(
      curator.address,
      rows.map((r, i) => ({ contributionId: r.id, accept: i < 4 })),
    );
    assert.deepEqual(
      curated.map((r) => r.status),
      ["accepted", "accepted", "accepted", "accepted", "rejected"],
    );

    let progressCalls = 0;
    const snap = await service.snapshot(owner.address, datanet.id, () => progressCalls++);
    assert.equal(snap.version, 1);
    assert.equal(snap.contributionCount, 4);
    assert.ok(progressCalls > 0);
    const onChainRoot = await service.registry.snapshotChunksRoot(BigInt(snap.id));
    assert.equal(onChainRoot, snap.root);

    let n = 0;
    for await (const c of service.snapshots.chunks(snap.id)) {
      assert.equal(c.leafIndex, n++);
      assert.equal(c.contentHash, chunkContentHash(c.text));
      assert.equal(c.leaf, chunkLeaf(c.contributionId, c.chunkIndex, c.contentHash));
      assert.ok(verify(c.proof, onChainRoot, c.leaf), `proof of leaf ${c.leafIndex}`);
    }
    assert.equal(n, snap.chunkCount);
    const expectedChunks = rows.slice(0, 4).reduce((s, r) => s + r.chunkCount, 0);
    assert.equal(n, expectedChunks);
    const p = await service.snapshots.proof(snap.id, { contributionId: rows[2].id, chunkIndex: 1 });
    assert.ok(verify(p.proof, onChainRoot, p.leaf));
    assert.notEqual(p.leaf, (await service.snapshots.proof(snap.id, { leafIndex: 0 })).leaf);

    const out = await service.snapshots.exportDataset(snap.id, join(dataDir, "export"));
    const lines = readFileSync(out.datasetPath, "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    assert.equal(lines.length, snap.chunkCount);
    const manifest = JSON.parse(readFileSync(out.manifestPath, "utf8"));
    assert.equal(manifest.root, snap.root);
    assert.deepEqual(
      manifest.contributions.map((c: { contributionId: string }) => BigInt(c.contributionId)),
      rows.slice(0, 4).map((r) => r.id),
    );
    for (const c of manifest.contributions) {
      const [from, to] = c.leafRange;
      for (let i = from; i < to; i++) assert.equal(lines[i].contributionId, c.contributionId);
    }

    await chain.fund(buyer.address, 100n * 10n ** 18n);
    assert.equal(await service.hasLicense(snap.id, buyer.address), false);
    const { price } = await service.buyLicense(buyer.address, snap.id);
    assert.equal(price, 5n * 10n ** 18n);
    assert.equal(await service.hasLicense(snap.id, buyer.address), true);
    assert.equal(await service.hasLicense(snap.id, bob.address), false);

    // The license fee's contributor share is claimable with the manifest's royalty proofs.
    const royalty = await service.snapshots.royaltyProof(snap.id, alice.address);
    const aliceChunks = rows
      .filter((r, i) => i < 4 && r.contributor === alice.address)
      .reduce((s, r) => s + r.chunkCount, 0);
    assert.equal(royalty.weight, BigInt(aliceChunks));
    const { walletClient } = await connect(chain.rpcUrl, devAccounts[2].privateKey);
    const { amount } = await claimRoyalty(walletClient!, {
      registry: chain.addresses.datanetRegistry,
      snapshotId: BigInt(snap.id),
      account: alice.address,
      weight: royalty.weight,
      proof: royalty.proof,
    });
    // ownerBps defaults to 2000; the contributors' part is rounded down to a multiple of the total
    // weight (the chunk count), so each contributor's royalty is exact
    const totalWeight = BigInt(snap.chunkCount);
    const contributorsShare = (price * 8000n) / 10000n - (((price * 8000n) / 10000n) % totalWeight);
    assert.equal(amount, (contributorsShare * BigInt(aliceChunks)) / totalWeight);
    assert.equal((contributorsShare * BigInt(aliceChunks)) % totalWeight, 0n);
    await assert.rejects(service.snapshots.royaltyProof(snap.id, buyer.address), /has no chunks/);
  });

  test("restart resumes; rebuilding from the chain alone gives the same state", async () => {
    const before = dump(service);
    assert.ok(before.contributions.length === 5);
    service.close();
    service = await chain.open(dataDir, { maxChunkBytes: 160 });
    assert.deepEqual(dump(service), before);

    // While the service is down, someone submits straight to the registry (no upload here): on restart
    // the follower resumes from its last block and records it with its content missing.
    const lastBlock = Number(service.db.getSync("lastBlock"));
    service.close();
    const { walletClient } = await connect(chain.rpcUrl, devAccounts[3].privateKey);
    await contribute(walletClient!, {
      registry: chain.addresses.datanetRegistry,
      datanetId: 1n,
      contentHash: keccak256(toHex("submitted elsewhere")),
      byteSize: 19n,
      license: spdxToBytes32("MIT"),
    });
    service = await chain.open(dataDir, { maxChunkBytes: 160 });
    assert.ok(Number(service.db.getSync("lastBlock")) > lastBlock);
    const outside = service.getContribution(6n);
    assert.equal(outside.contentState, "missing");
    assert.equal(outside.license, "MIT");
    assert.equal(outside.contributor, bob.address);
    const after = dump(service);
    assert.deepEqual({ ...after, contributions: after.contributions.slice(0, 5) }, before);
    const expected = after;

    service.close();
    for (const f of ["index.sqlite", "index.sqlite-wal", "index.sqlite-shm"])
      rmSync(join(dataDir, f), { force: true });
    service = await chain.open(dataDir, { maxChunkBytes: 160 });
    assert.deepEqual(dump(service), expected);
    await service.rebuild();
    assert.deepEqual(dump(service), expected);
    // proofs still work off the rebuilt index
    const snap = service.getSnapshot(1n);
    const p = await service.snapshots.proof(1n, { leafIndex: snap.chunkCount - 1 });
    assert.ok(verify(p.proof, p.root, p.leaf));
    assert.equal(p.root, snap.root);
  });
});
