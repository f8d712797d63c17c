// The payouts-by-account route reads the SQLite payouts index: batches committed as the batcher commits
// them (a posting, then the mined batch), several accounts, a store older than the index, a posting
// resolved after a restart, and hostile addresses. Real SQLite files and a real HTTP server.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { buildRecordTree } from "@openledger/sdk";
import Database from "better-sqlite3";
import Fastify, { type FastifyInstance } from "fastify";
import { type Address, getAddress, type Hex, keccak256, toHex } from "viem";
import { type BatchRow, PaymentsDb } from "../src/db.ts";
import { settlementRoutes } from "../src/settlement-routes.ts";

const account = (n: number): Address => getAddress(`0x${n.toString(16).padStart(40, "0")}`);
const [A, B, C, NOBODY] = [account(0xa1), account(0xb2), account(0xc3), account(0xd4)];
const OPERATOR = account(0x99);

interface Listed {
  batchId: string;
  index: number;
  entry: number;
  amount: string;
  attributionHash: Hex;
  proof: { hash: Hex; sum: string }[];
}

/** A batch whose record i pays `pays[i]` (account, wei). */
function batch(batchId: bigint, pays: [Address, bigint][][]): BatchRow {
  return {
    batchId,
    modelId: 7n,
    txHash: keccak256(toHex(`tx-${batchId}`)),
    fee: 1000n,
    prepaid: 0n,
    challengeDeadline: 100n,
    status: "pending",
    requestIds: pays.map((_, i) => `req-${batchId}-${i}`),
    records: pays.map((p, i) => ({
      attribution: toHex(`record ${batchId}/${i}`),
      payouts: p.map(([who, amount]) => ({ account: who, amount: amount.toString() })),
    })),
    debits: [],
  };
}

/** Stores `b` as the batcher does: a posting first, then the batch once its transaction is mined. */
function commit(db: PaymentsDb, b: BatchRow): void {
  const root = keccak256(toHex(`root-${b.batchId}`));
  db.addPosting({
    recordsRoot: root,
    modelId: b.modelId,
    prepaid: 0n,
    txHash: null,
    fromBlock: 1n,
    batch: { requestIds: b.requestIds, records: b.records, debits: b.debits },
  });
  db.commitPosting(root, b);
}

const BATCHES = [
  batch(1n, [
    [
      [A, 30n],
      [B, 10n],
    ],
    [[B, 5n]],
  ]),
  // a zero payout is no payout: C is not listed for it
  batch(2n, [
    [
      [C, 0n],
      [A, 7n],
    ],
  ]),
  batch(3n, [
    [[C, 1n]],
    [
      [A, 2n],
      [C, 3n],
    ],
    [[B, 4n]],
  ]),
];

