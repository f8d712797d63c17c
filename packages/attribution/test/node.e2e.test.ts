// End to end on the project's own L2 node: the span-v1 precompile registered at 0x…0801, the protocol
// deployed with SpanV1Verifier in precompile mode, and settlement batches challenged through it.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { deriveDevAccounts, type RunningNode, startNode } from "@openledger/chain";
import { MerkleTree } from "@openledger/merkle";
import {
  approveToken,
  buildPayoutTree,
  challenge,
  connect,
  createDatanet,
  deployProtocol,
  deposit,
  getBatch,
  type ProtocolAddresses,
  postBatch,
  publishSnapshot,
  registerModel,
  spanV1VerifierAbi,
  stake,
  transact,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import { encodeFunctionData, type Hex } from "viem";
import {
  buildAttributionRecords,
  computeSpanV1,
  encodeSpanV1Evidence,
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
  let wallet: WalletClientWithAccount;
  let publicClient: Awaited<ReturnType<typeof connect>>["publicClient"];
  let addresses: ProtocolAddresses;
  let snapshotId: bigint;
  let modelId: bigint;

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), "attribution-node-"));
    running = await startNode({
      datadir: join(dir, "chain"),
      automine: true,
      precompiles: [spanV1Precompile],
      host: "127.0.0.1",
      port: 0,
    });
    const [dev] = deriveDevAccounts(1);
    const conn = await connect(running.url, dev.privateKey);
    wallet = conn.walletClient!;
    publicClient = conn.publicClient;
    const deployed = await deployProtocol(wallet, publicClient, {
      token: "open",
      verifier: "span-v1-precompile",
      minOperatorStake: 10n ** 18n,
      deploymentsDir: join(dir, "deployments"),
      fresh: true,
    });
    addresses = deployed.addresses;
    const { datanetId } = await createDatanet(wallet, {
      registry: addresses.datanetRegistry,
      metadataURI: "ipfs://facts",
      licensePrice: 0n,
      ownerBps: 0,
    });
    ({ snapshotId } = await publishSnapshot(wallet, {
      registry: addresses.datanetRegistry,
      datanetId,
      chunksRoot: tree.root,
      chunkCount: chunks.length,
      contributionCount: 0,
      contributorsRoot: `0x${"00".repeat(32)}`,
      totalWeight: 0n,
      uri: "ipfs://facts/1",
    }));
    await approveToken(wallet, { token: addresses.token, spender: addresses.staking, amount: 10n ** 18n });
    await stake(wallet, { staking: addresses.staking, amount: 10n ** 18n });
    ({ modelId } = await registerModel(wallet, {
      registry: addresses.modelRegistry,
      metadataURI: "ipfs://model",
    }));
    await approveToken(wallet, {
      token: addresses.token,
      spender: addresses.inferenceSettlement,
      amount: 10n ** 20n,
    });
    await deposit(wallet, { settlement: addresses.inferenceSettlement, amount: 10n ** 20n });
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

  test("a challenge adding irrelevant chunks to an honest batch is rejected", async () => {
    const { r, batchId, recordProof } = await settleWithTree([1n, 2n]);
    const evidence = encodeSpanV1Evidence({
      output,
      commitment: r.commitment,
      snapshotIds: [snapshotId],
      witnesses: r.witnesses,
      recordProof,
      chunks: [1n, 2n, 3n, 4n].map(proven),
    });
    await assert.rejects(
      challenge(wallet, { settlement: addresses.inferenceSettlement, batchId, evidence }),
      /ChallengeRejected/,
    );
  });

  // Runs last: the successful challenge slashes the operator out of the operator set.
  test("a challenge adding the omitted original reverts a batch that paid the later copy", async () => {
    const { r, batchId, recordProof } = await settleWithTree([2n, 3n]);
    assert.equal(recordProof.length, 1);
    const evidence = encodeSpanV1Evidence({
      output,
      commitment: r.commitment,
      snapshotIds: [snapshotId],
      witnesses: r.witnesses,
      recordProof,
      chunks: [2n, 3n, 1n].map(proven),
    });
    const sent = await challenge(wallet, { settlement: addresses.inferenceSettlement, batchId, evidence });
    console.log(`challenge through the precompile: ${sent.receipt.gasUsed} gas`);
    const batch = await getBatch(publicClient, { settlement: addresses.inferenceSettlement, batchId });
    assert.equal(batch.status, 3); // Reverted
  });

  /** An operator attributes over `settled` chunks, posts that record for its payout root, then the batch. */
  async function settleWithTree(settled: bigint[]) {
    const r = computeSpanV1(output, settled.map(proven), [tree.root]);
    // The batch served two outputs; the challenged one is record 1.
    const other = computeSpanV1(
      "Saturn's rings are made mostly of water ice particles, says the guide.",
      chunks,
      [tree.root],
    );
    const records = buildAttributionRecords([
      { ...other, snapshotIds: [snapshotId] },
      { ...r, snapshotIds: [snapshotId] },
    ]);
    const leaf = records.root;
    const fee = 10n ** 18n;
    const payee = `0x${settled.join("").padStart(40, "3")}` as Hex;
    const payouts = [{ account: payee, amount: fee / 2n }];
    const contributorsRoot = buildPayoutTree(payouts).root;
    await transact(wallet, {
      to: addresses.verifier!,
      data: encodeFunctionData({
        abi: spanV1VerifierAbi,
        functionName: "postAttributions",
        args: [contributorsRoot, leaf],
      }),
      label: "SpanV1Verifier.postAttributions",
    });
    const { batchId } = await postBatch(wallet, {
      settlement: addresses.inferenceSettlement,
      modelId,
      debits: [{ account: wallet.account.address, amount: fee }],
      payouts,
    });
    return { r, batchId, recordProof: records.proof(1) };
  }
});
