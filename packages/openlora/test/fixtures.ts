// Publishes demo models exactly as ModelFactory does (the agreed format): blobs in a FileBlobStore,
// ModelRegistry entries on a real anvil, a licensed snapshot behind every adapter version.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FileBlobStore } from "@openledger/datanet";
import { type Anvil, devAccounts, startAnvil } from "@openledger/devnet";
import {
  type Engine,
  GgufFile,
  type LlamaConfig,
  LoraAdapter,
  llamaConfigFromGguf,
  Rng,
  writeGgufLora,
} from "@openledger/ml";
import {
  buyLicense,
  connect,
  createDatanet,
  deployProtocol,
  type ProtocolAddresses,
  publishSnapshot,
  registerModel,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import type { Client, Hex } from "viem";
import { keccak256, toHex } from "viem";
import { sha256Hex } from "../src/content.ts";

const root = new URL("../../ml/recipes/demo-base/out/", import.meta.url).pathname;
export const DEMO_BASE = join(root, "demo-base.gguf");
export const DEMO_TOKENIZER = join(root, "tokenizer.json");

export function demoConfig(): LlamaConfig {
  const f = GgufFile.open(DEMO_BASE);
  try {
    return llamaConfigFromGguf(f);
  } finally {
    f.close();
  }
}

export interface DemoChain {
  anvil: Anvil;
  wallet: WalletClientWithAccount;
  client: Client;
  addresses: ProtocolAddresses;
  blobs: FileBlobStore;
  dir: string;
  snapshotId: bigint;
  base: { name: string; hash: Hex; uri: string };
  tokenizer: string;
  stop(): Promise<void>;
}

export async function startDemoChain(): Promise<DemoChain> {
  const dir = mkdtempSync(join(tmpdir(), "openlora-test-"));
  // no contract size limit: the test chain only needs the registries, whatever the other contracts weigh
  const anvil = await startAnvil({ extraArgs: ["--disable-code-size-limit"] });
  const { walletClient, publicClient } = await connect(anvil.rpcUrl, devAccounts[0].privateKey);
  const wallet = walletClient!;
  const { addresses } = await deployProtocol(wallet, publicClient, {
    deploymentsDir: join(dir, "deployments"),
  });
  const registry = addresses.datanetRegistry;
  const { datanetId } = await createDatanet(wallet, {
    registry,
    metadataURI: "ipfs://demo",
    licensePrice: 0n,
    ownerBps: 10_000,
  });
  const { snapshotId } = await publishSnapshot(wallet, {
    registry,
    datanetId,
    chunksRoot: keccak256(toHex("demo chunks")),
    chunkCount: 1,
    contributionCount: 0,
    contributorsRoot: `0x${"00".repeat(32)}`,
    totalWeight: 0n,
    uri: "ipfs://demo-snapshot",
  });
  await buyLicense(wallet, { registry, snapshotId });
  const blobs = new FileBlobStore(join(dir, "blobs"));
  const baseBytes = readFileSync(DEMO_BASE);
  const { cid: baseCid } = await blobs.put(baseBytes);
  const { cid: tokCid } = await blobs.put(readFileSync(DEMO_TOKENIZER));
  return {
    anvil,
    wallet,
    client: publicClient,
    addresses,
    blobs,
    dir,
    snapshotId,
    base: { name: "demo-base", hash: sha256Hex(baseBytes), uri: `ipfs://${baseCid}` },
    tokenizer: `ipfs://${tokCid}`,
    stop: () => anvil.stop(),
  };
}

/** GGUF LoRA bytes of a seeded adapter whose B is non-zero (so it changes the output). */
export function demoAdapterBytes(engine: Engine, config: LlamaConfig, seed: number, dir: string): Uint8Array {
  const a = LoraAdapter.create(
    engine,
    config,
    { rank: 4, alpha: 8, targets: ["q_proj", "v_proj", "down_proj"] },
    seed,
  );
  const rng = new Rng(seed + 1000);
  for (const s of a.orderedSlots()) for (let i = 0; i < s.B.length; i++) s.B.f32[i] = rng.normal() * 0.3;
  const path = join(dir, `adapter-${seed}.gguf`);
  writeGgufLora(path, a.toFile(), config);
  a.free();
  return readFileSync(path);
}

/** Registers a model; an adapter model gets version 1 (registryHash overrides the recorded hash; chatTemplate goes in its metadata). */
export async function publishDemoModel(
  c: DemoChain,
  name: string,
  adapter?: { bytes: Uint8Array; registryHash?: Hex; price?: bigint; chatTemplate?: string },
): Promise<bigint> {
  const meta = {
    name,
    kind: adapter ? "adapter" : "base",
    baseModel: c.base,
    tokenizer: c.tokenizer,
    ...(adapter?.chatTemplate ? { chatTemplate: adapter.chatTemplate } : {}),
  };
  const { cid: metaCid } = await c.blobs.put(new TextEncoder().encode(JSON.stringify(meta)));
  if (!adapter) {
    const { modelId } = await registerModel(c.wallet, {
      registry: c.addresses.modelRegistry,
      metadataURI: `ipfs://${metaCid}`,
    });
    return modelId;
  }
  const { cid } = await c.blobs.put(adapter.bytes);
  const { modelId } = await registerModel(c.wallet, {
    registry: c.addresses.modelRegistry,
    metadataURI: `ipfs://${metaCid}`,
    version: {
      baseModelHash: c.base.hash,
      adapterHash: adapter.registryHash ?? sha256Hex(adapter.bytes),
      adapterURI: `ipfs://${cid}`,
      snapshotIds: [c.snapshotId],
      trainingConfigHash: keccak256(toHex(`{"name":"${name}"}`)),
      pricePer1kTokens: adapter.price ?? 10n ** 15n,
    },
  });
  return modelId;
}

export function writeTemp(dir: string, name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}
