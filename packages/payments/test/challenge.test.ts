// Challenges on a real anvil with SpanV2Verifier (Solidity span-v2): the operator answers an evidence
// request on an honest batch by itself; `openledger challenge --watch` catches a batch that pays the
// wrong contributor and reverts it on-chain; `openledger challenge BATCH` passes an honest batch.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { SpanIndex } from "@openledger/attribution";
import { devAccounts } from "@openledger/devnet";
import { getBatch, getDispute, requestEvidence, splitFee } from "@openledger/sdk";
import Fastify, { type FastifyInstance } from "fastify";
import type { Address } from "viem";
import { buildBatch } from "../src/batch-builder.ts";
import { SettlementBatcher } from "../src/batcher.ts";
import { PaymentGate } from "../src/gate.ts";
import { settlementRoutes } from "../src/settlement-routes.ts";
import { fetchBatchRecords, recordProofOf } from "../src/watcher.ts";
import {
  cli,
  OPEN,
  OPENLEDGER,
  PASSAGES,
  type SettlementChain,
  startSettlementChain,
} from "./settlement-fixture.ts";

describe("challenges", () => {
  let c: SettlementChain;
  let batcher: SettlementBatcher;
  let app: FastifyInstance;
  let url: string;
  const errors: unknown[] = [];
  const payer = devAccounts[5]!.address as Address;
  const chainArgs = () => [
    "--rpc",
    c.anvil.rpcUrl,
    "--deployments",
    join(c.dir, "deployments"),
    "--account",
    "8",
  ];

  before(async () => {
    c = await startSettlementChain("span-v2", { withCopy: true });
    // enough to stay an operator after one slash (1,000 OPEN a reverted batch)
    await c.stakeOperator(2_500n * OPEN);
    await c.fundEscrow(5, OPEN);
    batcher = new SettlementBatcher({
      client: c.client,
      wallet: await c.wallet(4),
      settlement: c.addresses.inferenceSettlement,
      token: c.addresses.token,
      datanetRegistry: c.addresses.datanetRegistry,
      modelRegistry: c.addresses.modelRegistry,
      db: c.db,
      maxRecords: 1,
      onError: (err) => errors.push(err),
    });
    app = Fastify({ logger: false });
    await app.register(settlementRoutes, {
      db: c.db,
      settlement: c.addresses.inferenceSettlement,
      operator: c.operator.address,
    });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });

  after(async () => {
    await app?.close();
    c?.db.close();
    await c?.anvil.stop();
    if (c) rmSync(c.dir, { recursive: true, force: true });
  });

  test("the operator answers an evidence request; `challenge BATCH` finds an honest batch right", async () => {
    await c.gate.settleUsage(c.usage("h1", `Indeed ${PASSAGES[0]} as before`, 12), payer, [c.snapshotId]);
    await batcher.tick();
    assert.deepEqual(errors, []);
    const [honest] = c.db.batches();
    assert.ok(honest);
    const { records } = await fetchBatchRecords(url, honest.batchId);
    const { disputeId } = await requestEvidence(await c.wallet(8), {
      settlement: c.addresses.inferenceSettlement,
      batchId: honest.batchId,
      record: recordProofOf(records[0]!),
    });
    await batcher.tick();
    assert.deepEqual(errors, []);
    const dispute = await getDispute(c.client, { settlement: c.addresses.inferenceSettlement, disputeId });
    assert.equal(dispute.status, 2, "answered (DisputeStatus.Answered)");

    const run = await cli("challenge", honest.batchId.toString(), "--api", url, ...chainArgs());
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`batch ${honest.batchId}: 1 of 1 records right`));
    const bad = await cli("challenge", "x1", "--api", url, ...chainArgs());
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /^error: batch id 'x1' must be a decimal integer/m);
    const nowhere = await cli("challenge", "1", "--api", "http://127.0.0.1:9", ...chainArgs());
    assert.equal(nowhere.status, 1);
    assert.match(nowhere.stderr, /^error: cannot reach http:\/\/127.0.0.1:9\/v1\/settlement\/batches\/1$/m);
    const unknown = await cli("challenge", "999", "--api", url, ...chainArgs());
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /^error: .*no batch 999 was posted by operator/m);
    const who = await cli("rewards", "--address", "0xnope", "--api", url, ...chainArgs());
    assert.equal(who.status, 1);
    assert.match(who.stderr, /^error: /m);
  });

  test("`challenge --watch` reverts a batch that pays the wrong contributor", async () => {
    const watcher = spawn(
      process.execPath,
      [OPENLEDGER, "challenge", "--watch", "--interval", "200", "--api", url, ...chainArgs()],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let out = "";
    let err = "";
    watcher.stdout.on("data", (d) => (out += d));
    watcher.stderr.on("data", (d) => (err += d));
    try {
      await c.gate.settleUsage(c.usage("w1", `Recall: ${PASSAGES[1]}.`, 15), payer, [c.snapshotId]);
      const rows = c.db.unbatched(c.modelId, 1);
      const fee = rows[0]!.fee;
      const { contributors } = await splitFee(c.client, { settlement: c.addresses.inferenceSettlement, fee });
      // the operator pays passage 1's share to an account of its own instead of its contributor
      const mallory = devAccounts[9]!.address as Address;
      const wrong = buildBatch(rows, {
        contributorsShare: contributors,
        contributorOf: () => mallory,
        training: [],
        modelOwner: c.modelOwner,
      });
      const batchId = await batcher.postBuilt(wrong);
      const deadline = Date.now() + 60_000;
      while (!/reverted/.test(out) && Date.now() < deadline && watcher.exitCode === null)
        await new Promise((r) => setTimeout(r, 100));
      assert.match(out, new RegExp(`batch ${batchId}: 0 of 1 records right`), `${out}\n${err}`);
      assert.match(out, /record 0 wrong: its payouts differ from what its credits pay/);
      assert.match(out, new RegExp(`challenged record 0: batch ${batchId} reverted`));
      const onChain = await getBatch(c.client, { settlement: c.addresses.inferenceSettlement, batchId });
      assert.equal(onChain.status, 3, "reverted");
      await batcher.tick();
      assert.equal(c.db.batch(batchId)!.status, "reverted");
    } finally {
      watcher.kill("SIGTERM");
    }
  });

  test("`challenge BATCH --snapshot` reverts a batch that credits a later copy by leaving out the original", async () => {
    // the operator attributes over the copy alone (the original's chunk left out of its index)
    const copy = c.chunks[2]!;
    const dishonest = new PaymentGate({
      client: c.client,
      chainId: c.chainId,
      settlement: c.addresses.inferenceSettlement,
      operator: c.operator,
      db: c.db,
      spanIndexes: async () => [SpanIndex.build([copy], c.snapshotRoot)],
      witnessChunks: c.witnessChunks,
    });
    await dishonest.settleUsage(c.usage("c1", `Indeed ${PASSAGES[0]} as before`, 12), payer, [c.snapshotId]);
    assert.equal(c.db.usage("c1")!.attribution!.credits[0]!.contributionId, copy.contributionId.toString());
    await batcher.tick();
    assert.deepEqual(errors, []);
    const [posted] = c.db.batches();
    assert.deepEqual(posted!.requestIds, ["c1"]);
    // the published snapshot, as `openledger datanet snapshot --export` writes it
    const dir = join(c.dir, "snapshot-export");
    mkdirSync(dir);
    writeFileSync(
      join(dir, "manifest.json"),
      JSON.stringify({ snapshotId: Number(c.snapshotId), root: c.snapshotRoot }),
    );
    writeFileSync(
      join(dir, "dataset.jsonl"),
      c.chunks
        .map((x) =>
          JSON.stringify({
            text: x.text,
            contributionId: x.contributionId.toString(),
            chunkIndex: x.chunkIndex,
          }),
        )
        .join("\n"),
    );
    const run = await cli(
      "challenge",
      posted!.batchId.toString(),
      "--snapshot",
      dir,
      "--api",
      url,
      ...chainArgs(),
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(
      run.stdout,
      /record 0 wrong: span-v2 over the whole snapshots credits 1:1000000; the record credits 3:1000000/,
    );
    assert.match(run.stdout, new RegExp(`challenged record 0: batch ${posted!.batchId} reverted`));
    const onChain = await getBatch(c.client, {
      settlement: c.addresses.inferenceSettlement,
      batchId: posted!.batchId,
    });
    assert.equal(onChain.status, 3, "reverted");
  });
});
