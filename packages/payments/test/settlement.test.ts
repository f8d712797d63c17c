// Settlement end to end on a real anvil: paid answers (escrow and x402) batch, post, finalise and pay
// every party exactly; a failed post is retried without loss; the records routes serve any record with
// its evidence and refuse hostile ids.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { devAccounts } from "@openledger/devnet";
import {
  authorize,
  claim,
  earningsOf,
  escrowOf,
  getBatch,
  inferenceSettlementAbi,
  pendingRewards,
  postBatch,
  type SumNode,
  splitFee,
  tokenBalance,
  transferToken,
} from "@openledger/sdk";
import Fastify, { type FastifyInstance } from "fastify";
import type { Address, Hex } from "viem";
import { getBlockNumber, getContractEvents } from "viem/actions";
import { buildBatch } from "../src/batch-builder.ts";
import { SettlementBatcher } from "../src/batcher.ts";
import { paymentRoutes } from "../src/routes.ts";
import { settlementRoutes } from "../src/settlement-routes.ts";
import { checkRecord, type PublishedRecord } from "../src/watcher.ts";
import { cli, OPEN, PASSAGES, type SettlementChain, startSettlementChain } from "./settlement-fixture.ts";

interface RecordJson {
  index: number;
  attribution: Hex;
  attributionHash: Hex;
  payouts: { account: Address; amount: string }[];
  proof: { hash: Hex; sum: string }[];
  output: string;
  evidence: { credits: { contributionId: string; share: number }[] } | null;
}

