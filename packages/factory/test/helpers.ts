import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type DatanetService, FileBlobStore, openDatanetService, seedWordnet } from "@openledger/datanet";
import { devAccounts, startAnvil } from "@openledger/devnet";
import { connect, deployProtocol, type ProtocolAddresses } from "@openledger/sdk";
import Fastify, { type FastifyInstance } from "fastify";
import type { LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { fineTuningRoutes } from "../src/http.ts";
import { addBaseModel, type RegistryContext } from "../src/models.ts";
import { openFactory } from "../src/open.ts";
import type { FactoryService } from "../src/service.ts";

export const accounts: LocalAccount[] = devAccounts.map((a) => privateKeyToAccount(a.privateKey));
export const DEMO_BASE = new URL("../../ml/recipes/demo-base/out/demo-base.gguf", import.meta.url).pathname;
export const DEMO_TOKENIZER = new URL("../../ml/recipes/demo-base/out/tokenizer.json", import.meta.url)
  .pathname;

export const tempDir = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

export interface Fixture {
  rpcUrl: string;
  /** data dir whose blobs/ is the content store */
  dir: string;
  deploymentsDir: string;
  addresses: ProtocolAddresses;
  datanets: DatanetService;
  factory: FactoryService;
  app: FastifyInstance;
  url: string;
  registry: RegistryContext;
  /** snapshot name of the seeded noun.animal Datanet, licensed to account 0 */
  snapshot: string;
  stop(): Promise<void>;
}

/**
 * A real anvil with the protocol, one small WordNet Datanet (noun.animal) snapshotted and licensed to
 * dev account 0, the demo base model registered, and the factory's HTTP routes on 127.0.0.1.
 */
export async function startFixture(
  opts: { perDomain?: number; leaseMs?: number; checkpointEvery?: number } = {},
): Promise<Fixture> {
  // the settlement contract is over the 24 KB EIP-170 limit of a plain anvil (the L2 node lifts it)
  const anvil = await startAnvil({ extraArgs: ["--disable-code-size-limit"] });
  const { walletClient, publicClient } = await connect(anvil.rpcUrl, devAccounts[0].privateKey);
  const deploymentsDir = tempDir("factory-deploy-");
  const { addresses } = await deployProtocol(walletClient!, publicClient, { deploymentsDir });
  const dir = tempDir("factory-");
  const keys = devAccounts.slice(0, 6).map((a) => a.privateKey);
  const datanets = await openDatanetService({
    dataDir: join(dir, "datanet"),
    rpcUrl: anvil.rpcUrl,
    registry: addresses.datanetRegistry,
    token: addresses.token,
    privateKeys: keys,
  });
  const seeded = await seedWordnet(datanets, {
    owner: accounts[0],
    contributors: accounts.slice(1, 3),
    perDomain: opts.perDomain ?? 32,
    domains: ["noun.animal"],
    rejectEvery: 0,
  });
  const snapshotId = seeded.snapshots[0].snapshotId;
  await datanets.buyLicense(accounts[0].address, snapshotId);
  const factory = await openFactory({
    dataDir: join(dir, "factory"),
    rpcUrl: anvil.rpcUrl,
    privateKeys: [devAccounts[0].privateKey, devAccounts[5].privateKey],
    blobs: new FileBlobStore(join(dir, "blobs")),
    datanets,
    modelRegistry: addresses.modelRegistry,
    datanetRegistry: addresses.datanetRegistry,
    leaseMs: opts.leaseMs ?? 3000,
    checkpointEvery: opts.checkpointEvery ?? 4,
  });
  await addBaseModel(factory.registry, factory.options.wallets[0], {
    path: DEMO_BASE,
    name: "demo-base",
    tokenizerPath: DEMO_TOKENIZER,
  });
  const app = Fastify({ logger: false });
  await app.register(fineTuningRoutes, { factory });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    rpcUrl: anvil.rpcUrl,
    dir,
    deploymentsDir,
    addresses,
    datanets,
    factory,
    app,
    url,
    registry: factory.registry,
    snapshot: "wordnet-noun.animal@1",
    stop: async () => {
      await app.close();
      await factory.close();
      datanets.close();
      await anvil.stop();
    },
  };
}

/** Polls a job until it is finished (the worker runs in another process). */
export async function waitForJob(
  fx: Fixture,
  id: string,
): Promise<ReturnType<FactoryService["store"]["get"]>> {
  for (;;) {
    const job = fx.factory.store.get(id);
    if (["succeeded", "failed", "cancelled"].includes(job.status)) return job;
    await new Promise((r) => setTimeout(r, 100));
  }
}
