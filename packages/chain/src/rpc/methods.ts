import type { Block } from "@ethereumjs/block";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import { InvalidParamsError, RpcCode, RpcError } from "../errors.ts";
import { Executor } from "../execution.ts";
import { formatBlock, formatTransaction } from "../format.ts";
import type { ChainNode } from "../node.ts";
import { debugMethods } from "./debug.ts";
import { devMethods } from "./dev.ts";
import { ethMethods } from "./eth.ts";
import { FilterRegistry, type LogCriteria } from "./filters.ts";
import { netWeb3Methods } from "./netWeb3.ts";
import { Params, address as parseAddress, data as parseData, quantity as parseQuantity } from "./params.ts";
import { StateReaders } from "./stateReaders.ts";
import { txpoolMethods } from "./txpool.ts";

export const CLIENT_VERSION = "OpenLedger/v0.1.0/ethereumjs-vm-10.1.3/node";
const MAX_LOG_RESULTS = 10_000;

/** Per-connection hooks (WebSocket subscriptions); absent over HTTP. */
export interface Connection {
  subscribe?(kind: string, params: Params): string;
  unsubscribe?(id: string): boolean;
}

export type Handler = (p: Params, conn: Connection) => unknown | Promise<unknown>;

/** The JSON-RPC method table of a node. */
export class RpcMethods {
  readonly exec: Executor;
  readonly filters: FilterRegistry;
  private readonly readers: StateReaders;
  private readonly table: Record<string, Handler>;

  constructor(readonly node: ChainNode) {
    this.exec = new Executor(node);
    this.filters = new FilterRegistry(node);
    this.readers = new StateReaders(node);
    this.table = this.build();
  }

  has(method: string): boolean {
    return Object.hasOwn(this.table, method);
  }

  async call(method: string, params: unknown[], conn: Connection): Promise<unknown> {
    const handler = this.table[method];
    if (!handler || !Object.hasOwn(this.table, method)) {
      throw new RpcError(RpcCode.MethodNotFound, `the method ${method} does not exist/is not available`);
    }
    return handler(new Params(params), conn);
  }

  close(): void {
    this.filters.close();
  }

  /** Resolves a block tag or number ("latest", "0x10", {blockHash}) to a block; throws if unknown. */
  block(p: Params, i: number, fallback = "latest"): Block {
    const block = this.findBlock(p.has(i) ? p.raw(i) : fallback, i);
    if (!block) throw new RpcError(RpcCode.Server, "header not found");
    return block;
  }

  findBlock(tag: unknown, i: number): Block | undefined {
    const node = this.node;
    if (typeof tag === "object" && tag !== null) {
      const o = tag as Record<string, unknown>;
      if (o.blockHash !== undefined) return node.blockByHash(parseData(o.blockHash, i, "blockHash"));
      if (o.blockNumber !== undefined) return this.findBlock(o.blockNumber, i);
      throw new InvalidParamsError(`invalid argument ${i}: invalid block tag object`);
    }
    switch (tag) {
      case "latest":
      case "pending":
      case "safe":
      case "finalized":
        return node.head;
      case "earliest":
        return node.blockByNumber(0n);
    }
    if (typeof tag === "string" && tag.length === 66) return node.blockByHash(parseData(tag, i));
    return node.blockByNumber(parseQuantity(tag, i));
  }

  /** A fresh state manager at the block named by argument `i` (eth_getProof walks its trie). */
  async state(p: Params, i: number) {
    const block = this.block(p, i);
    return this.node.stateAt(await this.node.stateRootOf(block));
  }

  /** Read-only state at the block named by argument `i`, shared by requests (see stateReaders.ts). */
  async reader(p: Params, i: number) {
    return this.readers.at(await this.node.stateRootOf(this.block(p, i)));
  }

