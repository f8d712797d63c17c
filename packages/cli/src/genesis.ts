import { existsSync } from "node:fs";
import { join } from "node:path";
import type { RunningNode } from "@openledger/chain";
import type { Deployment } from "@openledger/sdk";
import type { Hex } from "viem";
import type { Logger } from "./log.ts";

export interface L2NodeOptions {
  datadir: string;
  port: number;
  host: string;
  blockTime: number;
  automine: boolean;
  chainId: bigint;
  /** Gas limit of every block of a new chain (an existing data dir keeps its own). */
  gasLimit?: bigint;
  /** Folder for deployments/<chainId>.json. */
  deployments: string;
  /** Deploy the protocol in block 1 when the data dir is new. */
  predeploy: boolean;
  /** Re-execute stored blocks when the head state is missing (`--rebuild-state`). */
  rebuildState?: boolean;
  log: Logger;
}

/**
 * Starts the L2 node with the attribution precompile; a fresh data dir gets the protocol in block 1
 * and its deployments file. The file is written before the RPC port is bound, so a port that is taken
 * never leaves a chain without its deployments file.
 */
/** The least block gas limit a fresh chain with the protocol predeployed accepts (the chain's default). */
const PREDEPLOY_GAS_LIMIT = 30_000_000n;

export async function startL2Node(options: L2NodeOptions): Promise<RunningNode> {
  const { startNode } = await import("@openledger/chain");
  const { spanV1Precompile, spanV2Precompile } = await import("@openledger/attribution");
  const fresh = !existsSync(join(options.datadir, "chain.sqlite"));
  if (
    fresh &&
    options.predeploy &&
    options.gasLimit !== undefined &&
    options.gasLimit < PREDEPLOY_GAS_LIMIT
  ) {
    throw new Error(
      `--gas-limit ${options.gasLimit} is below ${PREDEPLOY_GAS_LIMIT}, which the protocol's deploy transactions in block 1 need; give a larger limit, or --no-predeploy`,
    );
  }
  const plan = fresh && options.predeploy ? await genesisPlan() : undefined;
  return startNode({
    datadir: options.datadir,
    port: options.port,
    host: options.host,
    blockTime: options.blockTime,
    automine: options.automine,
    chainId: options.chainId,
    blockGasLimit: options.gasLimit,
    precompiles: [spanV1Precompile, spanV2Precompile],
    rebuildState: options.rebuildState,
    genesisTransactions: plan?.transactions.map((t) => ({
      to: t.to ?? undefined,
      data: t.data,
      value: t.value,
      label: t.kind === "deploy" ? t.label : undefined,
    })),
    async beforeListen(node) {
      if (!plan) return;
      const path = await writeGenesisDeployment(options.deployments, node, plan);
      options.log.info("protocol predeployed in block 1", { deployments: path });
    },
  });
}

/**
 * The protocol's deploy transactions for a fresh L2 chain: sent from dev account 0 at nonces 0.. in
 * block 1, so every fresh chain has the contracts at the same addresses. The token is the
 * wrapped-native form (OPEN is the chain's currency) and the settlement verifier uses the span-v2
 * precompile.
 */
export async function genesisPlan() {
  const { protocolDeployTransactions } = await import("@openledger/sdk");
  const { deriveDevAccounts } = await import("@openledger/chain");
  const deployer = deriveDevAccounts(1)[0].address;
  return protocolDeployTransactions({
    deployer,
    startNonce: 0,
    params: { token: "wrapped", verifier: "span-v2-precompile" },
  });
}

/** deployments/<chainId>.json in the sdk's format, so `openledger deploy` and the sdk find the contracts. */
export async function writeGenesisDeployment(
  dir: string,
  node: { chainId: bigint; genesisResults: { hash: string; blockNumber: number }[] },
  plan: Awaited<ReturnType<typeof genesisPlan>>,
): Promise<string> {
  const sdk = await import("@openledger/sdk");
  const contracts: Deployment["contracts"] = {};
  const setup: Deployment["setup"] = {};
  plan.transactions.forEach((t, i) => {
    const result = node.genesisResults[i];
    const transactionHash = result.hash as Hex;
    if (t.kind === "deploy" && t.contractAddress && t.codeHash && t.argsHash) {
      contracts[t.label] = {
        address: t.contractAddress,
        blockNumber: result.blockNumber,
        transactionHash,
        codeHash: t.codeHash,
        argsHash: t.argsHash,
      };
    } else {
      setup[t.label] = { blockNumber: result.blockNumber, transactionHash };
    }
  });
  return sdk.writeDeployment(dir, {
    chainId: Number(node.chainId),
    deployer: plan.transactions[0].from,
    addresses: plan.addresses,
    contracts,
    setup,
    updatedAt: new Date().toISOString(),
  });
}