describe("payouts by account, from the SQLite index", () => {
  let dir: string;
  let db: PaymentsDb;
  let app: FastifyInstance;
  let url: string;

  const list = async (address: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${url}/v1/settlement/accounts/${address}/payouts`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const entries = async (address: string) => {
    const { status, body } = await list(address);
    assert.equal(status, 200);
    return (body.data as Listed[]).map((d) => [d.batchId, d.index, d.entry, d.amount]);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "payments-payouts-"));
    db = new PaymentsDb(join(dir, "payments.sqlite"));
    for (const b of BATCHES) commit(db, b);
    app = Fastify({ logger: false });
    await app.register(settlementRoutes, { db, settlement: OPERATOR, operator: OPERATOR });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });

  after(async () => {
    await app?.close();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("each account gets exactly its nonzero payouts, newest batch first, with proofs of their records", async () => {
    assert.deepEqual(await entries(A), [
      ["3", 1, 0, "2"],
      ["2", 0, 1, "7"],
      ["1", 0, 0, "30"],
    ]);
    assert.deepEqual(await entries(B), [
      ["3", 2, 0, "4"],
      ["1", 0, 1, "10"],
      ["1", 1, 0, "5"],
    ]);
    assert.deepEqual(await entries(C), [
      ["3", 0, 0, "1"],
      ["3", 1, 1, "3"],
    ]);
    // any spelling of the address finds the same payouts
    assert.deepEqual(await entries(A.toLowerCase()), await entries(A));
    const { body } = await list(B);
    assert.equal(body.account, B);
    for (const d of body.data as Listed[]) {
      const b = BATCHES.find((x) => x.batchId.toString() === d.batchId)!;
      const tree = buildRecordTree(
        b.records.map((r) => ({
          attribution: r.attribution,
          payouts: r.payouts.map((p) => ({ account: p.account, amount: BigInt(p.amount) })),
        })),
      );
      const proof = tree.proof(d.index);
      assert.equal(d.attributionHash, proof.attributionHash);
      assert.deepEqual(
        d.proof,
        proof.proof.map((n) => ({ hash: n.hash, sum: n.sum.toString() })),
      );
    }
  });

  test("an account with no payouts gets an empty list", async () => {
    const { status, body } = await list(NOBODY);
    assert.equal(status, 200);
    assert.deepEqual(body, { object: "list", account: NOBODY, data: [] });
  });

  test("malformed and hostile addresses are 400 invalid_address in OpenAI's error form", async () => {
    for (const bad of ["0x1234", "not-an-address", `0x${"g".repeat(40)}`, `${A}00`, "%27%20OR%201%3D1--"]) {
      const { status, body } = await list(bad);
      assert.equal(status, 400, bad);
      const error = body.error as { type: string; code: string; message: string };
      assert.equal(error.type, "invalid_request_error");
      assert.equal(error.code, "invalid_address");
      assert.match(error.message, /is not an address/);
    }
  });

  test("a posting resolved after a restart is indexed with its batch", async () => {
    const path = join(dir, "restart.sqlite");
    const before = new PaymentsDb(path);
    const b = batch(4n, [[[NOBODY, 9n]]]);
    const root = keccak256(toHex("root-restart"));
    before.addPosting({
      recordsRoot: root,
      modelId: b.modelId,
      prepaid: 0n,
      txHash: null,
      fromBlock: 1n,
      batch: { requestIds: b.requestIds, records: b.records, debits: [] },
    });
    before.close(); // the process died before the receipt came
    const after = new PaymentsDb(path);
    try {
      assert.deepEqual(after.payoutsTo(NOBODY), []);
      after.commitPosting(root, b); // what reconcile() does once it finds the batch on-chain
      assert.deepEqual(
        after.payoutsTo(NOBODY).map((p) => [p.batch.batchId, p.index, p.entry]),
        [[4n, 0, 0]],
      );
    } finally {
      after.close();
    }
  });

  /** A store as versions before the payouts index wrote it, holding `b` (finalized). */
  function oldStore(name: string, b: BatchRow): string {
    const path = join(dir, name);
    const old = new Database(path);
    old.exec(`CREATE TABLE batches (
      batch_id TEXT PRIMARY KEY, model_id TEXT NOT NULL, tx_hash TEXT NOT NULL, fee TEXT NOT NULL,
      prepaid TEXT NOT NULL, challenge_deadline TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL)`);
    old
      .prepare("INSERT INTO batches VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
      .run(
        b.batchId.toString(),
        "7",
        b.txHash,
        "1000",
        "0",
        "100",
        "finalized",
        JSON.stringify({ requestIds: b.requestIds, records: b.records, debits: b.debits }),
      );
    old.close();
    return path;
  }

  test("a store written before the index existed is indexed when it is opened", async () => {
    const path = oldStore("old.sqlite", BATCHES[2]!);
    const reopened = new PaymentsDb(path);
    try {
      assert.deepEqual(
        reopened.payoutsTo(C).map((p) => [p.batch.batchId, p.batch.status, p.index, p.entry]),
        [
          [3n, "finalized", 0, 0],
          [3n, "finalized", 1, 1],
        ],
      );
    } finally {
      reopened.close();
    }
  });
  test("an old batch paying a malformed account opens; its good payouts are indexed and the bad one reported", async () => {
    // stored by an earlier version that did not check accounts; the record tree is not rebuilt here
    const b = batch(5n, [
      [
        [A, 6n],
        ["0x1234" as Address, 8n],
      ],
      [[C, 9n]],
    ]);
    const warnings: [string, Record<string, unknown>][] = [];
    const reopened = new PaymentsDb(oldStore("malformed.sqlite", b), {
      warn: (message, fields) => warnings.push([message, fields]),
    });
    try {
      assert.deepEqual(
        reopened.payoutsTo(A).map((p) => [p.batch.batchId, p.index, p.entry]),
        [[5n, 0, 0]],
      );
      assert.deepEqual(
        reopened.payoutsTo(C).map((p) => [p.batch.batchId, p.index, p.entry]),
        [[5n, 1, 0]],
      );
      assert.deepEqual(warnings, [
        ["payouts to malformed accounts were left out of the payouts index", { payouts: 1 }],
      ]);
    } finally {
      reopened.close();
    }
    // indexed once: opening it again reports nothing
    const again = new PaymentsDb(join(dir, "malformed.sqlite"), {
      warn: (message, fields) => warnings.push([message, fields]),
    });
    again.close();
    assert.equal(warnings.length, 1);
  });
});
