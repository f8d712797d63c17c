import assert from "node:assert/strict";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { DatanetService } from "../src/service.ts";
import { accounts, signContribution, startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";
import { expectError, serveDatanetApi, type TestApi } from "./http-helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const MAX_UPLOAD = 64 * 1024;

function files(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...files(p));
    else out.push(p);
  }
  return out;
}

const TEXT_A =
  "The lighthouse keeper climbed the spiral stairs every evening at dusk, trimmed the wick, polished the great lens and watched the beam sweep across the dark water until dawn.";
const TEXT_A_PARAPHRASE =
  "The lighthouse keeper climbed the spiral stairs each evening at dusk, trimmed the wick, cleaned the great lens and watched the light sweep across the dark water until morning.";
const TEXT_B =
  "Sourdough bread rises because wild yeast and lactobacilli ferment the flour, producing carbon dioxide and the acids that give the crumb its tang.";

describe("HTTP API and hostile input (real fastify on 127.0.0.1, real anvil)", () => {
  let chain: TestChain;
  let service: DatanetService;
  let api: TestApi;
  const dataDir = tempDir("datanet-http-");
  const [owner, curator, alice, bob, , stranger] = accounts;
  let datanetId: bigint;

  before(async () => {
    chain = await startTestChain();
    service = await chain.open(dataDir, { limits: { maxUploadBytes: MAX_UPLOAD } });
    api = await serveDatanetApi(service, { devSigning: true });
  });

  after(async () => {
    await api?.close();
    service?.close();
    await chain?.stop();
  });

  const upload = (fields: Record<string, string>, bytes: Uint8Array, name = "c.txt", id = datanetId) =>
    api.upload(id, fields, bytes, name);

  async function signedFields(who = alice, bytes: Uint8Array, id = datanetId) {
    return {
      contributor: who.address,
      signature: await signContribution(service, who, id, bytes),
      license: "CC0-1.0",
      source: "http test",
    };
  }

  /** Everything persistent, to show a rejected request stored nothing. */
  function state() {
    return {
      blobs: files(join(dataDir, "blobs")).sort(),
      refs: files(join(dataDir, "refs")).sort(),
      staged: service.db.listStaged().length,
      contributions: service.db.db.prepare("SELECT COUNT(*) AS n FROM contributions").get(),
    };
  }

  test("create, upload, list, inspect", async () => {
    const res = await api.post("/datanets", {
      owner: owner.address,
      name: "Lighthouses",
      licensePrice: "1000",
      curators: [curator.address],
    });
    assert.equal(res.status, 201);
    datanetId = BigInt(((await res.json()) as { id: number }).id);
    const up = await upload(await signedFields(alice, enc(TEXT_A)), enc(TEXT_A));
    assert.equal(up.status, 201);
    const row = (await up.json()) as { id: number; status: string; contributor: string; cid: string };
    assert.equal(row.status, "pending");
    assert.equal(row.contributor, alice.address);
    assert.match(row.cid, /^bafkrei/);
    const list = (await (
      await fetch(`${api.base}/datanets/${datanetId}/contributions?status=pending`)
    ).json()) as {
      data: { id: number }[];
    };
    assert.deepEqual(
      list.data.map((c) => c.id),
      [row.id],
    );
    const one = (await (await fetch(`${api.base}/contributions/${row.id}?chunks=true`)).json()) as {
      chunks: { text: string }[];
    };
    assert.equal(one.chunks[0].text, TEXT_A);
    const all = (await (await fetch(`${api.base}/datanets`)).json()) as { data: unknown[] };
    assert.equal(all.data.length, 1);
  });

  test("invalid UTF-8 is rejected (400) and nothing is stored", async () => {
    const before = state();
    const bad = new Uint8Array([...enc("valid start "), 0xff, 0xfe, ...enc(" end")]);
    await expectError(
      await upload(await signedFields(alice, enc("x")), bad),
      400,
      "invalid_utf8",
      /offset 12/,
    );
    assert.deepEqual(state(), before);
  });

  test("an oversized upload is refused with 413 (declared and streamed) and nothing is stored", async () => {
    const before = state();
    const big = new Uint8Array(MAX_UPLOAD * 40).fill(0x61);
    await expectError(await upload(await signedFields(alice, big), big), 413, "payload_too_large");
    // streamed without a Content-Length: the server stops at the limit
    const boundary = "----datanet-test-boundary";
    const head = enc(
      `--${boundary}\r\nContent-Disposition: form-data; name="contributor"\r\n\r\n${alice.address}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="signature"\r\n\r\n0x${"11".repeat(65)}\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="license"\r\n\r\nMIT\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.txt"\r\n\r\n`,
    );
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent === 0) controller.enqueue(head);
        if (sent >= 2048 * MAX_UPLOAD) {
          controller.enqueue(enc(`\r\n--${boundary}--\r\n`));
          controller.close();
          return;
        }
        controller.enqueue(new Uint8Array(16 * 1024).fill(0x62));
        sent += 16 * 1024;
      },
    });
    const res = await fetch(`${api.base}/datanets/${datanetId}/contributions`, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body: stream,
      duplex: "half",
    } as RequestInit);
    await expectError(res, 413, "payload_too_large");
    assert.ok(sent < 2048 * MAX_UPLOAD, `server stopped reading early (client sent ${sent} bytes)`);
    console.log(`streamed upload: refused after the client sent ${sent} bytes (limit ${MAX_UPLOAD})`);
    assert.deepEqual(state(), before);
  });

  test("a forged contributor signature is refused (403) and nothing is stored", async () => {
    const before = state();
    const bytes = enc(TEXT_B);
    const forged = { ...(await signedFields(bob, bytes)), contributor: alice.address };
    await expectError(await upload(forged, bytes), 403, "bad_signature", /not by contributor/);
    assert.deepEqual(state(), before);
  });

  test("a contribution to a Datanet that does not exist is refused (404)", async () => {
    const before = state();
    const bytes = enc(TEXT_B);
    await expectError(
      await upload(await signedFields(alice, bytes, 999n), bytes, "c.txt", 999n),
      404,
      "unknown_datanet",
      /Datanet 999/,
    );
    assert.deepEqual(state(), before);
  });

  test("exact and near duplicates are refused (409) naming the matching contribution", async () => {
    const before = state();
    await expectError(
      await upload(await signedFields(bob, enc(TEXT_A)), enc(TEXT_A)),
      409,
      "exact_duplicate",
    );
    const para = enc(TEXT_A_PARAPHRASE);
    const body = await expectError(await upload(await signedFields(bob, para), para), 409, "near_duplicate");
    assert.match(body.error.message, /of chunk 0 of contribution 1 in Datanet/);
    assert.deepEqual(state(), before);
  });

  test("unsupported formats and malformed requests get named errors", async () => {
    const bytes = enc(TEXT_B);
    await expectError(
      await upload(await signedFields(bob, bytes), bytes, "paper.pdf"),
      400,
      "unsupported_format",
      /\.pdf/,
    );
    await expectError(
      await upload({ ...(await signedFields(bob, bytes)), format: "docx" }, bytes),
      400,
      "unsupported_format",
      /"docx"/,
    );
    await expectError(await upload({ contributor: bob.address }, bytes), 400, "missing_field", /signature/);
    const res = await fetch(`${api.base}/datanets`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(res.status, 400);
    assert.ok(((await res.json()) as { error: { message: string } }).error.message);
    await expectError(await fetch(`${api.base}/datanets/abc`), 400, "invalid_id");
    await expectError(await fetch(`${api.base}/snapshots/77/proof?leaf=0`), 404, "unknown_snapshot");
  });

  test("curation by a non-curator is refused (403) and changes nothing", async () => {
    const res = await api.post(`/datanets/${datanetId}/curate`, {
      curator: stranger.address,
      decisions: [{ contributionId: 1, accept: true }],
    });
    await expectError(res, 403, "not_curator", /NotCurator/);
    assert.equal(service.getContribution(1n).status, "pending");
  });

  test("snapshotting with nothing accepted is refused (400)", async () => {
    await expectError(
      await api.post(`/datanets/${datanetId}/snapshots`, { owner: owner.address }),
      400,
      "nothing_accepted",
    );
    assert.equal(service.getDatanet(datanetId).snapshots.length, 0);
  });

  test("curate, snapshot, proof and license over HTTP", async () => {
    const bytes = enc(TEXT_B);
    const up = await upload(await signedFields(bob, bytes), bytes);
    assert.equal(up.status, 201);
    const cur = await api.post(`/datanets/${datanetId}/curate`, {
      curator: curator.address,
      decisions: [
        { contributionId: 1, accept: true },
        { contributionId: 2, accept: true },
      ],
    });
    assert.equal(cur.status, 200);
    const snap = await api.post(`/datanets/${datanetId}/snapshots`, { owner: owner.address });
    assert.equal(snap.status, 201);
    const { id, root } = (await snap.json()) as { id: number; root: string };
    const proof = (await (
      await fetch(`${api.base}/snapshots/${id}/proof?contribution=2&chunk=0`)
    ).json()) as {
      root: string;
      leafIndex: number;
    };
    assert.equal(proof.root, root);
    assert.equal(proof.leafIndex, 1);
    await chain.fund(bob.address, 10_000n);
    const lic = await api.post(`/snapshots/${id}/license`, { buyer: bob.address });
    assert.equal(lic.status, 201);
    const has = (await (await fetch(`${api.base}/snapshots/${id}/license/${bob.address}`)).json()) as {
      hasLicense: boolean;
    };
    assert.equal(has.hasLicense, true);
    await expectError(
      await api.post(`/snapshots/${id}/license`, { buyer: bob.address }),
      409,
      "exact_duplicate",
    );
  });
});
