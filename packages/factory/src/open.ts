import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BlobStore, DatanetService } from "@openledger/datanet";
import type { WalletClientWithAccount } from "@openledger/sdk";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { FactoryService, type FactoryServiceOptions } from "./service.ts";

export interface OpenFactoryOptions
  extends Omit<FactoryServiceOptions, "client" | "wallets" | "workerToken"> {
  rpcUrl: string;
  /** keys of the accounts jobs may be owned by; the first is the default owner */
  privateKeys: readonly Hex[];
  /** default: read from (or written to) `<dataDir>/worker-token` */
  workerToken?: string;
  blobs: BlobStore;
  datanets: DatanetService;
  modelRegistry: Address;
  datanetRegistry: Address;
}

/** viem clients that poll every 100 ms (the 4 s default makes each publish slow). */
export async function factoryClients(rpcUrl: string, privateKeys: readonly Hex[]) {
  const transport = http(rpcUrl, { retryCount: 0 });
  const probe = createPublicClient({ transport });
  const id = await probe.getChainId();
  const chain = {
    id,
    name: `chain ${id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  };
  const client = createPublicClient({ chain, transport, pollingInterval: 100 }) as PublicClient;
  const wallets = privateKeys.map(
    (key) =>
      createWalletClient({
        account: privateKeyToAccount(key),
        chain,
        transport,
        pollingInterval: 100,
      }) as WalletClientWithAccount,
  );
  return { client, wallets };
}

/** The worker token of a data dir: created once, kept in `<dataDir>/worker-token` (mode 600). */
export function workerTokenFor(dataDir: string): string {
  const path = join(dataDir, "worker-token");
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dataDir, { recursive: true });
  const token = randomBytes(24).toString("hex");
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  return token;
}

export async function openFactory(o: OpenFactoryOptions): Promise<FactoryService> {
  const { client, wallets } = await factoryClients(o.rpcUrl, o.privateKeys);
  return new FactoryService({
    ...o,
    client,
    wallets,
    workerToken: o.workerToken ?? workerTokenFor(o.dataDir),
  });
}
