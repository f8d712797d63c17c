// span-v2 on the project's own L2 node: the precompile registered at 0x…0802 beside span-v1's equals the
// library on every shared span-v2 vector (called directly and through SpanV2Verifier), and settlement
// batches with span-v2 records are judged by SpanV2Verifier in precompile mode: an honest batch answers an
// evidence request and withstands challenges, and a batch that paid a copy extended by a word on each side
// (which span-v1 would pay in full) is reverted by a challenger adding the original. Operator, payer,
// challenger and contributors are separate accounts; every balance change is checked to the wei.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  answerEvidence,
  challenge,
  getBatch,
  getDispute,
  refund,
  requestEvidence,
  spanV2VerifierAbi,
} from "@openledger/sdk";
import { createPublicClient, hexToBytes, http, toHex } from "viem";
import {
  computeSpanV2,
  decodeSpanV1PrecompileOutput,
  encodeSpanV1PrecompileInput,
  encodeSpanV2Attribution,
  encodeSpanV2Challenge,
  encodeSpanV2PayoutsChallenge,
  encodeSpanV2Recomputation,
  payoutsForCredits,
  SPAN_V1_PRECOMPILE_ADDRESS,
  SPAN_V2_PRECOMPILE_ADDRESS,
  type SpanChunk,
  spanV1Precompile,
  spanV2Precompile,
} from "../src/index.ts";
import { FEE, type SettlementNode, SLASH, startSettlementNode } from "./settlementNode.ts";
import { SPAN_V2_VECTORS_FILE, type SpanV2Vector } from "./vectors/spanV2Vectors.ts";
import { VECTORS_FILE, type Vector } from "./vectors/vectors.ts";

const inputOf = (v: Vector | SpanV2Vector) =>
  toHex(
    encodeSpanV1PrecompileInput(
      hexToBytes(v.output),
      v.roots,
      v.chunks.map((c) => ({
        contributionId: BigInt(c.contributionId),
        chunkIndex: c.chunkIndex,
        text: hexToBytes(c.text),
      })),
    ),
  );

