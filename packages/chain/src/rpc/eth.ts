import { getMerkleStateProof } from "@ethereumjs/statemanager";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, createAddressFromString, hexToBytes, setLengthLeft } from "@ethereumjs/util";
import { privateKeyToAccount } from "viem/accounts";
import { InvalidParamsError, RpcCode, RpcError } from "../errors.ts";
import { effectiveGasPrice } from "../fees.ts";
import { formatBlock, formatTransaction, quantity } from "../format.ts";
import type { Handler, RpcMethods } from "./methods.ts";
import { type Params, quantity as parseQuantity, storageKey as parseStorageKey } from "./params.ts";

/** The tip eth_maxPriorityFeePerGas suggests (1 gwei, as anvil does). */
const SUGGESTED_TIP = 1_000_000_000n;
const MAX_FEE_HISTORY = 1024;

/** eth_: chain, state, execution, fees, transactions, blocks, receipts, logs, filters and subscriptions. */
export function ethMethods(m: RpcMethods): Record<string, Handler> {
  const node = m.node;
  const exec = m.exec;
  return {
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
    eth_feeHistory: (p) => feeHistory(m, p),
    eth_getBalance: async (p) => {
      p.count(1, 2);
      const addr = createAddressFromString(p.address(0));
      const acct = await (await m.reader(p, 1)).getAccount(addr);
      return quantity(acct?.balance ?? 0n);
    },
    eth_getTransactionCount: async (p) => {
      p.count(1, 2);
      const addr = p.address(0);
      if (p.raw(1) === "pending") return quantity(await node.pendingNonce(addr));
      const acct = await (await m.reader(p, 1)).getAccount(createAddressFromString(addr));
      return quantity(acct?.nonce ?? 0n);
    },
    eth_getCode: async (p) => {
      p.count(1, 2);
      const code = await (await m.reader(p, 1)).getCode(createAddressFromString(p.address(0)));
      return bytesToHex(code);
    },
    eth_getStorageAt: async (p) => {
      p.count(2, 3);
      const addr = createAddressFromString(p.address(0));
      const key = parseStorageKey(p.raw(1), 1);
      const v = await (await m.reader(p, 2)).getStorage(addr, setLengthLeft(key, 32));
      return bytesToHex(setLengthLeft(v, 32));
    },
    eth_getProof: async (p) => {
      p.count(2, 3);
      const addr = createAddressFromString(p.address(0));
      const keys = p.raw(1);
      if (!Array.isArray(keys))
        throw new InvalidParamsError("invalid argument 1: storage keys must be an array");
      const slots = keys.map((k) => parseStorageKey(k, 1));
      const proof = await getMerkleStateProof(await m.state(p, 2), addr, slots);
      proof.storageProof = proof.storageProof.map((sp, i) => ({ ...sp, key: keys[i] as `0x${string}` }));
      return proof;
    },
    eth_call: async (p) => {
      p.count(1, 3);
      const out = await exec.call(p.call(0), m.block(p, 1), p.overrides(2));
      return bytesToHex(out);
    },
    eth_estimateGas: async (p) => {
      p.count(1, 3);
      return quantity(await exec.estimateGas(p.call(0), m.block(p, 1), p.overrides(2)));
    },
    eth_sendRawTransaction: async (p) => {
      p.count(1, 1);
      return node.sendRawTransaction(p.data(0));
    },
    eth_sendTransaction: async (p) => {
      p.count(1, 1);
      const tx = await fillTransaction(m, p);
      return node.sendRawTransaction(tx.serialize());
    },
    eth_signTransaction: async (p) => {
      p.count(1, 1);
      return bytesToHex((await fillTransaction(m, p)).serialize());
    },
    eth_sign: async (p) => {
      p.count(2, 2);
      const account = privateKeyToAccount(devKey(m, p.address(0)));
      return account.signMessage({ message: { raw: p.data(1) } });
    },
    personal_sign: async (p) => {
      p.count(2, 2);
      const account = privateKeyToAccount(devKey(m, p.address(1)));
      return account.signMessage({ message: { raw: p.data(0) } });
    },
    eth_signTypedData_v4: async (p) => {
      p.count(2, 2);
      const account = privateKeyToAccount(devKey(m, p.address(0)));
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
      return m.txJson(p.hash(0));
    },
    eth_getTransactionReceipt: (p) => {
      p.count(1, 1);
      return node.receipt(p.hash(0)) ?? null;
    },
    eth_getBlockByNumber: async (p) => {
      p.count(1, 2);
      if (p.raw(0) === "pending") return pendingBlockJson(m, p.bool(1));
      const block = m.findBlock(p.raw(0), 0);
      return block ? m.blockJson(block, p.bool(1)) : null;
    },
    eth_getBlockByHash: (p) => {
      p.count(1, 2);
      const block = node.blockByHash(p.hash(0));
      return block ? m.blockJson(block, p.bool(1)) : null;
    },
    eth_getBlockReceipts: (p) => {
      p.count(1, 1);
      const block = m.findBlock(p.raw(0), 0);
      return block ? node.receiptsOfBlock(block.header.number) : null;
    },
    eth_getBlockTransactionCountByNumber: (p) => {
      const block = m.findBlock(p.raw(0), 0);
      return block ? quantity(block.transactions.length) : null;
    },
    eth_getBlockTransactionCountByHash: (p) => {
      const block = node.blockByHash(p.hash(0));
      return block ? quantity(block.transactions.length) : null;
    },
    eth_getTransactionByBlockNumberAndIndex: (p) => {
      const block = m.findBlock(p.raw(0), 0);
      const tx = block?.transactions[Number(p.quantity(1))];
      return tx ? m.txJson(tx.hash()) : null;
    },
    eth_getTransactionByBlockHashAndIndex: (p) => {
      const block = node.blockByHash(p.hash(0));
      const tx = block?.transactions[Number(p.quantity(1))];
      return tx ? m.txJson(tx.hash()) : null;
    },
    eth_getUncleCountByBlockNumber: () => "0x0",
    eth_getUncleCountByBlockHash: () => "0x0",
    eth_getLogs: (p) => {
      p.count(1, 1);
      return m.getLogs(p.object(0), 0);
    },
    eth_newFilter: (p) => {
      p.count(1, 1);
      const o = p.object(0);
      const criteria = m.logCriteria(o, 0);
      const from =
        o.fromBlock == null || o.fromBlock === "latest"
          ? undefined
          : m.findBlock(o.fromBlock, 0)?.header.number;
      const to = o.toBlock == null || o.toBlock === "latest" ? undefined : parseQuantity(o.toBlock, 0);
      return m.filters.add({ kind: "logs", criteria, from, to, raw: o });
    },
    eth_newBlockFilter: () => m.filters.add({ kind: "blocks" }),
    eth_newPendingTransactionFilter: () => m.filters.add({ kind: "pending" }),
    eth_getFilterChanges: (p) => {
      p.count(1, 1);
      return m.filters.changes(p.string(0));
    },
    eth_getFilterLogs: (p) => {
      p.count(1, 1);
      const f = m.filters.get(p.string(0));
      if (f.kind !== "logs") throw new RpcError(RpcCode.Server, "filter not found");
      return m.getLogs(f.raw, 0);
    },
    eth_uninstallFilter: (p) => {
      p.count(1, 1);
      return m.filters.remove(p.string(0));
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
  };
}

function devKey(m: RpcMethods, address: string): `0x${string}` {
  const dev = m.node.devAccounts.find((a) => a.address.toLowerCase() === address.toLowerCase());
  if (!dev) throw new RpcError(RpcCode.Server, "unknown account");
  return dev.privateKey;
}

async function fillTransaction(m: RpcMethods, p: Params) {
  const req = p.call(0);
  if (!req.from) throw new InvalidParamsError("invalid argument 0: missing from");
  const key = devKey(m, req.from);
  const node = m.node;
  const nonce = req.nonce ?? (await node.pendingNonce(req.from));
  const gas = req.gas ?? (await m.exec.estimateGas(req, node.head));
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
            maxFeePerGas: req.maxFeePerGas ?? node.baseFee * 2n + (req.maxPriorityFeePerGas ?? SUGGESTED_TIP),
          },
          { common: node.common },
        );
  return tx.sign(hexToBytes(key));
}