  txJson(hash: Uint8Array): unknown {
    const mined = this.node.minedTransaction(hash);
    if (mined) {
      return formatTransaction(mined.tx, mined.from, {
        blockHash: bytesToHex(mined.block.hash()),
        blockNumber: mined.block.header.number,
        index: mined.index,
        baseFee: mined.block.header.baseFeePerGas,
        timestamp: mined.block.header.timestamp,
      });
    }
    const pending = this.node.pool.get(bytesToHex(hash));
    return pending ? formatTransaction(pending.tx, pending.sender) : null;
  }

  blockJson(block: Block, full: boolean): unknown {
    if (!full)
      return formatBlock(
        block,
        block.transactions.map((t) => bytesToHex(t.hash())),
      );
    const senders = this.node.sendersOfBlock(block.header.number);
    const hash = bytesToHex(block.hash());
    const txs = block.transactions.map((t, index) =>
      formatTransaction(t, senders[index] ?? t.getSenderAddress().toString(), {
        blockHash: hash,
        blockNumber: block.header.number,
        index,
        baseFee: block.header.baseFeePerGas,
        timestamp: block.header.timestamp,
      }),
    );
    return formatBlock(block, txs);
  }

  logCriteria(o: Record<string, unknown>, i: number): LogCriteria {
    let addresses: Set<string> | undefined;
    if (o.address !== undefined && o.address !== null) {
      const list = Array.isArray(o.address) ? o.address : [o.address];
      addresses = new Set(list.map((a) => parseAddress(a, i, "address")));
    }
    const topics: (Set<string> | null)[] = [];
    if (o.topics !== undefined && o.topics !== null) {
      if (!Array.isArray(o.topics))
        throw new InvalidParamsError(`invalid argument ${i}: topics must be an array`);
      if (o.topics.length > 4) throw new InvalidParamsError("invalid argument: too many topics (max 4)");
      for (const t of o.topics) {
        if (t === null) topics.push(null);
        else {
          const list = Array.isArray(t) ? t : [t];
          topics.push(
            new Set(
              list.map((x) => {
                const b = parseData(x, i, "topics");
                if (b.length !== 32)
                  throw new InvalidParamsError(`invalid argument ${i}: topic is not 32 bytes`);
                return bytesToHex(b);
              }),
            ),
          );
        }
      }
    }
    return { addresses, topics };
  }

  getLogs(o: Record<string, unknown>, i: number): unknown[] {
    const criteria = this.logCriteria(o, i);
    let from: bigint;
    let to: bigint;
    if (o.blockHash !== undefined && o.blockHash !== null) {
      if (o.fromBlock != null || o.toBlock != null) {
        throw new InvalidParamsError(
          "invalid argument 0: cannot specify both BlockHash and FromBlock/ToBlock, choose one or the other",
        );
      }
      const block = this.node.blockByHash(parseData(o.blockHash, i, "blockHash"));
      if (!block) throw new RpcError(RpcCode.Server, "unknown block");
      from = to = block.header.number;
    } else {
      const head = this.node.head.header.number;
      from = o.fromBlock == null ? head : (this.findBlock(o.fromBlock, i)?.header.number ?? head + 1n);
      to = o.toBlock == null ? head : (this.findBlock(o.toBlock, i)?.header.number ?? head);
      if (from > to) throw new RpcError(RpcCode.InvalidParams, "invalid block range params");
    }
    const hexToB = (h: string) => hexToBytes(h as `0x${string}`);
    const logs = this.node.logs({
      fromBlock: Number(from),
      toBlock: Number(to),
      addresses: criteria.addresses ? [...criteria.addresses].map(hexToB) : undefined,
      topics: criteria.topics.map((s) => (s ? [...s].map(hexToB) : null)),
      limit: MAX_LOG_RESULTS,
    });
    if (logs.length > MAX_LOG_RESULTS) {
      throw new RpcError(RpcCode.LimitExceeded, `query returned more than ${MAX_LOG_RESULTS} results`);
    }
    return logs;
  }

  private build(): Record<string, Handler> {
    return {
      ...netWeb3Methods(this),
      ...ethMethods(this),
      ...debugMethods(this),
      ...txpoolMethods(this),
      ...devMethods(this),
    };
  }
}
