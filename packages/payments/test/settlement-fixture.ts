// A real anvil with the protocol deployed, one Datanet whose snapshot holds two contributed passages
// (a true chunks root and contributors root), a model trained on it, a staked-or-not operator and the
// payment gate attributing answers against the snapshot: what the settlement tests share.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type SpanChunk, SpanIndex, spanChunkLeaf } from "@openledger/attribution";
import { type Anvil, devAccounts, startAnvil } from "@openledger/devnet";
import { MerkleTree } from "@openledger/merkle";
import type { UsageRecord } from "@openledger/openlora";
import {
  approveToken,
  authorize,
  buildPayoutTree,
  buyLicense,
  connect,
  contribute,
  createDatanet,
  curate,
  deployProtocol,
  deposit,
  type ProtocolAddresses,
  publishSnapshot,
  registerModel,
  stake,
  transferToken,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import { type Address, type Client, type Hex, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import type { TrainingSnapshot } from "../src/batch-builder.ts";
import { PaymentsDb } from "../src/db.ts";
import type { WitnessChunks } from "../src/evidence.ts";
import { PaymentGate } from "../src/gate.ts";

// the paid inference server (OpenLoRA behind the gate) is shared through this entry point too
export * from "./paid-server.ts";

/** The `openledger` CLI entry point. */
export const OPENLEDGER = new URL("../../cli/bin/openledger.js", import.meta.url).pathname;

/** Runs the CLI without blocking this process, which serves the API it reads. */
export function cli(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [OPENLEDGER, ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

export const OPEN = 10n ** 18n;
export const PRICE = 10n ** 15n; // per 1,000 tokens

export const PASSAGES = [
  "Glaciers carve deep fjords while ancient blue ice grinds slowly toward the northern sea",
  "Copper kettles whistle as saffron steam curls above the midnight bazaar lanterns",
] as const;

export interface SettlementChain {
  anvil: Anvil;
  client: Client;
  wallet: (i: number) => Promise<WalletClientWithAccount>;
  addresses: ProtocolAddresses;
  chainId: number;
  dir: string;
  snapshotId: bigint;
  modelId: bigint;
  contributionIds: bigint[];
  contributors: Address[];
  modelOwner: Address;
  operator: ReturnType<typeof privateKeyToAccount>;
  training: TrainingSnapshot[];
  /** the snapshot's chunks, in leaf order, and its on-chain chunks root */
  chunks: SpanChunk[];
  snapshotRoot: Hex;
  /** the gate's witness source: chunk texts with proofs against the snapshot root */
  witnessChunks: WitnessChunks;
  db: PaymentsDb;
  gate: PaymentGate;
  /** stakes the operator (a batch is refused until then): the minimum, 1,000 OPEN, unless told */
  stakeOperator(amount?: bigint): Promise<void>;
  /** funds `who`'s escrow and authorises the operator for all of it */
  fundEscrow(who: number, amount: bigint): Promise<void>;
  /** a finished request of `tokens` completion tokens answering `output` */
  usage(id: string, output: string, tokens: number): UsageRecord;
  /** moves chain time on by `seconds` and mines a block */
  advance(seconds: number): Promise<void>;
}

const ZERO = `0x${"00".repeat(32)}` as const;

/** A later contribution (dev account 7) that copies passage 0 with one word added: span-v2 pays it nothing. */
export const COPY = `Quoted ${PASSAGES[0]}`;

export async function startSettlementChain(
  verifier: "none" | "span-v2" = "none",
  o: { withCopy?: boolean } = {},
): Promise<SettlementChain> {
  const dir = mkdtempSync(join(tmpdir(), "payments-settlement-"));
  const anvil = await startAnvil({ extraArgs: ["--disable-code-size-limit"] });
  const wallets = new Map<number, WalletClientWithAccount>();
  const wallet = async (i: number) => {
    let w = wallets.get(i);
    if (!w) {
      w = (await connect(anvil.rpcUrl, devAccounts[i]!.privateKey)).walletClient!;
      wallets.set(i, w);
    }
    return w;
  };
  const { publicClient: client } = await connect(anvil.rpcUrl);
  const admin = await wallet(0);
  const { addresses } = await deployProtocol(admin, client, {
    deploymentsDir: join(dir, "deployments"),
    verifier,
  });
  const registry = addresses.datanetRegistry;
  const { datanetId } = await createDatanet(admin, {
    registry,
    metadataURI: "ipfs://settlement-test",
    licensePrice: 0n,
    ownerBps: 10_000,
  });
  // contributors: dev accounts 1 and 2, one passage each
  const texts: string[] = [...PASSAGES, ...(o.withCopy ? [COPY] : [])];
  const authors = o.withCopy ? [1, 2, 7] : [1, 2];
  const contributors = authors.map((i) => devAccounts[i]!.address as Address);
  const contributionIds: bigint[] = [];
  for (const [k, text] of texts.entries()) {
    const { contributionId } = await contribute(await wallet(authors[k]!), {
      registry,
      datanetId,
      contentHash: keccak256(toHex(text)),
      byteSize: BigInt(text.length),
      license: ZERO,
    });
    await curate(admin, { registry, contributionId, accept: true });
    contributionIds.push(contributionId);
  }
  const chunks: SpanChunk[] = texts.map((text, k) => ({
    contributionId: contributionIds[k]!,
    chunkIndex: 0,
    text,
  }));
  const chunkTree = MerkleTree.build(chunks.map(spanChunkLeaf));
  const weights = buildPayoutTree(contributors.map((account) => ({ account, amount: 1n })));
  const { snapshotId } = await publishSnapshot(admin, {
    registry,
    datanetId,
    chunksRoot: chunkTree.root,
    chunkCount: chunks.length,
    contributionCount: chunks.length,
    contributorsRoot: weights.root,
    totalWeight: BigInt(contributors.length),
    uri: "ipfs://settlement-test-snapshot",
  });
  const modelOwner = devAccounts[3]!.address as Address;
  const owner = await wallet(3);
  await buyLicense(owner, { registry, snapshotId });
  const { modelId } = await registerModel(owner, {
    registry: addresses.modelRegistry,
    metadataURI: "ipfs://settlement-test-model",
    version: {
      baseModelHash: keccak256(toHex("base")),
      adapterHash: keccak256(toHex("adapter")),
      adapterURI: "ipfs://adapter",
      snapshotIds: [snapshotId],
      trainingConfigHash: keccak256(toHex("{}")),
      pricePer1kTokens: PRICE,
    },
  });
  const index = SpanIndex.build(chunks, chunkTree.root);
  const operator = privateKeyToAccount(devAccounts[4]!.privateKey);
  const chainId = await getChainId(client);
  const db = new PaymentsDb(join(dir, "payments.sqlite"));
  const witnessChunks: WitnessChunks = async (ids, refs) =>
    refs.map((r) => {
      const leaf = chunks.findIndex(
        (c) => c.contributionId === r.contributionId && c.chunkIndex === r.chunkIndex,
      );
      return { ...chunks[leaf]!, snapshotId: ids[0]!, proof: chunkTree.proof(leaf) };
    });
  const gate = new PaymentGate({
    client,
    chainId,
    settlement: addresses.inferenceSettlement,
    operator,
    db,
    spanIndexes: async () => [index],
    witnessChunks,
  });
  return {
    anvil,
    client,
    wallet,
    addresses,
    chainId,
    dir,
    snapshotId,
    modelId,
    contributionIds,
    contributors,
    modelOwner,
    operator,
    snapshotRoot: chunkTree.root,
    witnessChunks,
    training: [
      {
        snapshotId,
        trainingTokens: 100n,
        totalWeight: BigInt(contributors.length),
        contributors: contributors.map((account) => ({ account, weight: 1n })),
      },
    ],
    chunks,
    db,
    gate,
    async stakeOperator(amount = 1_000n * OPEN) {
      await transferToken(admin, { token: addresses.token, to: operator.address, amount });
      const op = await wallet(4);
      await approveToken(op, { token: addresses.token, spender: addresses.staking, amount });
      await stake(op, { staking: addresses.staking, amount });
    },
    async fundEscrow(who, amount) {
      const w = await wallet(who);
      await transferToken(admin, { token: addresses.token, to: w.account.address, amount });
      await approveToken(w, { token: addresses.token, spender: addresses.inferenceSettlement, amount });
      await deposit(w, { settlement: addresses.inferenceSettlement, amount });
      await authorize(w, {
        settlement: addresses.inferenceSettlement,
        operator: operator.address,
        cap: amount,
        expiry: 2n ** 39n,
      });
    },
    usage(id, output, tokens) {
      const now = new Date();
      return {
        id,
        model: { name: "settled", modelId, version: 1, owner: modelOwner, pricePer1kTokens: PRICE },
        adapters: [],
        tenant: "test",
        backend: "test",
        prompt: "tell me",
        output,
        promptTokens: 10,
        completionTokens: tokens,
        totalTokens: 10 + tokens,
        finishReason: "stop",
        startedAt: now,
        finishedAt: now,
      };
    },
    async advance(seconds) {
      await client.request({ method: "evm_increaseTime", params: [seconds] } as never);
      await client.request({ method: "evm_mine", params: [] } as never);
    },
  };
}
