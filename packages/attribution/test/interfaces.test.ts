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
  // Two snapshots: the original (contribution 1) in one, a copy extended by a word on each side in the other.
  const extended: SpanChunk[] = [
    { contributionId: 9n, chunkIndex: 0, text: "and zebras graze quietly near the river, while" },
  ];
  const ROOT_A = `0x${"ab".repeat(32)}` as const;
  const ROOT_B = `0x${"cd".repeat(32)}` as const;
  const served = [
    { name: "demo", path: join(dir, "a.idx") },
    { name: "copies@1", path: join(dir, "b.idx") },
  ];
  before(async () => {
    SpanIndex.build(chunks, ROOT_A).writeFile(served[0].path);
    SpanIndex.build(extended, ROOT_B).writeFile(served[1].path);
    app = Fastify();
    await app.register(attributionRoutes, { snapshots: () => served });
    base = await app.listen({ host: "127.0.0.1", port: 0 });
  });
  after(() => app.close());
  const post = (body: string) =>
    fetch(`${base}/v1/attribution`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
    });
  type ErrorJson = { error: { code: string; type: string; message: string } };
  type ResultJson = {
    algorithm: string;
    roots: string[];
    credits: { contributionId: string; share: number }[];
  };
  const creditsOf = (json: ResultJson) => json.credits.map((c) => [c.contributionId, c.share]);

  test("attributes a text against named snapshots", async () => {
    const res = await post(JSON.stringify({ text: output, snapshots: ["demo"] }));
    assert.equal(res.status, 200);
    const json = (await res.json()) as ResultJson;
    assert.equal(json.algorithm, "span-v2");
    assert.deepEqual(creditsOf(json), [
      ["1", 603774],
      ["5", 396226],
    ]);
  });

  test("no snapshots named: every served snapshot, queried together (span-v2 by default, span-v1 on request)", async () => {
    const text = "Look: and zebras graze quietly near the river, while we watch.";
    const all = (await (await post(JSON.stringify({ text }))).json()) as ResultJson;
    assert.deepEqual(all.roots, [ROOT_A, ROOT_B]);
    assert.deepEqual(creditsOf(all), [["1", 1_000_000]]);
    const v1 = (await (await post(JSON.stringify({ text, algorithm: "span-v1" }))).json()) as ResultJson;
    assert.equal(v1.algorithm, "span-v1");
    assert.deepEqual(creditsOf(v1), [["9", 1_000_000]]);
  });

  test("GET /v1/attribution/snapshots lists the names and roots accepted; a newly served one appears at once", async () => {
    const list = async () =>
      (
        (await (await fetch(`${base}/v1/attribution/snapshots`)).json()) as {
          data: { name: string; root: string }[];
        }
      ).data;
    assert.deepEqual(
      (await list()).map((s) => [s.name, s.root]),
      [
        ["demo", ROOT_A],
        ["copies@1", ROOT_B],
      ],
    );
    const path = join(dir, "c.idx");
    SpanIndex.build(
      [{ contributionId: 20n, chunkIndex: 0, text: "Platypuses lay leathery eggs in riverbank burrows." }],
      `0x${"ef".repeat(32)}`,
    ).writeFile(path);
    served.push({ name: "late@1", path });
    try {
      assert.deepEqual(
        (await list()).map((s) => s.name),
        ["demo", "copies@1", "late@1"],
      );
      const json = (await (
        await post(JSON.stringify({ text: "platypuses lay leathery eggs in riverbank burrows" }))
      ).json()) as ResultJson;
      assert.deepEqual(creditsOf(json), [["20", 1_000_000]]);
    } finally {
      served.pop();
    }
  });

  test("hostile snapshot names are unknown (404), not a server error", async () => {
    for (const name of ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf"]) {
      const res = await post(JSON.stringify({ text: output, snapshots: [name] }));
      assert.equal(res.status, 404, name);
      assert.equal(((await res.json()) as ErrorJson).error.code, "unknown_snapshot");
    }
    // A body with a __proto__ key is refused by the JSON parser.
    const res = await post('{"text":"x","__proto__":{"snapshots":["demo"]}}');
    assert.equal(res.status, 400);
  });

  test("more names than are served, an empty list or an unknown algorithm: 400", async () => {
    let res = await post(JSON.stringify({ text: output, snapshots: ["demo", "copies@1", "x", "y"] }));
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as ErrorJson).error.code, "too_many_snapshots");
    res = await post(JSON.stringify({ text: output, snapshots: [] }));
    assert.equal(res.status, 400);
    res = await post(JSON.stringify({ text: output, algorithm: "span-v9" }));
    assert.equal(res.status, 400);
    // Repeating a served name is the same as naming it once.
    res = await post(JSON.stringify({ text: output, snapshots: ["demo", "demo", "demo"] }));
    assert.equal(res.status, 200);
  });

  test("rejects unknown snapshots, bad bodies and oversized outputs with error JSON", async () => {
    let res = await post(JSON.stringify({ text: output, snapshots: ["nope"] }));
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as ErrorJson).error.code, "unknown_snapshot");
    res = await post(JSON.stringify({ text: 7, snapshots: ["demo"] }));
    assert.equal(res.status, 400);
    res = await post("{not json");
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as ErrorJson).error.type, "invalid_request_error");
    res = await post(JSON.stringify({ text: "é".repeat(20_000), snapshots: ["demo"] }));
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as ErrorJson).error.message, /at most 32768/);
  });
});

describe("attributionRoutes with a fixed name -> file record", () => {
  test("Object.prototype names are not served; nothing served gives 503", async () => {
    const path = join(dir, "fixed.idx");
    SpanIndex.build(chunks, `0x${"ab".repeat(32)}`).writeFile(path);
    for (const [snapshots, status] of [
      [{ demo: path }, 404],
      [{}, 503],
    ] as const) {
      const app = Fastify();
      await app.register(attributionRoutes, { snapshots });
      const base = await app.listen({ host: "127.0.0.1", port: 0 });
      try {
        const res = await fetch(`${base}/v1/attribution`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(status === 404 ? { text: output, snapshots: ["toString"] } : { text: output }),
        });
        assert.equal(res.status, status);
      } finally {
        await app.close();
      }
    }
  });
});
