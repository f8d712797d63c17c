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
import { SdkRegistry } from "./registry.ts";
import { DatanetService, type DatanetServiceOptions } from "./service.ts";

export interface OpenDatanetServiceOptions extends Omit<DatanetServiceOptions, "registry"> {
  rpcUrl: string;
  /** DatanetRegistry address (from the deployment). */
  registry: Address;
  /** Payment token; read from the registry when omitted. */
  token?: Address;
  /** Keys of the accounts this service may send from (owners, curators, contributors, buyers). */
  privateKeys?: readonly Hex[];
  /** How often to poll for receipts and blocks, in ms (viem's 4 s default makes every transaction slow). */
  pollingInterval?: number;
}

/** Connects to the chain, opens the data directory and catches the index up with the chain. */
export async function openDatanetService(opts: OpenDatanetServiceOptions): Promise<DatanetService> {
  const transport = http(opts.rpcUrl, { retryCount: 0 });
  const pollingInterval = opts.pollingInterval ?? 100;
  const publicClient = createPublicClient({ transport, pollingInterval }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const chain = {
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [opts.rpcUrl] } },
  };
  const wallets = (opts.privateKeys ?? []).map(
    (key) =>
      createWalletClient({
        account: privateKeyToAccount(key),
        chain,
        transport,
        pollingInterval,
      }) as WalletClientWithAccount,
  );
  const registry = new SdkRegistry(chainId, {
    publicClient,
    registry: opts.registry,
    token: opts.token,
    wallets,
  });
  const service = new DatanetService({ ...opts, registry });
  try {
    await service.sync();
  } catch (err) {
    service.close();
    throw err;
  }
  return service;
}
