// Ids are uint256 on-chain and bigint from the SQL edge inward: one above 2^32 (and one above 2^53,
// which a JS number would round) comes back exactly through the service, and the HTTP API writes it
// as the same JSON number, refusing in its 400 form a path id it could not write back exactly.
// Real SQLite file, real fastify on 127.0.0.1; rows are written through the db layer as the chain
// follower writes them.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { Address, Hex } from "viem";
import type { ContributionRow } from "../src/db.ts";
import { DatanetService } from "../src/service.ts";
import { tempDir } from "./chain-helpers.ts";
import { serveDatanetApi, type TestApi } from "./http-helpers.ts";

const DATANET = 2n ** 32n + 5n;
const CONTRIBUTION = 2n ** 40n + 3n;
const SNAPSHOT = 2n ** 33n + 7n;
const BEYOND_NUMBER = 2n ** 60n + 1n; // Number(2n ** 60n + 1n) === 2 ** 60: rounded
const OWNER: Address = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const HASH: Hex = `0x${"ab".repeat(32)}`;

function contribution(id: bigint, datanetId: bigint): ContributionRow {
  return {
    id,
    datanetId,
    contributor: OWNER,
    cid: "",
    metaCid: "",
    contentHash: HASH,
    format: "text",
    license: "CC0-1.0",
    source: "",
    signature: "",
    byteSize: 12,
    chunkCount: 0,
    status: "pending",
    contentState: "missing",
    block: 9,
    txHash: HASH,
  };
}

describe("ids above 2^32 (real SQLite, real fastify)", () => {
  let service: DatanetService;
  let api: TestApi;

  before(async () => {
    service = new DatanetService({ dataDir: tempDir("datanet-large-ids-") });
    const { db } = service;
    for (const id of [DATANET, BEYOND_NUMBER]) {
      db.upsertDatanet({
        id,
        owner: OWNER,
        name: `Datanet ${id}`,
        description: "",
        metadataUri: "",
        licensePrice: "0",
        createdBlock: 3,
      });
    }
    db.insertContribution(contribution(CONTRIBUTION, DATANET), []);
    db.insertContribution(contribution(BEYOND_NUMBER, BEYOND_NUMBER), []);
    db.insertSnapshot(
      {
        id: SNAPSHOT,
        datanetId: DATANET,
        version: 1,
        root: HASH,
        chunkCount: 0,
        contributionCount: 0,
        manifestCid: "",
        block: 10,
        txHash: HASH,
      },
      [],
    );
    api = await serveDatanetApi(service);
  });

  after(async () => {
    await api?.close();
    service?.close();
  });

  test("the service returns the ids exactly as stored", () => {
    const datanet = service.getDatanet(DATANET);
    assert.equal(datanet.id, DATANET);
    assert.deepEqual(
      datanet.snapshots.map((s) => [s.id, s.datanetId, s.version]),
      [[SNAPSHOT, DATANET, 1]],
    );
    assert.deepEqual(
      service.listContributions(DATANET).map((c) => [c.id, c.datanetId, c.byteSize]),
      [[CONTRIBUTION, DATANET, 12]],
    );
    assert.equal(service.getContribution(CONTRIBUTION).datanetId, DATANET);
    assert.equal(service.getSnapshot(SNAPSHOT).datanetId, DATANET);
    assert.deepEqual(
      service.listDatanets({ afterId: DATANET }).map((d) => d.id),
      [BEYOND_NUMBER],
    );
    // Past 2^53 too: a number would have come back as 2^60.
    assert.equal(service.getContribution(BEYOND_NUMBER).id, BEYOND_NUMBER);
    assert.equal(service.listContributions(BEYOND_NUMBER)[0].datanetId, BEYOND_NUMBER);
  });

  test("the HTTP API writes them as the same JSON numbers", async () => {
    const res = await fetch(`${api.base}/datanets/${DATANET}`);
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, new RegExp(`"id":${DATANET}[,}]`));
    const body = JSON.parse(text) as { id: number; snapshots: { id: number; datanetId: number }[] };
    assert.equal(body.id, Number(DATANET));
    assert.deepEqual(
      body.snapshots.map((s) => [s.id, s.datanetId]),
      [[Number(SNAPSHOT), Number(DATANET)]],
    );
    const contribution = (await (await fetch(`${api.base}/contributions/${CONTRIBUTION}`)).json()) as {
      id: number;
      datanetId: number;
    };
    assert.deepEqual([contribution.id, contribution.datanetId], [Number(CONTRIBUTION), Number(DATANET)]);
    const page = (await (await fetch(`${api.base}/datanets/${DATANET}/contributions?limit=1`)).json()) as {
      data: { id: number }[];
      next_after: number | null;
    };
    assert.deepEqual(
      page.data.map((c) => c.id),
      [Number(CONTRIBUTION)],
    );
  });

  test("a path id beyond 2^53 - 1 is refused with the 400 error, not rounded", async () => {
    for (const path of [`/datanets/${BEYOND_NUMBER}`, `/contributions/${BEYOND_NUMBER}`]) {
      const res = await fetch(`${api.base}${path}`);
      assert.equal(res.status, 400, path);
      const { error } = (await res.json()) as { error: { type: string; code: string; message: string } };
      assert.equal(error.type, "invalid_request_error");
      assert.equal(error.code, "invalid_id");
      assert.match(error.message, /decimal digits/);
    }
  });
});
