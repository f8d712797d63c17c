import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { devAccounts, startAnvil } from "@openledger/devnet";
import { connect, deployProtocol, type ProtocolAddresses, transferToken } from "@openledger/sdk";
import type { Hex, LocalAccount } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ContentFormat, ExtractOptions } from "../src/formats.ts";
import { contentHashOf } from "../src/ingest.ts";
import { openDatanetService } from "../src/open.ts";
import type { DatanetService, DatanetServiceOptions } from "../src/service.ts";
import { contributionTypedData } from "../src/signature.ts";

export const accounts: LocalAccount[] = devAccounts.map((a) => privateKeyToAccount(a.privateKey));

export interface TestChain {
  rpcUrl: string;
  addresses: ProtocolAddresses;
  stop(): Promise<void>;
  open(dataDir: string, extra?: Partial<DatanetServiceOptions>): Promise<DatanetService>;
  fund(to: Hex, amount: bigint): Promise<void>;
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** A real anvil with the protocol deployed by dev account 0. */
export async function startTestChain(): Promise<TestChain> {
  const anvil = await startAnvil();
  const { walletClient, publicClient } = await connect(anvil.rpcUrl, devAccounts[0].privateKey);
  const { addresses } = await deployProtocol(walletClient!, publicClient, {
    deploymentsDir: tempDir("datanet-deploy-"),
  });
  return {
    rpcUrl: anvil.rpcUrl,
    addresses,
    stop: () => anvil.stop(),
    open: (dataDir, extra = {}) =>
      openDatanetService({
        ...extra,
        dataDir,
        rpcUrl: anvil.rpcUrl,
        registry: addresses.datanetRegistry,
        token: addresses.token,
        privateKeys: devAccounts.slice(0, 6).map((a) => a.privateKey),
      }),
    fund: async (to, amount) => {
      await transferToken(walletClient!, { token: addresses.token, to, amount });
    },
  };
}

/** Signs (datanetId, contentHash) as `account`, exactly as a contributor's client would. */
export async function signContribution(
  service: DatanetService,
  account: LocalAccount,
  datanetId: bigint,
  bytes: Uint8Array,
  format: ContentFormat = "text",
  extract: ExtractOptions = {},
): Promise<Hex> {
  const domain = { chainId: service.registry.chainId, verifyingContract: service.registry.address };
  return account.signTypedData(
    contributionTypedData(domain, datanetId, contentHashOf(bytes, format, extract)),
  );
}

/** Stages `text` as `who`'s signed plain-text upload to the Datanet (no transaction yet). */
export async function stageText(
  service: DatanetService,
  who: LocalAccount,
  datanetId: bigint,
  text: string,
  license: string,
): ReturnType<DatanetService["stage"]> {
  const content = new TextEncoder().encode(text);
  return service.stage({
    datanetId,
    contributor: who.address,
    signature: await signContribution(service, who, datanetId, content),
    license,
    format: "text",
    content,
  });
}
