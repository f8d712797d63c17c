// span-v2 on the project's own L2 node: the precompile registered at 0x…0802 beside span-v1's equals the
// library on every shared span-v2 vector (called directly and through SpanV2Verifier), and settlement
// batches with span-v2 records are judged by SpanV2Verifier in precompile mode: an honest batch answers an
// evidence request and withstands challenges, and a batch that paid a copy extended by a word on each side
// (which span-v1 would pay in full) is reverted by a challenger adding the original. Operator, payer,
// challenger and contributors are separate accounts; every balance change is checked to the wei.
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
  authorize,
  buildRecordTree,
  challenge,
  connect,
  contribute,
  createDatanet,
  curate,
  currentParams,
  datanetRegistryAbi,
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
  spanV2VerifierAbi,
  spdxToBytes32,
  stake,
  stakeOf,
  transferToken,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import { type Address, createPublicClient, type Hex, hexToBytes, http, keccak256, toHex } from "viem";
import {
  computeSpanV2,
  decodeSpanV1PrecompileOutput,
  encodeSpanV1PrecompileInput,
  encodeSpanV2Attribution,
  encodeSpanV2Challenge,
  encodeSpanV2PayoutsChallenge,
  encodeSpanV2Recomputation,
  nfcBytes,
  payoutsForCredits,
  SPAN_V1_PRECOMPILE_ADDRESS,
  SPAN_V2_PRECOMPILE_ADDRESS,
  type SpanChunk,
  spanChunkLeaf,
  spanV1Precompile,
  spanV2Precompile,
} from "../src/index.ts";
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
const tree = MerkleTree.build(chunks.map(spanChunkLeaf));

