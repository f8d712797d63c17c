import { ChainNode, type NodeOptions } from "./node.ts";
import { type RpcServer, type RpcServerOptions, startRpcServer } from "./rpc/server.ts";

export { BlockProductionError } from "./blockProduction.ts";
export { createChainCommon, createSharedCommon, DEFAULT_CHAIN_ID, HARDFORK } from "./chainConfig.ts";
export { type DevAccount, deriveDevAccounts, TEST_MNEMONIC } from "./devAccounts.ts";
export {
  InvalidParamsError,
  PrecompileError,
  RpcCode,
  RpcError,
  StateMissingError,
  TxRejectedError,
} from "./errors.ts";
export { DEFAULT_POOL_LIMITS, type PoolLimits } from "./mempool.ts";
export { ChainNode, type GenesisTransaction, type MinedBlockEvent, type NodeOptions } from "./node.ts";
export {
  ATTRIBUTION_SPAN_V1_ADDRESS,
  MERKLE_MULTIPROOF_ADDRESS,
  MERKLE_MULTIPROOF_GAS,
  merkleMultiproofPrecompile,
  type PrecompileDefinition,
  PrecompileRegistry,
} from "./precompiles.ts";
export { type RpcServer, type RpcServerOptions, startRpcServer } from "./rpc/server.ts";

/** Opens (or creates) the chain in `datadir` and starts block production. */
export function createNode(opts: NodeOptions): Promise<ChainNode> {
  return ChainNode.create(opts);
}

export interface RunningNode {
  node: ChainNode;
  rpc: RpcServer;
  /** http://host:port */
  url: string;
  /** ws://host:port */
  wsUrl: string;
  close(): Promise<void>;
}

export interface StartNodeOptions extends NodeOptions, RpcServerOptions {
  /**
   * Runs once the chain is open (genesis done) and before the RPC port is bound, e.g. to write the
   * deployments file of the genesis predeploys: a failure here closes the node and nothing listens.
   */
  beforeListen?: (node: ChainNode) => Promise<void> | void;
}

/** A node with its JSON-RPC server (HTTP + WebSocket on one port; port 0 picks a free one). */
export async function startNode(opts: StartNodeOptions): Promise<RunningNode> {
  const node = await ChainNode.create(opts);
  let rpc: RpcServer;
  try {
    await opts.beforeListen?.(node);
    rpc = await startRpcServer(node, opts);
  } catch (err) {
    await node.close();
    throw err;
  }
  return {
    node,
    rpc,
    url: rpc.url,
    wsUrl: rpc.wsUrl,
    async close() {
      await rpc.close();
      await node.close();
    },
  };
}
