// End to end on the project's own L2 node: the span-v1 precompile registered at 0x…0801, the protocol
// deployed with SpanV1Verifier in precompile mode, and settlement batches challenged through it by a
// challenger who is neither the operator nor the payer; every balance change is checked to the wei.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  answerEvidence,
  authorizationOf,
  challenge,
  claimEarnings,
  getBatch,
  getDispute,
  refund,
  requestEvidence,
  spanV1VerifierAbi,
  tokenBalance,
} from "@openledger/sdk";
import type { Address } from "viem";
import {
  computeSpanV1,
  encodeSpanV1Attribution,
  encodeSpanV1Challenge,
  encodeSpanV1Recomputation,
  type SpanChunk,
  spanV1Precompile,
} from "../src/index.ts";
import { FEE, type SettlementNode, SLASH, startSettlementNode } from "./settlementNode.ts";
import { VECTORS_FILE, type Vector } from "./vectors/vectors.ts";

// Contribution 3 is a later verbatim copy of 1, in another Datanet.
const chunks: SpanChunk[] = [
  { contributionId: 1n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
  {
    contributionId: 2n,
    chunkIndex: 0,
    text: "Honeybees communicate flower locations through a waggle dance.",
  },
  { contributionId: 3n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
  { contributionId: 4n, chunkIndex: 0, text: "Saturn's rings are made mostly of water ice particles." },
];
const output =
  "Fun facts: octopuses have three hearts and blue copper-based blood, and honeybees communicate flower locations through dancing.";

describe("span-v1 on the OpenLedger node", () => {
  let node: SettlementNode;
  const payee = "0x3333333333333333333333333333333333333333" as Address;

  before(async () => {
    node = await startSettlementNode({
      chunks,
      precompiles: [spanV1Precompile],
      verifier: "span-v1-precompile",
    });
  });
  after(() => node?.close());

  test("the verifier's precompile path equals the library on every shared vector", async () => {
    const vectors: Vector[] = JSON.parse(readFileSync(VECTORS_FILE, "utf8")).vectors;
    for (const v of vectors) {
      const args = [
        v.output,
        v.roots,
        v.chunks.map((c) => ({
          contributionId: BigInt(c.contributionId),
          chunkIndex: c.chunkIndex,
          text: c.text,
        })),
      ] as const;
      const [ok, commitment] = await node.publicClient.readContract({
        address: node.addresses.verifier!,
        abi: spanV1VerifierAbi,
        functionName: "recompute",
        args,
      });
      assert.equal(ok, true, v.name);
      assert.equal(commitment, v.commitment, v.name);
    }
  });

  const proven = (cid: bigint) => node.proven(cid);
  const settlement = () => node.settlement;
  /** The shared balances plus the challenger's tokens and the payer's spent authorisation. */
  const balances = async () => ({
    ...(await node.balances()),
    challengerTokens: await tokenBalance(node.publicClient, {
      token: node.addresses.token,
      account: node.wallets.challenger.account.address,
    }),
    payerSpent: (
      await authorizationOf(node.publicClient, {
        settlement: settlement(),
        payer: node.wallets.payer.account.address,
        operator: node.wallets.operator.account.address,
      })
    ).spent,
  });

  test("an honest batch answers an evidence request; a challenge adding irrelevant chunks is rejected", async () => {
    const before = await balances();
    const { r, batchId, record } = await settle([1n, 2n]);
    const asked = await requestEvidence(node.wallets.challenger, {
      settlement: settlement(),
      batchId,
      record,
    });
    await answerEvidence(node.wallets.operator, {
      settlement: settlement(),
      disputeId: asked.disputeId,
      attribution: record.attribution,
      answer: encodeSpanV1Recomputation({ output, chunks: r.witnesses.map((w) => proven(w.contributionId)) }),
    });
    assert.equal(
      (await getDispute(node.publicClient, { settlement: settlement(), disputeId: asked.disputeId })).status,
      2,
    );
    const evidence = encodeSpanV1Challenge({ output, chunks: [1n, 2n, 3n, 4n].map(proven) });
    await assert.rejects(
      challenge(node.wallets.challenger, { settlement: settlement(), batchId, record, evidence }),
      /ChallengeRejected/,
    );
    const after = await balances();
    assert.deepEqual(after, {
      ...before,
      payerEscrow: before.payerEscrow - FEE,
      payerSpent: before.payerSpent + FEE,
    });
    assert.equal((await getBatch(node.publicClient, { settlement: settlement(), batchId })).status, 1); // Pending
  });

  // Runs last: the successful challenge slashes the operator's whole stake.
  test("a challenge adding the omitted original reverts a batch that paid the later copy: slash, reward, refund", async () => {
    const before = await balances();
    const { batchId, record, debits } = await settle([2n, 3n]);
    const evidence = encodeSpanV1Challenge({ output, chunks: [2n, 3n, 1n].map(proven) });
    const sent = await challenge(node.wallets.challenger, {
      settlement: settlement(),
      batchId,
      record,
      evidence,
    });
    console.log(`challenge through the precompile: ${sent.receipt.gasUsed} gas`);
    assert.equal((await getBatch(node.publicClient, { settlement: settlement(), batchId })).status, 3); // Reverted
    // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.min takes numbers
    const slashed = SLASH < before.operatorStake ? SLASH : before.operatorStake;
    assert.equal(sent.slashed, slashed);
    assert.equal(sent.reward, slashed / 2n);
    let after = await balances();
    assert.equal(after.operatorStake, before.operatorStake - slashed);
    assert.equal(after.challengerEarnings, before.challengerEarnings + slashed / 2n);
    assert.equal(after.treasuryEarnings, before.treasuryEarnings + slashed - slashed / 2n);
    assert.equal(after.payerEscrow, before.payerEscrow - FEE);
    const refunded = await refund(node.wallets.challenger, { settlement: settlement(), batchId, debits });
    assert.equal(refunded.amount, FEE);
    const claimed = await claimEarnings(node.wallets.challenger, { settlement: settlement() });
    assert.equal(claimed.amount, slashed / 2n);
    after = await balances();
    assert.deepEqual(after, {
      operatorStake: before.operatorStake - slashed,
      challengerTokens: before.challengerTokens + slashed / 2n,
      challengerEarnings: before.challengerEarnings,
      treasuryEarnings: before.treasuryEarnings + slashed - slashed / 2n,
      payerEscrow: before.payerEscrow,
      payerSpent: before.payerSpent,
    });
  });

  /**
   * The operator attributes the payer's request over `settled` chunks and posts a batch of two records
   * (the challenged one is record 1) paying the contributors' share to a payee by that attribution.
   */
  async function settle(settled: bigint[]) {
    const r = computeSpanV1(output, settled.map(proven), [node.tree.root]);
    const other = computeSpanV1(
      "Saturn's rings are made mostly of water ice particles, says the guide.",
      chunks,
      [node.tree.root],
    );
    const witnessesOf = (x: typeof r) => x.witnesses.map((w) => proven(w.contributionId));
    const attribution = (x: typeof r) =>
      encodeSpanV1Attribution({
        outputHash: x.outputHash,
        commitment: x.commitment,
        snapshotIds: [node.snapshotId],
        witnesses: witnessesOf(x),
      });
    const contributors = (FEE * 5000n) / 10_000n;
    const records = [
      { attribution: attribution(other), payouts: [{ account: payee, amount: contributors / 2n }] },
      {
        attribution: attribution(r),
        payouts: [{ account: payee, amount: contributors - contributors / 2n }],
      },
    ];
    return { r, ...(await node.postTwoRecords(records)) };
  }
});
