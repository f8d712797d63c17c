// Chain reads for commands that must start fast (`balance`). `import("viem")` sends viem's ~1500
// modules through the ESM loader hooks that run this CLI's TypeScript sources, about a second per
// start on its own; viem's CommonJS build loaded with `require` passes no hooks (a third of that). So
// these commands use viem through `require` and neither the sdk nor viem's ESM build.
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { devAccounts } from "@openledger/common/dev-accounts";
import type { Address, Hex, PublicClient } from "viem";
import { CliError } from "./errors.ts";
import { notJsonRpcReason } from "./rpc.ts";

type Viem = typeof import("viem");

let cached: Viem | undefined;

/** viem's CommonJS build (the same API as `import("viem")`). */
export function viemCjs(): Viem {
  cached ??= createRequire(import.meta.url)("viem") as Viem;
  return cached;
}

/** A public client on `rpcUrl` and its chain id, with the sdk's wording when the node cannot be reached. */
export async function readOnlyChain(
  rpcUrl: string,
): Promise<{ publicClient: PublicClient; chainId: number }> {
  const { createPublicClient, http, webSocket } = viemCjs();
  const transport = /^wss?:/.test(rpcUrl)
    ? webSocket(rpcUrl, { retryCount: 0 })
    : http(rpcUrl, { retryCount: 0 });
  const publicClient = createPublicClient({ transport }) as PublicClient;
  try {
    return { publicClient, chainId: await publicClient.getChainId() };
  } catch (err) {
    const reason = await notJsonRpcReason(rpcUrl);
    if (reason) {
      throw new CliError(
        `${rpcUrl} is not a JSON-RPC endpoint: ${reason}. Point --rpc at the node (openledger up/node serve JSON-RPC on --port, 8545 by default; 8080 is the HTTP API)`,
      );
    }
    const message = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
    throw new CliError(`cannot reach the RPC at ${rpcUrl}: ${message.split("\n")[0]}`);
  }
}

/**
 * The protocol token recorded in `<dir>/<chainId>.json` (the sdk's deployment file) and whether it is
 * WrappedOpen, read without loading the sdk.
 */
export function deployedToken(
  dir: string,
  chainId: number,
): { address: Address; wrapped: boolean } | undefined {
  const path = join(dir, `${chainId}.json`);
  if (!existsSync(path)) return undefined;
  let file: {
    chainId?: unknown;
    addresses?: { token?: Address };
    contracts?: Record<string, { address?: Address }>;
  };
  try {
    file = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new CliError(`${path} is not valid JSON (${(err as Error).message}); fix or delete it`);
  }
  if (file?.chainId !== chainId)
    throw new CliError(`${path} is not a deployment file for chain ${chainId}; fix or delete it`);
  const address = file.addresses?.token;
  if (!address) return undefined;
  return { address, wrapped: file.contracts?.WrappedOpen?.address === address };
}

/** The address of a private key (a dev account's from the table, any other's derived). */
export function addressOfKey(key: Hex): Address {
  const dev = devAccounts.find((a) => a.privateKey.toLowerCase() === key.toLowerCase());
  if (dev) return dev.address;
  const { privateKeyToAccount } = createRequire(import.meta.url)(
    "viem/accounts",
  ) as typeof import("viem/accounts");
  return privateKeyToAccount(key).address;
}
