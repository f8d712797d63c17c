// What the balance and wrap commands share: which account acts, what the chain's native currency is
// called, and the protocol token deployed there.
import type { Address, Hex, PublicClient } from "viem";
import { CliError } from "./errors.ts";

/** The options every wallet command takes. */
export interface WalletOptions {
  rpc: string;
  deployments: string;
  privateKey?: Hex;
  account: number;
}

/**
 * The native currency's symbol: OPEN on the OpenLedger L2 (its node answers `OpenLedger/...` to
 * web3_clientVersion), ETH elsewhere.
 */
export async function nativeSymbol(client: PublicClient): Promise<"OPEN" | "ETH"> {
  try {
    const version = await client.request({ method: "web3_clientVersion" });
    return version.startsWith("OpenLedger/") ? "OPEN" : "ETH";
  } catch {
    return "ETH";
  }
}

/** The key that acts: --private-key, or dev account --account on a local dev chain only. */
export async function actingKey(options: WalletOptions, chainId: number): Promise<Hex> {
  if (options.privateKey) return options.privateKey;
  const { isLocalDevChain } = await import("./deploy-protocol.ts");
  if (!isLocalDevChain(chainId)) {
    throw new CliError(
      `chain ${chainId} is not a local dev chain: pass --private-key or set OPENLEDGER_PRIVATE_KEY`,
    );
  }
  const { devAccounts } = await import("@openledger/common/dev-accounts");
  return devAccounts[options.account].privateKey;
}

/** The protocol token on this chain: its address and whether it is WrappedOpen (native OPEN, 1:1). */
export async function protocolToken(
  deployments: string,
  chainId: number,
): Promise<{ address: Address; wrapped: boolean } | undefined> {
  const { readDeployment } = await import("@openledger/sdk");
  const deployment = readDeployment(deployments, chainId);
  const address = deployment?.addresses.token;
  if (!address) return undefined;
  return { address, wrapped: deployment.contracts.WrappedOpen?.address === address };
}
