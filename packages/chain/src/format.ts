import type { Block } from "@ethereumjs/block";
import type { TypedTransaction } from "@ethereumjs/tx";
import { bytesToHex } from "@ethereumjs/util";

/** Hex quantity as JSON-RPC wants it (no leading zeros). */
export function quantity(n: bigint | number): string {
  return `0x${n.toString(16)}`;
}

export interface RpcLog {
  address: string;
  topics: string[];
  data: string;
  blockNumber: string;
  blockHash: string;
  blockTimestamp: string;
  transactionHash: string;
  transactionIndex: string;
  logIndex: string;
  removed: boolean;
}

/** Where a transaction sits, for the block-context fields of its JSON. */
export interface TxPosition {
  blockHash: string;
  blockNumber: bigint;
  index: number;
  baseFee?: bigint;
  timestamp?: bigint;
}

/** A transaction as eth_getTransactionByHash answers (geth field set). */
export function formatTransaction(
  tx: TypedTransaction,
  from: string,
  pos?: TxPosition,
): Record<string, unknown> {
  const json = tx.toJSON() as Record<string, unknown>;
  const out: Record<string, unknown> = {
    type: quantity(tx.type),
    hash: bytesToHex(tx.hash()),
    nonce: quantity(tx.nonce),
    blockHash: pos ? pos.blockHash : null,
    blockNumber: pos ? quantity(pos.blockNumber) : null,
    transactionIndex: pos ? quantity(pos.index) : null,
    ...(pos?.timestamp !== undefined ? { blockTimestamp: quantity(pos.timestamp) } : {}),
    from,
    to: tx.to ? tx.to.toString() : null,
    value: quantity(tx.value),
    gas: quantity(tx.gasLimit),
    input: bytesToHex(tx.data),
    r: quantity(tx.r ?? 0n),
    s: quantity(tx.s ?? 0n),
    v: quantity(tx.v ?? 0n),
  };
  if ("maxFeePerGas" in tx) {
    const base = pos?.baseFee;
    const tip = tx.maxPriorityFeePerGas;
    out.gasPrice = quantity(
      base === undefined
        ? tx.maxFeePerGas
        : // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.min takes numbers
          base + (tip < tx.maxFeePerGas - base ? tip : tx.maxFeePerGas - base),
    );
    out.maxFeePerGas = quantity(tx.maxFeePerGas);
    out.maxPriorityFeePerGas = quantity(tip);
  } else if ("gasPrice" in tx) {
    out.gasPrice = quantity(tx.gasPrice);
  }
  if (tx.type !== 0) {
    out.chainId = json.chainId;
    out.accessList = json.accessList ?? [];
    out.yParity = quantity(tx.v ?? 0n);
  } else if (tx.supports(155)) {
    out.chainId = quantity(tx.common.chainId());
  }
  if (json.authorizationList) {
    // EIP-7702 entries as geth and anvil answer them: every number a quantity, the address as is.
    const list = json.authorizationList as Record<string, string>[];
    out.authorizationList = list.map((a) => ({
      chainId: hexQuantity(a.chainId),
      address: a.address,
      nonce: hexQuantity(a.nonce),
      yParity: hexQuantity(a.yParity),
      r: hexQuantity(a.r),
      s: hexQuantity(a.s),
    }));
  }
  return out;
}

/** A hex string of any form ("0x", padded bytes) as a JSON-RPC quantity. */
function hexQuantity(hex: string | undefined): string {
  return quantity(hex === undefined || hex === "0x" ? 0n : BigInt(hex));
}

/** A block as eth_getBlockByNumber answers. `txs` are hashes or full transaction objects. */
export function formatBlock(block: Block, txs: unknown[]): Record<string, unknown> {
  const h = block.header;
  const out: Record<string, unknown> = {
    number: quantity(h.number),
    hash: bytesToHex(block.hash()),
    parentHash: bytesToHex(h.parentHash),
    nonce: bytesToHex(h.nonce),
    mixHash: bytesToHex(h.mixHash),
    sha3Uncles: bytesToHex(h.uncleHash),
    logsBloom: bytesToHex(h.logsBloom),
    transactionsRoot: bytesToHex(h.transactionsTrie),
    stateRoot: bytesToHex(h.stateRoot),
    receiptsRoot: bytesToHex(h.receiptTrie),
    miner: h.coinbase.toString(),
    difficulty: quantity(h.difficulty),
    totalDifficulty: "0x0",
    extraData: bytesToHex(h.extraData),
    size: quantity(block.serialize().length),
    gasLimit: quantity(h.gasLimit),
    gasUsed: quantity(h.gasUsed),
    timestamp: quantity(h.timestamp),
    transactions: txs,
    uncles: [],
  };
  if (h.baseFeePerGas !== undefined) out.baseFeePerGas = quantity(h.baseFeePerGas);
  if (h.withdrawalsRoot !== undefined) {
    out.withdrawalsRoot = bytesToHex(h.withdrawalsRoot);
    out.withdrawals = [];
  }
  if (h.blobGasUsed !== undefined) out.blobGasUsed = quantity(h.blobGasUsed);
  if (h.excessBlobGas !== undefined) out.excessBlobGas = quantity(h.excessBlobGas);
  if (h.parentBeaconBlockRoot !== undefined) out.parentBeaconBlockRoot = bytesToHex(h.parentBeaconBlockRoot);
  if (h.requestsHash !== undefined) out.requestsHash = bytesToHex(h.requestsHash);
  return out;
}

/** The header object eth_subscribe("newHeads") pushes. */
export function formatHeader(block: Block): Record<string, unknown> {
  const {
    transactions: _t,
    uncles: _u,
    size: _s,
    totalDifficulty: _d,
    withdrawals: _w,
    ...header
  } = formatBlock(block, []);
  return header;
}
