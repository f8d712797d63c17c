import type { Block } from "@ethereumjs/block";
import { RLP } from "@ethereumjs/rlp";
import { bigIntToUnpaddedBytes, bytesToBigInt, bytesToHex, hexToBytes } from "@ethereumjs/util";
import { effectiveGasPrice } from "./fees.ts";
import { quantity, type RpcLog } from "./format.ts";

/** A log as the consensus receipt holds it: address, topics, data. */
export type ConsensusLog = [Uint8Array, Uint8Array[], Uint8Array];

/**
 * A transaction's receipt as the store keeps it: the consensus receipt (EIP-2718 typed envelope of
 * `rlp([status, cumulativeGasUsed, logsBloom, logs])`, the bytes the block's receipts root commits
 * to) plus the few index facts the RPC needs and cannot re-derive cheaply. The JSON-RPC form is
 * built from this when read, so the wire format can change without migrating data.
 */
export interface StoredReceipt {
  txHash: Uint8Array;
  blockNumber: number;
  txIndex: number;
  /** Block-wide index of this transaction's first log. */
  firstLogIndex: number;
  sender: Uint8Array;
  gasUsed: bigint;
  contractAddress: Uint8Array | undefined;
  type: number;
  status: 0 | 1;
  cumulativeGasUsed: bigint;
  logsBloom: Uint8Array;
  logs: ConsensusLog[];
  /** The consensus encoding of the fields above, when it is already made (block building). */
  encoded?: Uint8Array;
}

/** The receipt JSON of eth_getTransactionReceipt (geth's field set). */
export interface ReceiptJson {
  transactionHash: string;
  from: string;
  status: string;
  logs: RpcLog[];
  [k: string]: unknown;
}

/** The consensus encoding: legacy receipts are bare RLP, typed ones carry their type byte first. */
export function encodeConsensusReceipt(
  r: Pick<StoredReceipt, "type" | "status" | "cumulativeGasUsed" | "logsBloom" | "logs">,
): Uint8Array {
  const body = RLP.encode([
    r.status === 1 ? Uint8Array.of(1) : new Uint8Array(),
    bigIntToUnpaddedBytes(r.cumulativeGasUsed),
    r.logsBloom,
    r.logs,
  ]);
  if (r.type === 0) return body;
  const out = new Uint8Array(body.length + 1);
  out[0] = r.type;
  out.set(body, 1);
  return out;
}

export function decodeConsensusReceipt(
  bytes: Uint8Array,
): Pick<StoredReceipt, "type" | "status" | "cumulativeGasUsed" | "logsBloom" | "logs"> {
  const type = bytes[0] < 0x80 ? bytes[0] : 0;
  const fields = RLP.decode(type === 0 ? bytes : bytes.subarray(1)) as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    ConsensusLog[],
  ];
  return {
    type,
    status: fields[0].length > 0 && fields[0][0] === 1 ? 1 : 0,
    cumulativeGasUsed: bytesToBigInt(fields[1]),
    logsBloom: fields[2],
    logs: fields[3],
  };
}

/** One log in the RPC's form, with its place in the chain. */
export function formatLog(
  log: ConsensusLog,
  at: {
    blockHash: string;
    blockNumber: bigint;
    timestamp: bigint;
    txHash: string;
    txIndex: number;
    logIndex: number;
  },
): RpcLog {
  return {
    address: bytesToHex(log[0]),
    topics: log[1].map((t) => bytesToHex(t)),
    data: bytesToHex(log[2]),
    blockNumber: quantity(at.blockNumber),
    blockHash: at.blockHash,
    blockTimestamp: quantity(at.timestamp),
    transactionHash: at.txHash,
    transactionIndex: quantity(at.txIndex),
    logIndex: quantity(at.logIndex),
    removed: false,
  };
}

/** The JSON-RPC receipt of a stored receipt in its block. */
export function formatReceipt(r: StoredReceipt, block: Block): ReceiptJson {
  const tx = block.transactions[r.txIndex];
  const blockHash = bytesToHex(block.hash());
  const txHash = bytesToHex(r.txHash);
  const at = {
    blockHash,
    blockNumber: block.header.number,
    timestamp: block.header.timestamp,
    txHash,
    txIndex: r.txIndex,
  };
  return {
    type: quantity(r.type),
    status: r.status === 1 ? "0x1" : "0x0",
    cumulativeGasUsed: quantity(r.cumulativeGasUsed),
    logs: r.logs.map((log, i) => formatLog(log, { ...at, logIndex: r.firstLogIndex + i })),
    logsBloom: bytesToHex(r.logsBloom),
    transactionHash: txHash,
    transactionIndex: quantity(r.txIndex),
    blockHash,
    blockNumber: quantity(block.header.number),
    blockTimestamp: quantity(block.header.timestamp),
    gasUsed: quantity(r.gasUsed),
    effectiveGasPrice: quantity(effectiveGasPrice(tx, block.header.baseFeePerGas ?? 0n)),
    from: bytesToHex(r.sender),
    to: tx?.to ? tx.to.toString() : null,
    contractAddress: r.contractAddress ? bytesToHex(r.contractAddress) : null,
  };
}

/** Reads a receipt the store kept as JSON-RPC JSON before the consensus form (data dir migration). */
export function receiptFromLegacyJson(json: string): StoredReceipt {
  const j = JSON.parse(json) as {
    type: string;
    status: string;
    cumulativeGasUsed: string;
    logsBloom: string;
    logs: { address: string; topics: string[]; data: string; logIndex: string }[];
    transactionHash: string;
    transactionIndex: string;
    blockNumber: string;
    gasUsed: string;
    from: string;
    contractAddress: string | null;
  };
  const hex = (h: string) => hexToBytes(h as `0x${string}`);
  return {
    txHash: hex(j.transactionHash),
    blockNumber: Number(j.blockNumber),
    txIndex: Number(j.transactionIndex),
    firstLogIndex: j.logs.length > 0 ? Number(j.logs[0].logIndex) : 0,
    sender: hex(j.from),
    gasUsed: BigInt(j.gasUsed),
    contractAddress: j.contractAddress ? hex(j.contractAddress) : undefined,
    type: Number(j.type),
    status: j.status === "0x1" ? 1 : 0,
    cumulativeGasUsed: BigInt(j.cumulativeGasUsed),
    logsBloom: hex(j.logsBloom),
    logs: j.logs.map((l) => [hex(l.address), l.topics.map(hex), hex(l.data)]),
  };
}