// Contribution 3 is a later copy of 1 extended by one word on each side, in another Datanet.
const chunks: SpanChunk[] = [
  { contributionId: 1n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
  {
    contributionId: 2n,
    chunkIndex: 0,
    text: "Honeybees communicate flower locations through a waggle dance.",
  },
  {
    contributionId: 3n,
    chunkIndex: 0,
    text: "facts: octopuses have three hearts and blue copper-based blood, and",
  },
  { contributionId: 4n, chunkIndex: 0, text: "Saturn's rings are made mostly of water ice particles." },
];
const output =
  "Fun facts: octopuses have three hearts and blue copper-based blood, and honeybees communicate flower locations through dancing.";
const otherOutput = "Saturn's rings are made mostly of water ice particles, says the guide.";

describe("span-v2 on the OpenLedger node", () => {
  let node: SettlementNode;

  before(async () => {
    node = await startSettlementNode({
      chunks,
      precompiles: [spanV1Precompile, spanV2Precompile],
      verifier: "span-v2-precompile",
    });
  });
  after(() => node?.close());

  test("eth_call to 0x…0802 and SpanV2Verifier.recompute give the library's commitment on every span-v2 vector", async () => {
    const client = createPublicClient({ transport: http(node.running.url) });
    const vectors: SpanV2Vector[] = JSON.parse(readFileSync(SPAN_V2_VECTORS_FILE, "utf8")).vectors;
    for (const v of vectors) {
      const { data } = await client.call({ to: SPAN_V2_PRECOMPILE_ADDRESS, data: inputOf(v) });
      const out = decodeSpanV1PrecompileOutput(hexToBytes(data!));
      assert.equal(out.commitment, v.commitment, v.name);
      assert.deepEqual(out.contributionIds.map(String), v.contributionIds, v.name);
      assert.deepEqual(out.shares.map(Number), v.shares, v.name);
      const [ok, commitment] = await node.publicClient.readContract({
        address: node.addresses.verifier!,
        abi: spanV2VerifierAbi,
        functionName: "recompute",
        args: [
          v.output,
          v.roots,
          v.chunks.map((c) => ({
            contributionId: BigInt(c.contributionId),
            chunkIndex: c.chunkIndex,
            text: c.text,
          })),
        ],
      });
      assert.equal(ok, true, v.name);
      assert.equal(commitment, v.commitment, v.name);
    }
  });

  test("span-v1 at 0x…0801 still answers with the posted span-v1 commitments", async () => {
    const client = createPublicClient({ transport: http(node.running.url) });
    const vectors: Vector[] = JSON.parse(readFileSync(VECTORS_FILE, "utf8")).vectors;
    for (const v of vectors.slice(0, 5)) {
      const { data } = await client.call({ to: SPAN_V1_PRECOMPILE_ADDRESS, data: inputOf(v) });
      assert.equal(decodeSpanV1PrecompileOutput(hexToBytes(data!)).commitment, v.commitment, v.name);
    }
  });

  test("malformed input to 0x…0802 reverts with a span-v2 message", async () => {
    const client = createPublicClient({ transport: http(node.running.url) });
    await assert.rejects(client.call({ to: SPAN_V2_PRECOMPILE_ADDRESS, data: "0x010203" }), /span-v2/);
  });

  const proven = (cid: bigint) => node.proven(cid);
  const settlement = () => node.settlement;
  const balances = () => node.balances();

  test("an honest span-v2 batch answers an evidence request; recomputation and payouts challenges are rejected", async () => {
    const before = await balances();
    const { r, batchId, record } = await settle([1n, 2n, 3n]);
    assert.deepEqual(
      r.credits.map((c) => c.contributionId),
      [1n, 2n],
      "the extended copy earns nothing",
    );
    assert.deepEqual(
      r.witnesses.map((w) => w.contributionId),
      [1n, 2n, 3n],
      "the copy is an uncredited witness",
    );
    const asked = await requestEvidence(node.wallets.challenger, {
      settlement: settlement(),
      batchId,
      record,
    });
    const answered = await answerEvidence(node.wallets.operator, {
      settlement: settlement(),
      disputeId: asked.disputeId,
      attribution: record.attribution,
      answer: encodeSpanV2Recomputation({ output, chunks: r.witnesses.map((w) => proven(w.contributionId)) }),
    });
    console.log(`span-v2 answerEvidence (3 witnesses): ${answered.receipt.gasUsed} gas`);
    assert.equal(
      (await getDispute(node.publicClient, { settlement: settlement(), disputeId: asked.disputeId })).status,
      2,
    );
    const evidences = [
      encodeSpanV2Challenge({ output, chunks: [1n, 2n, 3n, 4n].map(proven) }),
      encodeSpanV2PayoutsChallenge(r),
    ];
    // the verifier's own cost for this record (eth_estimateGas of the view calls)
    const verifier = { address: node.addresses.verifier!, abi: spanV2VerifierAbi } as const;
    for (const [kind, evidence] of evidences.entries()) {
      const args = [record.attribution, record.payouts, evidence] as const;
      assert.equal(
        await node.publicClient.readContract({ ...verifier, functionName: "verifyChallenge", args }),
        false,
      );
      const gas = await node.publicClient.estimateContractGas({
        ...verifier,
        functionName: "verifyChallenge",
        args,
      });
      console.log(`span-v2 verifyChallenge (kind ${kind}, precompile): ${gas} gas`);
    }
    const answer = encodeSpanV2Recomputation({
      output,
      chunks: r.witnesses.map((w) => proven(w.contributionId)),
    });
    const answerArgs = [record.attribution, answer] as const;
    assert.equal(
      await node.publicClient.readContract({ ...verifier, functionName: "verifyAnswer", args: answerArgs }),
      true,
    );
    const answerGas = await node.publicClient.estimateContractGas({
      ...verifier,
      functionName: "verifyAnswer",
      args: answerArgs,
    });
    console.log(`span-v2 verifyAnswer (3 witnesses): ${answerGas} gas`);
    for (const evidence of evidences) {
      await assert.rejects(
        challenge(node.wallets.challenger, { settlement: settlement(), batchId, record, evidence }),
        /ChallengeRejected/,
      );
    }
    assert.deepEqual(await balances(), { ...before, payerEscrow: before.payerEscrow - FEE });
    assert.equal((await getBatch(node.publicClient, { settlement: settlement(), batchId })).status, 1); // Pending
  });

  // Runs last: the successful challenge slashes the operator.
  test("a challenge adding the omitted original reverts a batch that paid the extended copy: slash, reward, refund", async () => {
    const before = await balances();
    const { r, batchId, record, debits } = await settle([3n, 2n]);
    assert.deepEqual(
      r.credits.map((c) => c.contributionId),
      [2n, 3n],
      "without the original the copy is paid",
    );
    const evidence = encodeSpanV2Challenge({ output, chunks: [3n, 2n, 1n].map(proven) });
    const sent = await challenge(node.wallets.challenger, {
      settlement: settlement(),
      batchId,
      record,
      evidence,
    });
    console.log(`span-v2 challenge through the precompile: ${sent.receipt.gasUsed} gas`);
    assert.equal((await getBatch(node.publicClient, { settlement: settlement(), batchId })).status, 3); // Reverted
    assert.equal(sent.slashed, SLASH);
    assert.equal(sent.reward, SLASH / 2n);
    const refunded = await refund(node.wallets.challenger, { settlement: settlement(), batchId, debits });
    assert.equal(refunded.amount, FEE);
    assert.deepEqual(await balances(), {
      operatorStake: before.operatorStake - SLASH,
      challengerEarnings: before.challengerEarnings + SLASH / 2n,
      treasuryEarnings: before.treasuryEarnings + SLASH - SLASH / 2n,
      payerEscrow: before.payerEscrow,
    });
  });

  /**
   * The operator attributes the payer's request over `settled` chunks and posts a batch of two records
   * (the challenged one is record 1), each paying its contributors' share by its credits.
   */
  async function settle(settled: bigint[]) {
    const r = computeSpanV2(output, settled.map(proven), [node.tree.root]);
    const other = computeSpanV2(otherOutput, chunks, [node.tree.root]);
    const attribution = (x: typeof r) =>
      encodeSpanV2Attribution({
        outputHash: x.outputHash,
        commitment: x.commitment,
        snapshotIds: [node.snapshotId],
        witnesses: x.witnesses.map((w) => proven(w.contributionId)),
      });
    const share = (FEE * 5000n) / 10_000n;
    const contributor = (id: bigint) => node.contributorOf.get(id)!;
    const records = [
      { attribution: attribution(other), payouts: payoutsForCredits(other.credits, share / 2n, contributor) },
      { attribution: attribution(r), payouts: payoutsForCredits(r.credits, share - share / 2n, contributor) },
    ];
    return { r, ...(await node.postTwoRecords(records)) };
  }
});
