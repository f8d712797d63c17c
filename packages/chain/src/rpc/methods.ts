import type { Block } from "@ethereumjs/block";
import { getMerkleStateProof } from "@ethereumjs/statemanager";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, createAddressFromString, hexToBytes, setLengthLeft } from "@ethereumjs/util";
import { keccak256 } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { InvalidParamsError, RpcCode, RpcError } from "../errors.ts";
import { CallTracer, Executor, StructLogTracer, type Tracer } from "../execution.ts";
import { effectiveGasPrice } from "../fees.ts";
import { formatBlock, formatTransaction, quantity } from "../format.ts";
import type { ChainNode } from "../node.ts";
import { FilterRegistry, type LogCriteria } from "./filters.ts";
import {
  Params,
  address as parseAddress,
  data as parseData,
  quantity as parseQuantity,
  storageKey as parseStorageKey,
} from "./params.ts";

export const CLIENT_VERSION = "OpenLedger/v0.1.0/ethereumjs-vm-10.1.3/node";
/** The tip eth_maxPriorityFeePerGas suggests (1 gwei, as anvil does). */
const SUGGESTED_TIP = 1_000_000_000n;
const MAX_LOG_RESULTS = 10_000;
const MAX_FEE_HISTORY = 1024;

/** Per-connection hooks (WebSocket subscriptions); absent over HTTP. */
export interface Connection {
  subscribe?(kind: string, params: Params): string;
  unsubscribe?(id: string): boolean;
}

type Handler = (p: Params, conn: Connection) => unknown | Promise<unknown>;

/** The JSON-RPC method table of a node. */
export class RpcMethods {
  readonly exec: Executor;
  readonly filters: FilterRegistry;
  private readonly table: Record<string, Handler>;

