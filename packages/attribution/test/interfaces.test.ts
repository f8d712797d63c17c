import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Fastify, { type FastifyInstance } from "fastify";
import {
  attributeSpanV1,
  attributionRoutes,
  IndexFormatError,
  indexSnapshotExport,
  nfcBytes,
  ProofError,
  renderAttribution,
  type SpanChunk,
  SpanIndex,
} from "../src/index.ts";
import { makeSnapshot } from "./snapshot.ts";

const chunks: SpanChunk[] = [
  { contributionId: 1n, chunkIndex: 0, text: "Zebras graze quietly near the river." },
  { contributionId: 5n, chunkIndex: 3, text: "Kangaroos jump over fences at dawn." },
];
const output = "Zebras graze quietly near the river; kangaroos jump over fences!";
const dir = mkdtempSync(join(tmpdir(), "attribution-"));

function writeExport(path: string, rows: SpanChunk[], root: string) {
  writeFileSync(join(path, "manifest.json"), JSON.stringify({ kind: "openledger.snapshot/1", root }));
  writeFileSync(
    join(path, "dataset.jsonl"),
    rows
      .map((c) =>
        JSON.stringify({ text: c.text, contributionId: String(c.contributionId), chunkIndex: c.chunkIndex }),
      )
      .join("\n"),
  );
}

describe("snapshot exports", () => {
  test("an export whose chunks rebuild its root is indexed", () => {
    const exp = mkdtempSync(join(dir, "export-"));
    const { root } = makeSnapshot(chunks);
    writeExport(exp, chunks, root);
    const index = indexSnapshotExport(exp);
    assert.equal(index.root, root);
    assert.equal(attributeSpanV1(output, [index]).credits.length, 2);
  });
  test("a tampered export is rejected", () => {
    const exp = mkdtempSync(join(dir, "export-"));
    const { root } = makeSnapshot(chunks);
    writeExport(exp, [{ ...chunks[0], text: "Zebras graze loudly near the river." }, chunks[1]], root);
    assert.throws(() => indexSnapshotExport(exp), ProofError);
    assert.throws(() => indexSnapshotExport(join(dir, "nowhere")), IndexFormatError);
  });
});

describe("renderAttribution", () => {
  test("marks spans and lists credits", () => {
    const r = attributeSpanV1(output, [SpanIndex.build(chunks, `0x${"ab".repeat(32)}`)]);
    const text = renderAttribution(nfcBytes(output), r, { color: false });
    assert.match(
      text,
      /^\[\[Zebras graze quietly near the river\]\]#1; \[\[kangaroos jump over fences\]\]#5!/,
    );
    assert.match(text, /1\s+60\.3774 %\s+64\s+1\s+chunk 0 word 0/);
    assert.ok(renderAttribution(nfcBytes(output), r, { color: true }).startsWith("\u001b[1;32mZebras"));
  });
});

describe("POST /v1/attribution", () => {
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    const path = join(dir, "a.idx");
    SpanIndex.build(chunks, `0x${"ab".repeat(32)}`).writeFile(path);
    app = Fastify();
    await app.register(attributionRoutes, { snapshots: { demo: path } });
    base = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => app.close());
  const post = (body: string) =>
    fetch(`${base}/v1/attribution`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });

  test("attributes a text against named snapshots", async () => {
    const res = await post(JSON.stringify({ text: output, snapshots: ["demo"] }));
    assert.equal(res.status, 200);
    const json = (await res.json()) as { credits: { contributionId: string; share: number }[] };
    assert.deepEqual(
      json.credits.map((c: { contributionId: string; share: number }) => [c.contributionId, c.share]),
      [
        ["1", 603774],
        ["5", 396226],
      ],
    );
  });
  test("rejects unknown snapshots, bad bodies and oversized outputs with error JSON", async () => {
    let res = await post(JSON.stringify({ text: output, snapshots: ["nope"] }));
    assert.equal(res.status, 404);
    assert.equal(
      ((await res.json()) as { error: { code: string; type: string; message: string } }).error.code,
      "unknown_snapshot",
    );
    res = await post(JSON.stringify({ text: 7, snapshots: ["demo"] }));
    assert.equal(res.status, 400);
    res = await post("{not json");
    assert.equal(res.status, 400);
    assert.equal(
      ((await res.json()) as { error: { code: string; type: string; message: string } }).error.type,
      "invalid_request_error",
    );
    res = await post(JSON.stringify({ text: "é".repeat(20_000), snapshots: ["demo"] }));
    assert.equal(res.status, 413);
    assert.match(
      ((await res.json()) as { error: { code: string; type: string; message: string } }).error.message,
      /at most 32768/,
    );
  });
});
