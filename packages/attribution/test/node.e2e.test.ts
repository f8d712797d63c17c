// End to end on the project's own L2 node: the span-v1 precompile registered at 0x…0801, the protocol
// deployed with SpanV1Verifier in precompile mode, and settlement batches challenged through it by a
// challenger who is neither the operator nor the payer; every balance change is checked to the wei.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { deriveDevAccounts, type RunningNode, startNode } from "@openledger/chain";
import { MerkleTree } from "@openledger/merkle";
import {
  answerEvidence,
  approveToken,
  authorizationOf,
  authorize,
  buildRecordTree,
  challenge,
  claimEarnings,
  connect,
  createDatanet,
  currentParams,
  deployProtocol,
  deposit,
  earningsOf,
  escrowOf,
  getBatch,
  getDispute,
  type ProtocolAddresses,
  postBatch,
  publishSnapshot,
  refund,
  registerModel,
  requestEvidence,
  setParams,
  spanV1VerifierAbi,
  stake,
  stakeOf,
  tokenBalance,
  transferToken,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import type { Address } from "viem";
import {
  computeSpanV1,
  encodeSpanV1Attribution,
  encodeSpanV1Challenge,
  encodeSpanV1Recomputation,
  type SpanChunk,
  spanChunkLeaf,
  spanV1Precompile,
} from "../src/index.ts";
import { VECTORS_FILE, type Vector } from "./vectors/vectors.ts";

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
const tree = MerkleTree.build(chunks.map(spanChunkLeaf));

describe("span-v1 on the OpenLedger node", () => {
  let running: RunningNode;
  const wallets: Record<"admin" | "operator" | "payer" | "challenger", WalletClientWithAccount> = {} as never;
  let publicClient: Awaited<ReturnType<typeof connect>>["publicClient"];
  let addresses: ProtocolAddresses;
  let snapshotId: bigint;
  let modelId: bigint;
  const OPEN = 10n ** 18n;
  const STAKE = 10n * OPEN;
  const SLASH = 4n * OPEN;
  const fee = OPEN;
  const payee = "0x3333333333333333333333333333333333333333" as Address;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "attribution-node-"));
    running = await startNode({
      datadir: join(dir, "chain"),
      automine: true,
      precompiles: [spanV1Precompile],
      host: "127.0.0.1",
      port: 0,
    });
    const accounts = deriveDevAccounts(4);
    const roles = ["admin", "operator", "payer", "challenger"] as const;
    for (const [i, role] of roles.entries()) {
      const conn = await connect(running.url, accounts[i].privateKey);
      wallets[role] = conn.walletClient!;
      publicClient = conn.publicClient;
    }
    const deployed = await deployProtocol(wallets.admin, publicClient, {
      token: "open",
      verifier: "span-v1-precompile",
      minOperatorStake: OPEN,
      deploymentsDir: join(dir, "deployments"),
      fresh: true,
    });
    addresses = deployed.addresses;
    // the slash every reverted batch costs its operator, set before the first batch (so at once)
    const params = await currentParams(publicClient, { settlement: addresses.inferenceSettlement });
    await setParams(wallets.admin, {
      settlement: addresses.inferenceSettlement,
      params: { ...params, slashAmount: SLASH },
    });
    for (const role of ["operator", "payer"] as const) {
      await transferToken(wallets.admin, {
        token: addresses.token,
        to: wallets[role].account.address,
        amount: 100n * OPEN,
      });
    }
    const { datanetId } = await createDatanet(wallets.admin, {
      registry: addresses.datanetRegistry,
      metadataURI: "ipfs://facts",
      licensePrice: 0n,
      ownerBps: 0,
    });
    ({ snapshotId } = await publishSnapshot(wallets.admin, {
      registry: addresses.datanetRegistry,
      datanetId,
      chunksRoot: tree.root,
      chunkCount: chunks.length,
      contributionCount: 0,
      contributorsRoot: `0x${"00".repeat(32)}`,
      totalWeight: 0n,
      uri: "ipfs://facts/1",
    }));
    await approveToken(wallets.operator, {
      token: addresses.token,
      spender: addresses.staking,
      amount: STAKE,
    });
    await stake(wallets.operator, { staking: addresses.staking, amount: STAKE });
    ({ modelId } = await registerModel(wallets.operator, {
      registry: addresses.modelRegistry,
      metadataURI: "ipfs://model",
    }));
    await approveToken(wallets.payer, {
      token: addresses.token,
      spender: addresses.inferenceSettlement,
      amount: 100n * OPEN,
    });
    await deposit(wallets.payer, { settlement: addresses.inferenceSettlement, amount: 100n * OPEN });
    await authorize(wallets.payer, {
      settlement: addresses.inferenceSettlement,
      operator: wallets.operator.account.address,
      cap: 10n * OPEN,
      expiry: 2n ** 39n,
    });
  });
  after(() => running?.close());

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
      const [ok, commitment] = await publicClient.readContract({
        address: addresses.verifier!,
        abi: spanV1VerifierAbi,
        functionName: "recompute",
        args,
      });
      assert.equal(ok, true, v.name);
      assert.equal(commitment, v.commitment, v.name);
    }
  });

  const proven = (cid: bigint) => {
    const k = chunks.findIndex((c) => c.contributionId === cid);
    return { ...chunks[k], snapshotId, proof: tree.proof(k) };
  };
  const settlement = () => addresses.inferenceSettlement;
  const balances = async () => ({
    operatorStake: await stakeOf(publicClient, {
      staking: addresses.staking,
      operator: wallets.operator.account.address,
      account: wallets.operator.account.address,
    }),
    challengerTokens: await tokenBalance(publicClient, {
      token: addresses.token,
      account: wallets.challenger.account.address,
    }),
    challengerEarnings: await earningsOf(publicClient, {
      settlement: settlement(),
      account: wallets.challenger.account.address,
    }),
    treasuryEarnings: await earningsOf(publicClient, {
      settlement: settlement(),
      account: wallets.admin.account.address,
    }),
    payerEscrow: await escrowOf(publicClient, {
      settlement: settlement(),
      account: wallets.payer.account.address,
    }),
    payerSpent: (
      await authorizationOf(publicClient, {
        settlement: settlement(),
        payer: wallets.payer.account.address,
        operator: wallets.operator.account.address,
      })
    ).spent,
  });

  test("an honest batch answers an evidence request; a challenge adding irrelevant chunks is rejected", async () => {
    const before = await balances();
    const { r, batchId, record } = await settle([1n, 2n]);
    const asked = await requestEvidence(wallets.challenger, { settlement: settlement(), batchId, record });
    await answerEvidence(wallets.operator, {
      settlement: settlement(),
      disputeId: asked.disputeId,
      attribution: record.attribution,
      answer: encodeSpanV1Recomputation({ output, chunks: r.witnesses.map((w) => proven(w.contributionId)) }),
    });
    assert.equal(
      (await getDispute(publicClient, { settlement: settlement(), disputeId: asked.disputeId })).status,
      2,
    );
    const evidence = encodeSpanV1Challenge({ output, chunks: [1n, 2n, 3n, 4n].map(proven) });
    await assert.rejects(
      challenge(wallets.challenger, { settlement: settlement(), batchId, record, evidence }),
      /ChallengeRejected/,
    );
    const after = await balances();
    assert.deepEqual(after, {
      ...before,
      payerEscrow: before.payerEscrow - fee,
      payerSpent: before.payerSpent + fee,
    });
    assert.equal((await getBatch(publicClient, { settlement: settlement(), batchId })).status, 1); // Pending
  });

  // Runs last: the successful challenge slashes the operator's whole stake.
  test("a challenge adding the omitted original reverts a batch that paid the later copy: slash, reward, refund", async () => {
    const before = await balances();
    const { batchId, record, debits } = await settle([2n, 3n]);
    const evidence = encodeSpanV1Challenge({ output, chunks: [2n, 3n, 1n].map(proven) });
    const sent = await challenge(wallets.challenger, { settlement: settlement(), batchId, record, evidence });
    console.log(`challenge through the precompile: ${sent.receipt.gasUsed} gas`);
    assert.equal((await getBatch(publicClient, { settlement: settlement(), batchId })).status, 3); // Reverted
    const slashed = SLASH < before.operatorStake ? SLASH : before.operatorStake;
    assert.equal(sent.slashed, slashed);
    assert.equal(sent.reward, slashed / 2n);
    let after = await balances();
    assert.equal(after.operatorStake, before.operatorStake - slashed);
    assert.equal(after.challengerEarnings, before.challengerEarnings + slashed / 2n);
    assert.equal(after.treasuryEarnings, before.treasuryEarnings + slashed - slashed / 2n);
    assert.equal(after.payerEscrow, before.payerEscrow - fee);
    const refunded = await refund(wallets.challenger, { settlement: settlement(), batchId, debits });
    assert.equal(refunded.amount, fee);
    const claimed = await claimEarnings(wallets.challenger, { settlement: settlement() });
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
    const r = computeSpanV1(output, settled.map(proven), [tree.root]);
    const other = computeSpanV1(
      "Saturn's rings are made mostly of water ice particles, says the guide.",
      chunks,
      [tree.root],
    );
    const witnessesOf = (x: typeof r) => x.witnesses.map((w) => proven(w.contributionId));
    const attribution = (x: typeof r) =>
      encodeSpanV1Attribution({
        outputHash: x.outputHash,
        commitment: x.commitment,
        snapshotIds: [snapshotId],
        witnesses: witnessesOf(x),
      });
    const contributors = (fee * 5000n) / 10_000n;
    const records = [
      { attribution: attribution(other), payouts: [{ account: payee, amount: contributors / 2n }] },
      {
        attribution: attribution(r),
        payouts: [{ account: payee, amount: contributors - contributors / 2n }],
      },
    ];
    const posted = await postBatch(wallets.operator, {
      settlement: settlement(),
      modelId,
      debits: [{ account: wallets.payer.account.address, amount: fee }],
      records,
    });
    assert.equal(buildRecordTree(records).root, posted.recordTree.root);
    return {
      r,
      batchId: posted.batchId,
      record: posted.recordTree.proof(1),
      debits: posted.debitTree.proofsOf(wallets.payer.account.address),
    };
  }
});
