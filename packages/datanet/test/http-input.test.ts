// Input the HTTP API used to misread: loose ids, empty queries, wrong Datanet in the path, unknown
// snapshots, oversized or escape-laden names, bad UTF-8 in JSON, mismatched signatures, and uploads
// whose signature can be refused before the content is read. Real anvil, real fastify on 127.0.0.1.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { contentHashOf } from "../src/ingest.ts";
import type { DatanetService } from "../src/service.ts";
import { accounts, signContribution, startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";
import { expectError, serveDatanetApi, type TestApi } from "./http-helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const MAX_UPLOAD = 16 * 1024;

describe("HTTP input checks (real fastify, real anvil)", () => {
  let chain: TestChain;
  let service: DatanetService;
  let api: TestApi;
  const [owner, , alice, bob] = accounts;
  let first: bigint;
  let second: bigint;

  before(async () => {
    chain = await startTestChain();
    service = await chain.open(tempDir("datanet-http-input-"), { limits: { maxUploadBytes: MAX_UPLOAD } });
    api = await serveDatanetApi(service, { devSigning: true });
    first = (await service.createDatanet({ owner: owner.address, name: "First" })).id;
    second = (await service.createDatanet({ owner: owner.address, name: "Second" })).id;
  });

  after(async () => {
    await api?.close();
    service?.close();
    await chain?.stop();
  });

  test("ids are canonical decimals: 0x1, 1e1, padded and zero-led ids are refused", async () => {
    for (const id of ["0x1", "1e1", "%20%201", "01", "1.0", "-1"]) {
      await expectError(await fetch(`${api.base}/datanets/${id}`), 400, "invalid_id", /decimal digits/);
    }
    assert.equal((await fetch(`${api.base}/datanets/${first}`)).status, 200);
  });

  test("an empty or malformed ?leaf= is refused instead of meaning leaf 0", async () => {
    for (const q of ["leaf=", "leaf=abc", "leaf=0x0", "contribution=1&chunk="]) {
      await expectError(await fetch(`${api.base}/snapshots/1/proof?${q}`), 400, "invalid_id");
    }
  });

  test("POST /datanets/:id/curate honours :id", async () => {
    const text = enc("Tide tables list the predicted times and heights of high and low water at a port.");
    const row = await service.contribute({
      datanetId: first,
      contributor: alice.address,
      signature: await signContribution(service, alice, first, text),
      license: "CC0-1.0",
      format: "text",
      content: text,
    });
    const decisions = [{ contributionId: Number(row.id), accept: true }];
    await expectError(
      await api.post("/datanets/9999/curate", { curator: owner.address, decisions }),
      404,
      "unknown_datanet",
    );
    await expectError(
      await api.post(`/datanets/${second}/curate`, { curator: owner.address, decisions }),
      400,
      "wrong_datanet",
      new RegExp(`belongs to Datanet ${first}, not Datanet ${second}`),
    );
    assert.equal(service.getContribution(row.id).status, "pending");
    const ok = await api.post(`/datanets/${first}/curate`, { curator: owner.address, decisions });
    assert.equal(ok.status, 200);
    assert.equal(service.getContribution(row.id).status, "accepted");
  });

  test("the licence check of an unknown snapshot is a 404, not 'no licence'", async () => {
    await expectError(
      await fetch(`${api.base}/snapshots/4242/license/${bob.address}`),
      404,
      "unknown_snapshot",
    );
  });

  test("names with terminal escapes, oversized descriptions and bad UTF-8 bodies are refused", async () => {
    const before = service.listDatanets().length;
    await expectError(
      await api.post("/datanets", { owner: owner.address, name: "evil\u001b[31mRED\nline2" }),
      400,
      "invalid_name",
      /control characters.*U\+001B/,
    );
    await expectError(
      await api.post("/datanets", { owner: owner.address, name: "ok", description: "x\u001b]0;title\u0007" }),
      400,
      "invalid_description",
    );
    await expectError(
      await api.post("/datanets", { owner: owner.address, name: "Big", description: "d".repeat(900 * 1024) }),
      400,
      "description_too_long",
      /at most 4096 bytes/,
    );
    const badUtf8 = new Uint8Array([...enc(`{"owner":"${owner.address}","name":"caf`), 0xe9, ...enc(`"}`)]);
    const offset = badUtf8.indexOf(0xe9);
    await expectError(
      await api.post("/datanets", badUtf8),
      400,
      "invalid_utf8",
      new RegExp(`offset ${offset}\\b`),
    );
    assert.equal(service.listDatanets().length, before);
    const multiline = await api.post("/datanets", {
      owner: owner.address,
      name: "Tabs and newlines",
      description: "line one\n\tline two",
    });
    assert.equal(multiline.status, 201);
  });

  test("GET /datanets is paginated with metadata", async () => {
    const all = service.listDatanets().map((d) => Number(d.id));
    assert.ok(all.length >= 3);
    const page1 = (await (await fetch(`${api.base}/datanets?limit=2`)).json()) as {
      data: { id: number }[];
      has_more: boolean;
      next_after: number | null;
    };
    assert.deepEqual(
      page1.data.map((d) => d.id),
      all.slice(0, 2),
    );
    assert.equal(page1.has_more, true);
    assert.equal(page1.next_after, all[1]);
    const rest = (await (
      await fetch(`${api.base}/datanets?limit=1000&after=${page1.next_after}`)
    ).json()) as {
      data: { id: number }[];
      has_more: boolean;
      next_after: number | null;
    };
    assert.deepEqual(
      rest.data.map((d) => d.id),
      all.slice(2),
    );
    assert.equal(rest.has_more, false);
    assert.equal(rest.next_after, null);
    await expectError(await fetch(`${api.base}/datanets?limit=0`), 400, "invalid_id");
    const contributions = (await (
      await fetch(`${api.base}/datanets/${first}/contributions?limit=1`)
    ).json()) as {
      data: { id: number }[];
      has_more: boolean;
      next_after: number | null;
    };
    assert.equal(contributions.data.length, 1);
    assert.equal(contributions.has_more, false);
    assert.equal(contributions.next_after, null);
  });

  test("a signature over another Datanet says it does not match (datanetId, contentHash)", async () => {
    const text = enc("Lock keepers raise and lower boats between stretches of a canal at different levels.");
    const res = await api.upload(
      second,
      {
        contributor: bob.address,
        signature: await signContribution(service, bob, first, text),
        license: "CC0-1.0",
      },
      text,
    );
    await expectError(
      res,
      403,
      "bad_signature",
      new RegExp(`does not match \\(datanetId ${second}, contentHash 0x[0-9a-f]{64}\\)`),
    );
  });

  test("with contentHash declared, a bad signature is refused before the content is read", async () => {
    const blobsBefore = service.db.listStaged().length;
    // Larger than the upload limit: reading it would answer 413, so a 403 shows the file was not read.
    const big = new Uint8Array(MAX_UPLOAD * 4).fill(0x61);
    const declared = contentHashOf(enc("something else entirely"), "text");
    const res = await api.upload(
      first,
      {
        contributor: bob.address,
        signature: await signContribution(service, alice, first, enc("something else entirely")),
        contentHash: declared,
        license: "CC0-1.0",
      },
      big,
    );
    await expectError(res, 403, "bad_signature", /does not match/);
    // A declared hash the content does not have is refused too.
    const text = enc("Harbour pilots board arriving ships to guide them through the approach channel.");
    const claimed = enc("a different text");
    const mismatch = await api.upload(
      first,
      {
        contributor: bob.address,
        signature: await signContribution(service, bob, first, claimed),
        contentHash: contentHashOf(claimed, "text"),
        license: "CC0-1.0",
      },
      text,
    );
    await expectError(mismatch, 400, "content_hash_mismatch");
    assert.equal(service.db.listStaged().length, blobsBefore);
  });
});
