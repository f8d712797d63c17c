import { devAccounts } from "@openledger/common/dev-accounts";
// Only types from the sdk at the top: other commands import isLocalDevChain from here, and loading the
// sdk (viem, the generated ABIs) would cost every `openledger` start most of a second.
import type { DeployResult } from "@openledger/sdk";
import type { Hex } from "viem";
import { CliError } from "./errors.ts";
import type { Logger } from "./log.ts";
import { connectRpc } from "./rpc.ts";

/** anvil's default chain id, used by `openledger start`. */
export const LOCAL_DEV_CHAIN_ID = 31337;
/** The OpenLedger L2 node's default chain id (`openledger node` and `up`). */
export const L2_DEV_CHAIN_ID = 1337;

/** Chains on which the well-known dev keys may be used without an explicit key. */
export function isLocalDevChain(chainId: number): boolean {
  return chainId === LOCAL_DEV_CHAIN_ID || chainId === L2_DEV_CHAIN_ID;
}

/**
 * Deploys (or finds) the protocol on the chain at `rpc`. Without a private key the dev account 0 is
 * used, and only on the local dev chain id; any other chain needs an explicit key.
 */
export async function deployToChain(params: {
  rpc: string;
  privateKey?: Hex;
  deploymentsDir: string;
  fresh?: boolean;
  token?: "open" | "wrapped";
  verifier?: "none" | "span-v1" | "span-v1-precompile" | "span-v2" | "span-v2-precompile";
  log: Logger;
}): Promise<DeployResult> {
  const { log } = params;
  const probe = await connectRpc(params.rpc);
  let key = params.privateKey;
  if (!key) {
    if (!isLocalDevChain(probe.chain.id)) {
      throw new CliError(
        `chain ${probe.chain.id} at ${params.rpc} is not a local dev chain (${LOCAL_DEV_CHAIN_ID} or ${L2_DEV_CHAIN_ID}): pass --private-key or set OPENLEDGER_PRIVATE_KEY`,
      );
    }
    key = devAccounts[0].privateKey;
    log.info("no private key given: deploying from dev account 0", { deployer: devAccounts[0].address });
  }
  const { walletClient, publicClient } = await connectRpc(params.rpc, key);
  if (!walletClient) throw new CliError("could not create a wallet client");
  // On the OpenLedger L2, OPEN is the native currency and span-v2 runs as a precompile: the defaults
  // match its genesis deployment, so re-running deploy there finds everything. span-v1 stays available
  // (--verifier span-v1[-precompile]) for batches already posted with it.
  const onL2 = (await publicClient.request({ method: "web3_clientVersion" })).startsWith("OpenLedger/");
  const token = params.token ?? (onL2 ? "wrapped" : "open");
  const verifier = params.verifier ?? (onL2 ? "span-v2-precompile" : "span-v2");
  log.info("deploying the protocol", {
    rpc: params.rpc,
    chainId: probe.chain.id,
    deployer: walletClient.account.address,
    token,
    verifier,
  });
  const { deployProtocol } = await import("@openledger/sdk");
  return deployProtocol(walletClient, publicClient, {
    deploymentsDir: params.deploymentsDir,
    fresh: params.fresh,
    token,
    verifier,
    onProgress: (e) => {
      if (e.type === "found") log.info("found", { contract: e.contract, address: e.address });
      else if (e.type === "deployed")
        log.info("deployed", { contract: e.contract, address: e.address, block: e.blockNumber });
      else if (e.type === "setup") log.info("setup", { step: e.id, tx: e.transactionHash });
      else log.debug("setup already done", { step: e.id });
    },
  });
}

/** `Name  0xaddress` lines for a deploy result. */
export function addressLines(result: DeployResult): string[] {
  const width = Math.max(...Object.keys(result.deployment.contracts).map((n) => n.length));
  return Object.entries(result.deployment.contracts).map(
    ([name, c]) => `${name.padEnd(width)}  ${c.address}`,
  );
}
