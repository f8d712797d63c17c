// The set-up the span-v1 and span-v2 node end-to-end tests share: the project's own L2 node with the given
// attribution precompiles, the protocol deployed with a span verifier in precompile mode, four contributors'
// chunks curated and published as one snapshot (contribution 3 in a second Datanet: the later copy), a
// staked operator with a registered model, and a payer who deposited and authorised it. Every role is its
// own dev account.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deriveDevAccounts, type PrecompileDefinition, type RunningNode, startNode } from "@openledger/chain";
import { MerkleTree } from "@openledger/merkle";
import {
  approveToken,
  authorize,
  buildRecordTree,
  connect,
  contribute,
  createDatanet,
  curate,
  currentParams,
  type DeployOptions,
  datanetRegistryAbi,
  deployProtocol,
  deposit,
  earningsOf,
  escrowOf,
  type ProtocolAddresses,
  postBatch,
  publishSnapshot,
  type RecordInput,
  registerModel,
  setParams,
  spdxToBytes32,
  stake,
  stakeOf,
  transferToken,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import { type Address, keccak256 } from "viem";
import { nfcBytes, type SpanChunk, spanChunkLeaf } from "../src/index.ts";

export const OPEN = 10n ** 18n;
export const STAKE = 10n * OPEN;
/** The slash every reverted batch costs its operator (set before the first batch). */
export const SLASH = 4n * OPEN;
/** What the payer is charged per batch. */
export const FEE = OPEN;

const ROLES = ["admin", "operator", "payer", "challenger", "c1", "c2", "c3", "c4"] as const;
export type Role = (typeof ROLES)[number];

export interface SettlementNode {
  running: RunningNode;
  wallets: Record<Role, WalletClientWithAccount>;
  publicClient: Awaited<ReturnType<typeof connect>>["publicClient"];
  addresses: ProtocolAddresses;
  settlement: Address;
  snapshotId: bigint;
  modelId: bigint;
  tree: MerkleTree;
  /** Contribution id -> the contributor's account, as the registry records it. */
  contributorOf: Map<bigint, Address>;
  /** Contribution `cid`'s chunk with its proof in the snapshot. */
  proven(cid: bigint): SpanChunk & { snapshotId: bigint; proof: ReturnType<MerkleTree["proof"]> };
  /** The balances a batch's outcome moves: the operator's stake, earnings, the payer's escrow. */
  balances(): Promise<{
    operatorStake: bigint;
    challengerEarnings: bigint;
    treasuryEarnings: bigint;
    payerEscrow: bigint;
  }>;
  /**
   * The operator posts one batch charging the payer FEE with `records`; returns record 1's proof (the
   * challenged one) and the payer's debit proofs.
   */
  postTwoRecords(records: RecordInput[]): Promise<{
    batchId: bigint;
    record: ReturnType<Awaited<ReturnType<typeof postBatch>>["recordTree"]["proof"]>;
    debits: ReturnType<Awaited<ReturnType<typeof postBatch>>["debitTree"]["proofsOf"]>;
  }>;
  close(): Promise<void> | void;
}

export async function startSettlementNode(options: {
  chunks: readonly SpanChunk[];
  precompiles: PrecompileDefinition[];
  verifier: NonNullable<DeployOptions["verifier"]>;
}): Promise<SettlementNode> {
  const { chunks } = options;
  const dir = mkdtempSync(join(tmpdir(), "attribution-node-"));
  const running = await startNode({
    datadir: join(dir, "chain"),
    automine: true,
    precompiles: options.precompiles,
    host: "127.0.0.1",
    port: 0,
  });
  const accounts = deriveDevAccounts(ROLES.length);
  const wallets = {} as Record<Role, WalletClientWithAccount>;
  let publicClient!: SettlementNode["publicClient"];
  for (const [i, role] of ROLES.entries()) {
    const conn = await connect(running.url, accounts[i].privateKey);
    wallets[role] = conn.walletClient!;
    publicClient = conn.publicClient;
  }
  const { addresses } = await deployProtocol(wallets.admin, publicClient, {
    token: "open",
    verifier: options.verifier,
    minOperatorStake: OPEN,
    deploymentsDir: join(dir, "deployments"),
    fresh: true,
  });
  const settlement = addresses.inferenceSettlement;
  const params = await currentParams(publicClient, { settlement });
  await setParams(wallets.admin, { settlement, params: { ...params, slashAmount: SLASH } });
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
  const contributorOf = new Map<bigint, Address>();
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
  const tree = MerkleTree.build(chunks.map(spanChunkLeaf));
  const { snapshotId } = await publishSnapshot(wallets.admin, {
    registry,
    datanetId: facts,
    chunksRoot: tree.root,
    chunkCount: chunks.length,
    contributionCount: 0,
    contributorsRoot: `0x${"00".repeat(32)}`,
    totalWeight: 0n,
    uri: "ipfs://facts/1",
  });

  await approveToken(wallets.operator, { token: addresses.token, spender: addresses.staking, amount: STAKE });
  await stake(wallets.operator, { staking: addresses.staking, amount: STAKE });
  const { modelId } = await registerModel(wallets.operator, {
    registry: addresses.modelRegistry,
    metadataURI: "ipfs://model",
  });
  await approveToken(wallets.payer, { token: addresses.token, spender: settlement, amount: 100n * OPEN });
  await deposit(wallets.payer, { settlement, amount: 100n * OPEN });
  await authorize(wallets.payer, {
    settlement,
    operator: wallets.operator.account.address,
    cap: 10n * OPEN,
    expiry: 2n ** 39n,
  });

  return {
    running,
    wallets,
    publicClient,
    addresses,
    settlement,
    snapshotId,
    modelId,
    tree,
    contributorOf,
    proven(cid) {
      const k = chunks.findIndex((c) => c.contributionId === cid);
      return { ...chunks[k], snapshotId, proof: tree.proof(k) };
    },
    async balances() {
      const account = (role: Role) => wallets[role].account.address;
      return {
        operatorStake: await stakeOf(publicClient, {
          staking: addresses.staking,
          operator: account("operator"),
          account: account("operator"),
        }),
        challengerEarnings: await earningsOf(publicClient, { settlement, account: account("challenger") }),
        treasuryEarnings: await earningsOf(publicClient, { settlement, account: account("admin") }),
        payerEscrow: await escrowOf(publicClient, { settlement, account: account("payer") }),
      };
    },
    async postTwoRecords(records) {
      const posted = await postBatch(wallets.operator, {
        settlement,
        modelId,
        debits: [{ account: wallets.payer.account.address, amount: FEE }],
        records,
      });
      assert.equal(buildRecordTree(records).root, posted.recordTree.root);
      return {
        batchId: posted.batchId,
        record: posted.recordTree.proof(1),
        debits: posted.debitTree.proofsOf(wallets.payer.account.address),
      };
    },
    close: () => running.close(),
  };
}