function feeHistory(m: RpcMethods, p: Params): unknown {
  p.count(2, 3);
  const raw = p.raw(0);
  // geth takes the block count as hex or as a plain number
  const asked =
    typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0 ? BigInt(raw) : p.quantity(0);
  const count = Number(asked > BigInt(MAX_FEE_HISTORY) ? BigInt(MAX_FEE_HISTORY) : asked);
  const newest = m.block(p, 1);
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
    const b = m.node.blockByNumber(n);
    if (!b) break;
    const baseFee = b.header.baseFeePerGas ?? 0n;
    baseFees.push(quantity(baseFee));
    blobFees.push("0x1");
    blobRatios.push(0);
    ratios.push(Number(b.header.gasUsed) / Number(b.header.gasLimit));
    if (percentiles.length > 0) {
      const receipts = m.node.receiptsOfBlock(n);
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
  const last = m.node.blockByNumber(newest.header.number);
  baseFees.push(quantity(last ? last.header.calcNextBaseFee() : 0n));
  blobFees.push("0x1");
  const out: Record<string, unknown> = {
    oldestBlock: quantity(oldest),
    baseFeePerGas: baseFees,
    gasUsedRatio: ratios,
    baseFeePerBlobGas: blobFees,
    blobGasUsedRatio: blobRatios,
  };
  out.reward = rewards;
  return out;
}

/** geth's "pending" block: latest+1 with the pool's executable transactions (not yet sealed). */
async function pendingBlockJson(m: RpcMethods, full: boolean): Promise<unknown> {
  const { block, senders } = await m.node.pendingBlock();
  const txs = block.transactions.map((t, i) =>
    full ? formatTransaction(t, senders[i]) : bytesToHex(t.hash()),
  );
  return formatBlock(block, txs);
}