  constructor(readonly node: ChainNode) {
    this.exec = new Executor(node);
    this.filters = new FilterRegistry(node);
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

  private async state(p: Params, i: number) {
    const block = this.block(p, i);
    return this.node.stateAt(await this.node.stateRootOf(block));
  }

  private devKey(address: string): `0x${string}` {
    const dev = this.node.devAccounts.find((a) => a.address.toLowerCase() === address.toLowerCase());
    if (!dev) throw new RpcError(RpcCode.Server, "unknown account");
    return dev.privateKey;
  }

  private txJson(hash: Uint8Array): unknown {
    const mined = this.node.minedTransaction(hash);
    if (mined) {
      return formatTransaction(mined.tx, mined.from, {
        blockHash: bytesToHex(mined.block.hash()),
        blockNumber: mined.block.header.number,
        index: mined.index,
        baseFee: mined.block.header.baseFeePerGas,
      });
    }
    const pending = this.node.pool.get(bytesToHex(hash));
    return pending ? formatTransaction(pending.tx, pending.sender) : null;
  }

  private blockJson(block: Block, full: boolean): unknown {
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

  private getLogs(o: Record<string, unknown>, i: number): unknown[] {
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

  private async fillTransaction(p: Params) {
    const req = p.call(0);
    if (!req.from) throw new InvalidParamsError("invalid argument 0: missing from");
    const key = this.devKey(req.from);
    const node = this.node;
    const nonce = req.nonce ?? (await node.pendingNonce(req.from));
    const gas = req.gas ?? (await this.exec.estimateGas(req, node.head));
    const base = {
      chainId: node.chainId,
      nonce,
      gasLimit: gas,
      to: req.to as `0x${string}` | undefined,
      value: req.value ?? 0n,
      data: req.data ?? new Uint8Array(),
    };
    const tx =
      req.gasPrice !== undefined
        ? createTx({ ...base, type: 0, gasPrice: req.gasPrice }, { common: node.common })
        : createTx(
            {
              ...base,
              type: 2,
              maxPriorityFeePerGas: req.maxPriorityFeePerGas ?? SUGGESTED_TIP,
              maxFeePerGas:
                req.maxFeePerGas ?? node.baseFee * 2n + (req.maxPriorityFeePerGas ?? SUGGESTED_TIP),
            },
            { common: node.common },
          );
    return tx.sign(hexToBytes(key));
  }

  private feeHistory(p: Params): unknown {
    p.count(2, 3);
    const raw = p.raw(0);
    // geth takes the block count as hex or as a plain number
    const asked =
      typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0 ? BigInt(raw) : p.quantity(0);
    const count = Number(asked > BigInt(MAX_FEE_HISTORY) ? BigInt(MAX_FEE_HISTORY) : asked);
    const newest = this.block(p, 1);
    const percentiles = p.has(2) ? (p.raw(2) as unknown[]) : [];
    if (
      !Array.isArray(percentiles) ||
      percentiles.some(
        (x, i) => typeof x !== "number" || x < 0 || x > 100 || (i > 0 && x < (percentiles[i - 1] as number)),
      )
    ) {
      throw new InvalidParamsError("invalid reward percentile");
    }
    const oldest =
      newest.header.number - BigInt(count) + 1n < 0n ? 0n : newest.header.number - BigInt(count) + 1n;
    const baseFees: string[] = [];
    const ratios: number[] = [];
    const rewards: string[][] = [];
    const blobFees: string[] = [];
    const blobRatios: number[] = [];
    for (let n = oldest; n <= newest.header.number; n++) {
      const b = this.node.blockByNumber(n);
      if (!b) break;
      const baseFee = b.header.baseFeePerGas ?? 0n;
      baseFees.push(quantity(baseFee));
      blobFees.push("0x1");
      blobRatios.push(0);
      ratios.push(Number(b.header.gasUsed) / Number(b.header.gasLimit));
      if (percentiles.length > 0) {
        const receipts = this.node.receiptsOfBlock(n);
        const tips = b.transactions
          .map((t, i) => ({
            tip: effectiveGasPrice(t, baseFee) - baseFee,
            gas: BigInt(receipts[i]?.gasUsed as string),
          }))
          .sort((a, c) => (a.tip < c.tip ? -1 : a.tip > c.tip ? 1 : 0));
        rewards.push(
          (percentiles as number[]).map((pct) => {
            if (tips.length === 0) return "0x0";
            const threshold = (Number(b.header.gasUsed) * pct) / 100;
            let sum = 0;
            for (const t of tips) {
              sum += Number(t.gas);
              if (sum >= threshold) return quantity(t.tip);
            }
            return quantity(tips[tips.length - 1].tip);
          }),
        );
      }
    }
    const last = this.node.blockByNumber(newest.header.number);
    baseFees.push(quantity(last ? last.header.calcNextBaseFee() : 0n));
    blobFees.push("0x1");
    const out: Record<string, unknown> = {
      oldestBlock: quantity(oldest),
      baseFeePerGas: baseFees,
      gasUsedRatio: ratios,
      baseFeePerBlobGas: blobFees,
      blobGasUsedRatio: blobRatios,
    };
    if (percentiles.length > 0) out.reward = rewards;
    return out;
  }

  private tracer(p: Params, i: number): Tracer {
    const cfg = p.has(i) ? p.object(i) : {};
    const name = cfg.tracer;
    if (name === undefined) return new StructLogTracer(cfg as { disableStack?: boolean });
    if (name === "callTracer") {
      return new CallTracer((cfg.tracerConfig ?? {}) as { onlyTopCall?: boolean; withLog?: boolean });
    }
    throw new RpcError(
      RpcCode.Server,
      `tracer not found: ${String(name)} (supported: callTracer and the default struct logger)`,
    );
  }

  private build(): Record<string, Handler> {
    const node = this.node;
    const exec = this.exec;
    return {
      web3_clientVersion: () => CLIENT_VERSION,
      web3_sha3: (p) => keccak256(p.data(0)),
      net_version: () => node.chainId.toString(),
      net_listening: () => true,
      net_peerCount: () => "0x0",
      eth_chainId: () => quantity(node.chainId),
      eth_syncing: () => false,
      eth_mining: () => true,
      eth_hashrate: () => "0x0",
      eth_coinbase: () => "0x0000000000000000000000000000000000000000",
      eth_protocolVersion: () => "0x44",
      eth_accounts: () => node.devAccounts.map((a) => a.address.toLowerCase()),
      eth_blockNumber: () => quantity(node.head.header.number),
      eth_gasPrice: () => quantity(node.baseFee + SUGGESTED_TIP),
      eth_maxPriorityFeePerGas: () => quantity(SUGGESTED_TIP),
      eth_blobBaseFee: () => "0x1",
      eth_feeHistory: (p) => this.feeHistory(p),
      eth_getBalance: async (p) => {
        p.count(1, 2);
        const addr = createAddressFromString(p.address(0));
        const acct = await (await this.state(p, 1)).getAccount(addr);
        return quantity(acct?.balance ?? 0n);
      },
      eth_getTransactionCount: async (p) => {
        p.count(1, 2);
        const addr = p.address(0);
        if (p.raw(1) === "pending") return quantity(await node.pendingNonce(addr));
        const acct = await (await this.state(p, 1)).getAccount(createAddressFromString(addr));
        return quantity(acct?.nonce ?? 0n);
      },
      eth_getCode: async (p) => {
        p.count(1, 2);
        const code = await (await this.state(p, 1)).getCode(createAddressFromString(p.address(0)));
        return bytesToHex(code);
      },
      eth_getStorageAt: async (p) => {
        p.count(2, 3);
        const addr = createAddressFromString(p.address(0));
        const key = parseStorageKey(p.raw(1), 1);
        const v = await (await this.state(p, 2)).getStorage(addr, setLengthLeft(key, 32));
        return bytesToHex(setLengthLeft(v, 32));
      },
      eth_getProof: async (p) => {
        p.count(2, 3);
        const addr = createAddressFromString(p.address(0));
        const keys = p.raw(1);
        if (!Array.isArray(keys))
          throw new InvalidParamsError("invalid argument 1: storage keys must be an array");
        const slots = keys.map((k) => parseStorageKey(k, 1));
        const proof = await getMerkleStateProof(await this.state(p, 2), addr, slots);
        proof.storageProof = proof.storageProof.map((sp, i) => ({ ...sp, key: keys[i] as `0x${string}` }));
        return proof;
      },
      eth_call: async (p) => {
        p.count(1, 3);
        const out = await exec.call(p.call(0), this.block(p, 1), p.overrides(2));
        return bytesToHex(out);
      },
      eth_estimateGas: async (p) => {
        p.count(1, 3);
        return quantity(await exec.estimateGas(p.call(0), this.block(p, 1), p.overrides(2)));
      },
      eth_sendRawTransaction: async (p) => {
        p.count(1, 1);
        return node.sendRawTransaction(p.data(0));
      },
      eth_sendTransaction: async (p) => {
        p.count(1, 1);
        const tx = await this.fillTransaction(p);
        return node.sendRawTransaction(tx.serialize());
      },
      eth_signTransaction: async (p) => {
        p.count(1, 1);
        return bytesToHex((await this.fillTransaction(p)).serialize());
      },
      eth_sign: async (p) => {
        p.count(2, 2);
        const account = privateKeyToAccount(this.devKey(p.address(0)));
        return account.signMessage({ message: { raw: p.data(1) } });
      },
      personal_sign: async (p) => {
        p.count(2, 2);
        const account = privateKeyToAccount(this.devKey(p.address(1)));
        return account.signMessage({ message: { raw: p.data(0) } });
      },
      eth_signTypedData_v4: async (p) => {
        p.count(2, 2);
        const account = privateKeyToAccount(this.devKey(p.address(0)));
        const raw = p.raw(1);
        let typed: Record<string, unknown>;
        try {
          typed = (typeof raw === "string" ? JSON.parse(raw) : raw) as Record<string, unknown>;
        } catch {
          throw new InvalidParamsError("invalid argument 1: typed data is not valid JSON");
        }
        if (!typed || typeof typed !== "object" || !typed.types || !typed.primaryType || !typed.message) {
          throw new InvalidParamsError(
            "invalid argument 1: typed data needs types, primaryType, domain and message",
          );
        }
        const { EIP712Domain: _d, ...types } = typed.types as Record<string, unknown>;
        try {
          const request = {
            domain: typed.domain ?? {},
            types,
            primaryType: typed.primaryType,
            message: typed.message,
          } as unknown as Parameters<typeof account.signTypedData>[0];
          return await account.signTypedData(request);
        } catch (err) {
          throw new InvalidParamsError(
            `invalid argument 1: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`,
          );
        }
      },
      eth_getTransactionByHash: (p) => {
        p.count(1, 1);
        return this.txJson(p.hash(0));
      },
      eth_getTransactionReceipt: (p) => {
        p.count(1, 1);
        return node.receipt(p.hash(0)) ?? null;
      },
      eth_getBlockByNumber: (p) => {
        p.count(1, 2);
        const block = this.findBlock(p.raw(0), 0);
        return block ? this.blockJson(block, p.bool(1)) : null;
      },
      eth_getBlockByHash: (p) => {
        p.count(1, 2);
        const block = node.blockByHash(p.hash(0));
        return block ? this.blockJson(block, p.bool(1)) : null;
      },
      eth_getBlockReceipts: (p) => {
        p.count(1, 1);
        const block = this.findBlock(p.raw(0), 0);
        return block ? node.receiptsOfBlock(block.header.number) : null;
      },
      eth_getBlockTransactionCountByNumber: (p) => {
        const block = this.findBlock(p.raw(0), 0);
        return block ? quantity(block.transactions.length) : null;
      },
      eth_getBlockTransactionCountByHash: (p) => {
        const block = node.blockByHash(p.hash(0));
        return block ? quantity(block.transactions.length) : null;
      },
      eth_getTransactionByBlockNumberAndIndex: (p) => {
        const block = this.findBlock(p.raw(0), 0);
        const tx = block?.transactions[Number(p.quantity(1))];
        return tx ? this.txJson(tx.hash()) : null;
      },
      eth_getTransactionByBlockHashAndIndex: (p) => {
        const block = node.blockByHash(p.hash(0));
        const tx = block?.transactions[Number(p.quantity(1))];
        return tx ? this.txJson(tx.hash()) : null;
      },
      eth_getUncleCountByBlockNumber: () => "0x0",
      eth_getUncleCountByBlockHash: () => "0x0",
      eth_getLogs: (p) => {
        p.count(1, 1);
        return this.getLogs(p.object(0), 0);
      },
      eth_newFilter: (p) => {
        p.count(1, 1);
        const o = p.object(0);
        const criteria = this.logCriteria(o, 0);
        const from =
          o.fromBlock == null || o.fromBlock === "latest"
            ? undefined
            : this.findBlock(o.fromBlock, 0)?.header.number;
        const to = o.toBlock == null || o.toBlock === "latest" ? undefined : parseQuantity(o.toBlock, 0);
        return this.filters.add({ kind: "logs", criteria, from, to, raw: o });
      },
      eth_newBlockFilter: () => this.filters.add({ kind: "blocks" }),
      eth_newPendingTransactionFilter: () => this.filters.add({ kind: "pending" }),
      eth_getFilterChanges: (p) => {
        p.count(1, 1);
        return this.filters.changes(p.string(0));
      },
      eth_getFilterLogs: (p) => {
        p.count(1, 1);
        const f = this.filters.get(p.string(0));
        if (f.kind !== "logs") throw new RpcError(RpcCode.Server, "filter not found");
        return this.getLogs(f.raw, 0);
      },
      eth_uninstallFilter: (p) => {
        p.count(1, 1);
        return this.filters.remove(p.string(0));
      },
      eth_subscribe: (p, conn) => {
        if (!conn.subscribe) throw new RpcError(RpcCode.MethodNotFound, "notifications not supported");
        p.count(1, 2);
        return conn.subscribe(p.string(0), p);
      },
      eth_unsubscribe: (p, conn) => {
        if (!conn.unsubscribe) throw new RpcError(RpcCode.MethodNotFound, "notifications not supported");
        p.count(1, 1);
        return conn.unsubscribe(p.string(0));
      },
      debug_traceTransaction: (p) => {
        p.count(1, 2);
        return exec.traceTransaction(p.hash(0), this.tracer(p, 1));
      },
      debug_traceCall: (p) => {
        p.count(1, 3);
        return exec.traceCall(p.call(0), this.block(p, 1), this.tracer(p, 2));
      },
      txpool_content: () => this.poolContent(),
      txpool_status: async () => {
        const c = await this.poolSplit();
        const count = (m: Map<string, unknown[]>) => [...m.values()].reduce((s, l) => s + l.length, 0);
        return { pending: quantity(count(c.pending)), queued: quantity(count(c.queued)) };
      },
      evm_mine: async (p) => {
        const ts = p.has(0) ? p.raw(0) : undefined;
        const timestamp =
          typeof ts === "string" ? parseQuantity(ts, 0) : typeof ts === "number" ? BigInt(ts) : undefined;
        await node.mine(timestamp);
        return "0x0";
      },
      anvil_mine: async (p) => {
        const n = p.has(0) ? p.quantity(0) : 1n;
        if (n > 10_000n) throw new InvalidParamsError("invalid argument 0: at most 10000 blocks at once");
        for (let i = 0n; i < n; i++) await node.mine();
        return null;
      },
      evm_snapshot: () => node.snapshot(),
      evm_revert: (p) => {
        p.count(1, 1);
        return node.revert(quantity(p.quantity(0)));
      },
      evm_increaseTime: (p) => {
        p.count(1, 1);
        const v = p.raw(0);
        const seconds = typeof v === "number" ? BigInt(v) : p.quantity(0);
        return Number(node.increaseTime(seconds));
      },
      evm_setNextBlockTimestamp: (p) => {
        p.count(1, 1);
        const v = p.raw(0);
        node.setNextBlockTimestamp(typeof v === "number" ? BigInt(v) : p.quantity(0));
        return null;
      },
      anvil_setBalance: async (p) => {
        p.count(2, 2);
        await node.setBalance(p.address(0), p.quantity(1));
        return null;
      },
      hardhat_setBalance: async (p) => {
        p.count(2, 2);
        await node.setBalance(p.address(0), p.quantity(1));
        return null;
      },
    };
  }

  private async poolSplit() {
    const senders = this.node.pool.senders();
    const nonces = new Map<string, bigint>();
    for (const s of senders) nonces.set(s, await this.node.stateNonce(s));
    return this.node.pool.content((s) => nonces.get(s) ?? 0n);
  }

  private async poolContent() {
    const split = await this.poolSplit();
    const shape = (
      m: Map<string, { tx: Parameters<typeof formatTransaction>[0]; sender: string; nonce: bigint }[]>,
    ) => {
      const out: Record<string, Record<string, unknown>> = {};
      for (const [sender, txs] of m) {
        const checksummed = createAddressFromString(sender).toString();
        out[checksummed] = {};
        for (const t of txs) out[checksummed][t.nonce.toString()] = formatTransaction(t.tx, sender);
      }
      return out;
    };
    return { pending: shape(split.pending), queued: shape(split.queued) };
  }
}