describe("span-v2 on the OpenLedger node", () => {
  let running: RunningNode;
  type Role = "admin" | "operator" | "payer" | "challenger" | "c1" | "c2" | "c3" | "c4";
  const wallets = {} as Record<Role, WalletClientWithAccount>;
  let publicClient: Awaited<ReturnType<typeof connect>>["publicClient"];
  let addresses: ProtocolAddresses;
  let snapshotId: bigint;
  let modelId: bigint;
  const contributorOf = new Map<bigint, Hex>();
  const OPEN = 10n ** 18n;
  const STAKE = 10n * OPEN;
  const SLASH = 4n * OPEN;
  const fee = OPEN;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "span-v2-node-"));
    running = await startNode({
      datadir: join(dir, "chain"),
      automine: true,
      precompiles: [spanV1Precompile, spanV2Precompile],
      host: "127.0.0.1",
      port: 0,
    });
    const roles: Role[] = ["admin", "operator", "payer", "challenger", "c1", "c2", "c3", "c4"];
    const accounts = deriveDevAccounts(roles.length);
    for (const [i, role] of roles.entries()) {
      const conn = await connect(running.url, accounts[i].privateKey);
      wallets[role] = conn.walletClient!;
      publicClient = conn.publicClient;
    }
    ({ addresses } = await deployProtocol(wallets.admin, publicClient, {
      token: "open",
      verifier: "span-v2-precompile",
      minOperatorStake: OPEN,
      deploymentsDir: join(dir, "deployments"),
      fresh: true,
    }));
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
    const registry = addresses.datanetRegistry;
    const datanet = async (uri: string) =>
      (await createDatanet(wallets.admin, { registry, metadataURI: uri, licensePrice: 0n, ownerBps: 0 }))
        .datanetId;
    const facts = await datanet("ipfs://facts");
    const copies = await datanet("ipfs://copies");
    for (const [k, c] of chunks.entries()) {
      const who = wallets[(["c1", "c2", "c3", "c4"] as const)[k]];
      const { contributionId } = await contribute(who, {
        registry,
        datanetId: c.contributionId === 3n ? copies : facts,
        contentHash: keccak256(nfcBytes(c.text)),
        byteSize: BigInt(nfcBytes(c.text).length),
        license: spdxToBytes32("MIT"),
      });
      assert.equal(contributionId, c.contributionId);
      await curate(wallets.admin, { registry, contributionId, accept: true });
      const contributor = await publicClient.readContract({
        address: registry,
        abi: datanetRegistryAbi,
        functionName: "contributorOf",
        args: [contributionId],
      });
      assert.equal(contributor, who.account.address);
      contributorOf.set(contributionId, contributor);
    }
    ({ snapshotId } = await publishSnapshot(wallets.admin, {
      registry,
      datanetId: facts,
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

  test("eth_call to 0x…0802 and SpanV2Verifier.recompute give the library's commitment on every span-v2 vector", async () => {
    const client = createPublicClient({ transport: http(running.url) });
    const vectors: SpanV2Vector[] = JSON.parse(readFileSync(SPAN_V2_VECTORS_FILE, "utf8")).vectors;
    for (const v of vectors) {
      const { data } = await client.call({ to: SPAN_V2_PRECOMPILE_ADDRESS, data: inputOf(v) });
      const out = decodeSpanV1PrecompileOutput(hexToBytes(data!));
      assert.equal(out.commitment, v.commitment, v.name);
      assert.deepEqual(out.contributionIds.map(String), v.contributionIds, v.name);
      assert.deepEqual(out.shares.map(Number), v.shares, v.name);
      const [ok, commitment] = await publicClient.readContract({
        address: addresses.verifier!,
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
    const client = createPublicClient({ transport: http(running.url) });
    const vectors: Vector[] = JSON.parse(readFileSync(VECTORS_FILE, "utf8")).vectors;
    for (const v of vectors.slice(0, 5)) {
      const { data } = await client.call({ to: SPAN_V1_PRECOMPILE_ADDRESS, data: inputOf(v) });
      assert.equal(decodeSpanV1PrecompileOutput(hexToBytes(data!)).commitment, v.commitment, v.name);
    }
  });

  test("malformed input to 0x…0802 reverts with a span-v2 message", async () => {
    const client = createPublicClient({ transport: http(running.url) });
    await assert.rejects(client.call({ to: SPAN_V2_PRECOMPILE_ADDRESS, data: "0x010203" }), /span-v2/);
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
  });

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
    const asked = await requestEvidence(wallets.challenger, { settlement: settlement(), batchId, record });
    const answered = await answerEvidence(wallets.operator, {
      settlement: settlement(),
      disputeId: asked.disputeId,
      attribution: record.attribution,
      answer: encodeSpanV2Recomputation({ output, chunks: r.witnesses.map((w) => proven(w.contributionId)) }),
    });
    console.log(`span-v2 answerEvidence (3 witnesses): ${answered.receipt.gasUsed} gas`);
    assert.equal(
      (await getDispute(publicClient, { settlement: settlement(), disputeId: asked.disputeId })).status,
      2,
    );
    const evidences = [
      encodeSpanV2Challenge({ output, chunks: [1n, 2n, 3n, 4n].map(proven) }),
      encodeSpanV2PayoutsChallenge(r),
    ];
    // the verifier's own cost for this record (eth_estimateGas of the view calls)
    const verifier = { address: addresses.verifier!, abi: spanV2VerifierAbi } as const;
    for (const [kind, evidence] of evidences.entries()) {
      const args = [record.attribution, record.payouts, evidence] as const;
      assert.equal(
        await publicClient.readContract({ ...verifier, functionName: "verifyChallenge", args }),
        false,
      );
      const gas = await publicClient.estimateContractGas({
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
      await publicClient.readContract({ ...verifier, functionName: "verifyAnswer", args: answerArgs }),
      true,
    );
    const answerGas = await publicClient.estimateContractGas({
      ...verifier,
      functionName: "verifyAnswer",
      args: answerArgs,
    });
    console.log(`span-v2 verifyAnswer (3 witnesses): ${answerGas} gas`);
    for (const evidence of evidences) {
      await assert.rejects(
        challenge(wallets.challenger, { settlement: settlement(), batchId, record, evidence }),
        /ChallengeRejected/,
      );
    }
    assert.deepEqual(await balances(), { ...before, payerEscrow: before.payerEscrow - fee });
    assert.equal((await getBatch(publicClient, { settlement: settlement(), batchId })).status, 1); // Pending
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
    const sent = await challenge(wallets.challenger, { settlement: settlement(), batchId, record, evidence });
    console.log(`span-v2 challenge through the precompile: ${sent.receipt.gasUsed} gas`);
    assert.equal((await getBatch(publicClient, { settlement: settlement(), batchId })).status, 3); // Reverted
    assert.equal(sent.slashed, SLASH);
    assert.equal(sent.reward, SLASH / 2n);
    const refunded = await refund(wallets.challenger, { settlement: settlement(), batchId, debits });
    assert.equal(refunded.amount, fee);
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
    const r = computeSpanV2(output, settled.map(proven), [tree.root]);
    const other = computeSpanV2(otherOutput, chunks, [tree.root]);
    const attribution = (x: typeof r) =>
      encodeSpanV2Attribution({
        outputHash: x.outputHash,
        commitment: x.commitment,
        snapshotIds: [snapshotId],
        witnesses: x.witnesses.map((w) => proven(w.contributionId)),
      });
    const share = (fee * 5000n) / 10_000n;
    const contributor = (id: bigint) => contributorOf.get(id)!;
    const records = [
      { attribution: attribution(other), payouts: payoutsForCredits(other.credits, share / 2n, contributor) },
      { attribution: attribution(r), payouts: payoutsForCredits(r.credits, share - share / 2n, contributor) },
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
      debits: posted.debitTree.proofsOf(wallets.payer.account.address as Address),
    };
  }
});
