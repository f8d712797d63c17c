// What the balance and wrap commands share: which account acts, what the chain's native currency is
// called (the protocol token deployed there: `deployedToken` in fast-chain.ts).
import type { Hex, PublicClient } from "viem";
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