describe("settlement batches", () => {
  let c: SettlementChain;
  let batcher: SettlementBatcher;
  let app: FastifyInstance;
  let url: string;
  const errors: unknown[] = [];
  const payer = devAccounts[5]!.address as Address;
  const x402Payer = devAccounts[6]!.address as Address;

  before(async () => {
    c = await startSettlementChain();
    batcher = new SettlementBatcher({
      client: c.client,
      wallet: await c.wallet(4),
      settlement: c.addresses.inferenceSettlement,
      token: c.addresses.token,
      datanetRegistry: c.addresses.datanetRegistry,
      modelRegistry: c.addresses.modelRegistry,
      db: c.db,
      onBatched: (d) => c.gate.batched(d),
      maxRecords: 3,
      maxAgeMs: 3_600_000,
      trainingSnapshots: async () => c.training,
      onError: (err) => {
        if (process.env.DEBUG_BATCHER) console.error(err);
        errors.push(err);
      },
    });
    app = Fastify({ logger: false });
    await app.register(settlementRoutes, {
      db: c.db,
      settlement: c.addresses.inferenceSettlement,
      operator: c.operator.address,
    });
    await app.register(paymentRoutes, {
      db: c.db,
      chainId: c.chainId,
      settlement: c.addresses.inferenceSettlement,
      operator: c.operator.address,
    });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });

  after(async () => {
    await batcher?.stop();
    await app?.close();
    c?.db.close();
    await c?.anvil.stop();
    if (c) rmSync(c.dir, { recursive: true, force: true });
  });

  const get = async (path: string) => {
    const res = await fetch(`${url}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  test("a failed post loses nothing and is retried; a paid batch posts, finalises and pays every party exactly", async () => {
    await c.fundEscrow(5, OPEN);
    // three answers: one reproduces passage 0, one passage 1 (paid by x402), one credits nobody
    const fees: bigint[] = [];
    const settle = async (id: string, output: string, tokens: number, x402 = false) => {
      const record = c.usage(id, output, tokens);
      const fee = (BigInt(10 + tokens) * 10n ** 15n) / 1000n;
      if (x402) {
        // the EIP-3009 payment reached the operator before the answer (C's facilitator does this)
        await transferToken(await c.wallet(0), { token: c.addresses.token, to: x402Payer, amount: fee });
        await transferToken(await c.wallet(6), {
          token: c.addresses.token,
          to: c.operator.address,
          amount: fee,
        });
        await c.gate.settleUsage(record, x402Payer, [c.snapshotId], { payment: "x402", fee });
      } else await c.gate.settleUsage(record, payer, [c.snapshotId]);
      fees.push(fee);
    };
    await settle("a1", `Well, ${PASSAGES[0]}, they say.`, 17);
    await settle("a2", `As written: ${PASSAGES[1]}.`, 13, true);
    await settle("a3", "Nothing here is copied from anywhere at all", 9);
    assert.equal(c.db.usage("a1")!.attribution!.credits[0]!.contributionId, c.contributionIds[0]!.toString());
    assert.equal(c.db.usage("a3")!.attribution!.credits.length, 0);

    // the operator is not staked yet: the post is refused, the rows stay unbatched, nothing is held
    await batcher.tick();
    assert.equal(errors.length, 1);
    assert.match(String(errors[0]), /NotOperator/);
    assert.equal(c.db.postings().length, 0);
    assert.equal(c.db.unbatched(c.modelId, 10).length, 3);
    assert.deepEqual((await get("/v1/settlement/batches")).body.data, [], "no batch was posted");

    await c.stakeOperator();
    const settlement = c.addresses.inferenceSettlement;
    const token = c.addresses.token;
    const treasury = devAccounts[0]!.address as Address;
    const balances = async () => ({
      escrow: await escrowOf(c.client, { settlement, account: payer }),
      operator: await tokenBalance(c.client, { token, account: c.operator.address }),
      staking: await tokenBalance(c.client, { token, account: c.addresses.staking }),
      treasury: await earningsOf(c.client, { settlement, account: treasury }),
      owner: await earningsOf(c.client, { settlement, account: c.modelOwner }),
      contributors: await Promise.all(
        c.contributors.map((account) => tokenBalance(c.client, { token, account })),
      ),
    });
    const before = await balances();
    await batcher.tick();
    assert.equal(errors.length, 1, String(errors[1]));
    const [posted] = c.db.batches();
    assert.ok(posted, "a batch was posted");
    assert.deepEqual(posted.requestIds, ["a1", "a2", "a3"]);
    assert.equal(c.db.unbatched(c.modelId, 10).length, 0);
    const fee = fees.reduce((a, b) => a + b, 0n);
    const onChain = await getBatch(c.client, { settlement, batchId: posted.batchId });
    assert.equal(onChain.fee, fee);
    assert.equal(onChain.prepaid, fees[1]);
    assert.equal(await c.gate.fundsOf(payer), OPEN - fees[0]! - fees[2]!);

    // the window passes; the batcher finalises; each contributor claims its payouts with the route's proofs
    await c.advance(3601);
    await batcher.tick();
    assert.equal(c.db.batch(posted.batchId)!.status, "finalized");
    const records: RecordJson[] = [];
    for (let i = 0; i < 3; i++) {
      const r = await get(`/v1/settlement/batches/${posted.batchId}/records/${i}`);
      assert.equal(r.status, 200);
      records.push(r.body as unknown as RecordJson);
    }
    // a watcher finds every record right, and an uncredited record paying against the rule disputed
    const watch = { datanetRegistry: c.addresses.datanetRegistry, modelOwner: c.modelOwner };
    for (const r of records)
      assert.deepEqual(await checkRecord(c.client, watch, r as unknown as PublishedRecord), {
        index: r.index,
        verdict: "right",
      });
    const skewed = structuredClone(records[2]!) as unknown as PublishedRecord;
    skewed.payouts = skewed.payouts.map((p, k, all) => ({ ...p, account: all[all.length - 1 - k]!.account }));
    const verdict = await checkRecord(c.client, watch, skewed);
    assert.equal(verdict.verdict, "disputed", JSON.stringify(verdict));
    const split = await splitFee(c.client, { settlement, fee });
    const claimed = [0n, 0n];
    // passage 0's contributor uses the CLI: `rewards` shows its payouts claimable, `rewards claim` takes them
    const chain = ["--api", url, "--rpc", c.anvil.rpcUrl, "--deployments", join(c.dir, "deployments")];
    const shown = await cli("rewards", "--json", "--account", "1", ...chain);
    assert.equal(shown.status, 0, shown.stderr);
    const report = JSON.parse(shown.stdout) as {
      payouts: { state: string; amount: string; contributionId: string | null }[];
    };
    assert.deepEqual(
      report.payouts.map((p) => [p.state, p.contributionId]),
      [
        ["claimable", c.contributionIds[0]!.toString()],
        ["claimable", null],
      ],
    );
    const took = await cli("rewards", "claim", "--json", "--account", "1", ...chain);
    assert.equal(took.status, 0, took.stderr);
    claimed[0] = BigInt(JSON.parse(took.stdout).payouts);
    assert.equal(
      claimed[0],
      report.payouts.reduce((s, p) => s + BigInt(p.amount), 0n),
    );
    const again = await cli("rewards", "--json", "--account", "1", ...chain);
    assert.ok((JSON.parse(again.stdout) as typeof report).payouts.every((p) => p.state === "claimed"));
    // passage 1's contributor claims by hand with the records route's proofs
    for (const [k, account] of c.contributors.entries()) {
      if (k === 0) continue;
      const claims = records.flatMap((r) =>
        r.payouts.flatMap((p, entry) =>
          p.account === account && BigInt(p.amount) > 0n
            ? [
                {
                  index: BigInt(r.index),
                  attributionHash: r.attributionHash,
                  payouts: r.payouts.map((x) => ({ account: x.account, amount: BigInt(x.amount) })),
                  entry: BigInt(entry),
                  proof: r.proof.map((n): SumNode => ({ hash: n.hash, sum: BigInt(n.sum) })),
                },
              ]
            : [],
        ),
      );
      const { amount } = await claim(await c.wallet(k + 1), { settlement, batchId: posted.batchId, claims });
      claimed[k] = amount;
    }
    // record shares: floor(C * fee_i / fee), record 0 takes the dust; a3's share splits by snapshot weight
    const share = (i: number) => (split.contributors * fees[i]!) / fee;
    const dust = split.contributors - share(0) - share(1) - share(2);
    const uncredited = share(2);
    assert.equal(claimed[0], share(0) + dust + uncredited - uncredited / 2n, "passage 0's contributor");
    assert.equal(claimed[1], share(1) + uncredited / 2n, "passage 1's contributor");
    assert.ok(claimed[0]! > 0n && claimed[1]! > 0n);

    const after = await balances();
    assert.equal(
      before.escrow - after.escrow,
      fees[0]! + fees[2]!,
      "the escrow payer is debited its two answers",
    );
    assert.equal(before.operator - after.operator, fees[1]!, "the operator brings in the x402 fee");
    assert.equal(after.treasury - before.treasury, split.platform);
    assert.equal(after.owner - before.owner, split.modelOwner);
    assert.equal(after.staking - before.staking, split.stakers);
    const paid = after.contributors.map((b, k) => b - before.contributors[k]!);
    assert.deepEqual(paid, claimed);
    // conservation to the wei: everything that entered as fees left as someone's amount
    assert.equal(split.platform + split.modelOwner + split.stakers + claimed[0]! + claimed[1]!, fee);

    // the model owner and the operator (its own pool's only staker) take theirs with `rewards claim`
    const ownerTokens = await tokenBalance(c.client, { token, account: c.modelOwner });
    const owner = await cli("rewards", "claim", "--json", "--account", "3", ...chain);
    assert.equal(owner.status, 0, owner.stderr);
    assert.equal(BigInt(JSON.parse(owner.stdout).earnings), split.modelOwner);
    assert.equal(
      (await tokenBalance(c.client, { token, account: c.modelOwner })) - ownerTokens,
      split.modelOwner,
    );
    const pendingStake = await pendingRewards(c.client, {
      staking: c.addresses.staking,
      operator: c.operator.address,
      account: c.operator.address,
    });
    assert.ok(pendingStake > 0n && pendingStake <= split.stakers, `${pendingStake} of ${split.stakers}`);
    const staker = await cli("rewards", "claim", "--json", "--account", "4", ...chain);
    assert.equal(staker.status, 0, staker.stderr);
    assert.equal(BigInt(JSON.parse(staker.stdout).staking), pendingStake);
  });

  test("a restart resolves postings left by a crash: a mined one is recorded, not posted twice; an unsent one is posted again", async () => {
    const settlement = c.addresses.inferenceSettlement;
    const operatorWallet = await c.wallet(4);
    await c.gate.settleUsage(c.usage("r1", "Plain words that no contributor ever wrote down", 5), payer, [
      c.snapshotId,
    ]);
    const rows = c.db.unbatched(c.modelId, 10);
    assert.deepEqual(
      rows.map((r) => r.requestId),
      ["r1"],
    );
    const fee = rows[0]!.fee;
    const { contributors } = await splitFee(c.client, { settlement, fee });
    const built = buildBatch(rows, {
      contributorsShare: contributors,
      contributorOf: () => c.contributors[0]!,
      training: c.training,
      modelOwner: c.modelOwner,
    });
    // the batcher wrote its posting and sent the batch, then the process died before it saw the receipt
    const fromBlock = await getBlockNumber(c.client, { cacheTime: 0 });
    const sent = await postBatch(operatorWallet, {
      settlement,
      modelId: c.modelId,
      debits: built.debits,
      records: built.records,
    });
    c.db.addPosting({
      recordsRoot: sent.recordTree.root,
      modelId: c.modelId,
      prepaid: 0n,
      txHash: null,
      fromBlock,
      batch: {
        requestIds: built.requestIds,
        records: built.records.map((r) => ({
          attribution: r.attribution,
          payouts: r.payouts.map((x) => ({ account: x.account, amount: x.amount.toString() })),
        })),
        debits: sent.debitTree.entries.map((d) => ({
          ...d,
          amount: d.amount.toString(),
          spentAfter: d.spentAfter.toString(),
        })),
      },
    });
    // and another answer whose posting was written but never sent
    await c.gate.settleUsage(c.usage("r2", "More plain words that nobody contributed", 6), payer, [
      c.snapshotId,
    ]);
    c.db.addPosting({
      recordsRoot: `0x${"ab".repeat(32)}`,
      modelId: c.modelId,
      prepaid: 0n,
      txHash: null,
      fromBlock: await getBlockNumber(c.client, { cacheTime: 0 }),
      batch: { requestIds: ["r2"], records: [], debits: [] },
    });
    assert.equal(c.db.unbatched(c.modelId, 10).length, 0, "both rows are held by their postings");

    const restarted = new SettlementBatcher({
      client: c.client,
      wallet: operatorWallet,
      settlement,
      token: c.addresses.token,
      datanetRegistry: c.addresses.datanetRegistry,
      modelRegistry: c.addresses.modelRegistry,
      db: c.db,
      trainingSnapshots: async () => c.training,
      onError: (err) => errors.push(err),
    });
    const postedBefore = c.db.batches().length;
    await restarted.tick({ force: true });
    assert.equal(errors.length, 1, String(errors[1]));
    assert.deepEqual(c.db.postings(), []);
    assert.equal(c.db.usage("r1")!.batchId, sent.batchId, "the mined batch is recorded, not posted again");
    const r2 = c.db.usage("r2")!.batchId;
    assert.ok(r2 !== undefined && r2 > sent.batchId, "the unsent answer went into a new batch");
    assert.equal(c.db.batches().length, postedBefore + 2);
    const events = await getContractEvents(c.client, {
      address: settlement,
      abi: inferenceSettlementAbi,
      eventName: "BatchPosted",
      fromBlock,
    });
    assert.deepEqual(
      events.map((e) => e.args.batchId),
      [sent.batchId, r2],
    );
    // the recovered batch is in the payouts index: its contributors find their payouts
    const listed = (await (
      await fetch(`${url}/v1/settlement/accounts/${c.contributors[1]}/payouts`)
    ).json()) as { data: { batchId: string; index: number; amount: string }[] };
    const recovered = listed.data.filter((d) => d.batchId === sent.batchId.toString());
    assert.deepEqual(
      recovered.map((d) => d.index),
      [0],
    );
    assert.ok(BigInt(recovered[0]!.amount) > 0n);
  });

  test("a payer who cut the operator off does not hold up the batch: its answers wait, the others settle", async () => {
    const settlement = c.addresses.inferenceSettlement;
    const quitter = devAccounts[8]!.address as Address;
    await c.fundEscrow(8, OPEN);
    await c.gate.settleUsage(c.usage("k1", "Words from a payer who then walks away", 4), quitter, [
      c.snapshotId,
    ]);
    await c.gate.settleUsage(c.usage("k2", "Words from the payer who stays", 4), payer, [c.snapshotId]);
    await authorize(await c.wallet(8), {
      settlement,
      operator: c.operator.address,
      cap: 0n,
      expiry: 2n ** 39n,
    });
    const seen = errors.length;
    await batcher.tick({ force: true });
    assert.equal(errors.length, seen + 1);
    assert.match(String(errors[seen]), /owes \d+ wei for 1 answers but its authorisation .* leaves 0/);
    assert.ok(c.db.usage("k2")!.batchId !== undefined, "the other payer's answer settled");
    assert.equal(c.db.usage("k1")!.batchId, undefined, "the quitter's answer waits, still owed");
  });

  test("the records routes refuse bad ids and out-of-range indexes with OpenAI-style errors", async () => {
    const list = await get("/v1/settlement/batches");
    assert.equal(list.status, 200);
    const [first] = list.body.data as { id: string; records: number }[];
    assert.ok(first);
    const cases: [string, number, string][] = [
      ["/v1/settlement/batches/abc", 400, "invalid_batch_id"],
      ["/v1/settlement/batches/-1", 400, "invalid_batch_id"],
      ["/v1/settlement/batches/0x1", 400, "invalid_batch_id"],
      ["/v1/settlement/batches/01", 400, "invalid_batch_id"],
      [`/v1/settlement/batches/${"9".repeat(90)}`, 400, "invalid_batch_id"],
      ["/v1/settlement/batches/999", 404, "batch_not_found"],
      [`/v1/settlement/batches/${first.id}/records/${first.records}`, 404, "record_not_found"],
      [`/v1/settlement/batches/${first.id}/records/1e3`, 400, "invalid_record_index"],
      [`/v1/settlement/batches/${first.id}/records/-0`, 400, "invalid_record_index"],
      ["/v1/settlement/batches?limit=0", 400, "invalid_limit"],
      ["/v1/settlement/batches?limit=100000", 400, "invalid_limit"],
      ["/v1/settlement/batches?before=x", 400, "invalid_batch_id"],
      ["/v1/settlement/accounts/0x1234/payouts", 400, "invalid_address"],
      [`/v1/settlement/accounts/${"%00".repeat(20)}/payouts`, 400, "invalid_address"],
    ];
    for (const [path, status, code] of cases) {
      const r = await get(path);
      assert.equal(r.status, status, path);
      const err = (r.body as { error: { code: string; message: string; type: string } }).error;
      assert.equal(err.code, code, path);
      assert.equal(err.type, "invalid_request_error");
      assert.ok(err.message.length > 0);
    }
    const one = await get(`/v1/settlement/batches/${first.id}`);
    assert.equal(one.status, 200);
    assert.equal((one.body.data as unknown[]).length, first.records);
  });
});
