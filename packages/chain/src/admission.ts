import type { Common } from "@ethereumjs/common";
import { RLP } from "@ethereumjs/rlp";
import { createTxFromRLP, type TypedTransaction } from "@ethereumjs/tx";
import { Account, type Address, bytesToHex } from "@ethereumjs/util";
import { TxRejectedError } from "./errors.ts";
import { feeCaps, minimumGas } from "./fees.ts";
import { toHex } from "./hex.ts";
import type { PoolTx, TxPool } from "./mempool.ts";
import type { PendingLog } from "./pendingLog.ts";
import type { SenderRecovery } from "./recovery.ts";
import { senderAddress } from "./senderAddress.ts";

/** The largest raw transaction admission takes (geth's txMaxSize). */
const MAX_TX_BYTES = 131072;
/** How many faulting transaction hashes admission remembers and refuses. */
const FAULT_MEMORY = 1024;

/** What admission reads from the node; it never writes state. */
export interface AdmissionContext {
  common: Common;
  chainId: bigint;
  blockGasLimit: bigint;
  pool: TxPool;
  pendingLog: () => PendingLog;
  recovery: SenderRecovery;
  baseFee: () => bigint;
  account: (address: Address) => Promise<Account | undefined>;
  announce: (hashHex: string) => void;
}

/** The answer to a transaction whose execution threw out of the EVM: refused, nothing of it kept. */
export function faultRefusal(reason: string): TxRejectedError {
  return new TxRejectedError(
    `transaction refused: executing it faulted the node's EVM (${reason}); it was not included and the state is unchanged`,
  );
}

/**
 * Transaction admission: decodes a raw signed transaction, recovers its sender, checks it against
 * the pool rules and the head state as geth does (same error words), remembers it in the pending
 * log and hands it to the pool.
 */
export class Admission {
  /** Transactions whose execution faulted the EVM, oldest first: refused if sent again. */
  private readonly faults = new Map<string, string>();

  constructor(private readonly ctx: AdmissionContext) {}

  /** Why executing the transaction `hashHex` faulted the EVM, if it did recently. */
  faultOf(hashHex: string): string | undefined {
    return this.faults.get(hashHex);
  }

  rememberFault(hashHex: string, reason: string): void {
    if (this.faults.size >= FAULT_MEMORY) {
      const oldest = this.faults.keys().next().value;
      if (oldest !== undefined) this.faults.delete(oldest);
    }
    this.faults.set(hashHex, reason);
  }

  /** Admits `raw` to the pool (and, with `persist`, to the pending log before resolving). */
  async admit(raw: Uint8Array, persist: boolean): Promise<PoolTx> {
    const ctx = this.ctx;
    if (raw.length > MAX_TX_BYTES)
      throw new TxRejectedError(`oversized data: transaction size ${raw.length}, limit ${MAX_TX_BYTES}`);
    const tx = this.decode(raw);
    await ctx.recovery.prepare(tx);
    let sender: Address;
    try {
      sender = tx.getSenderAddress();
    } catch {
      throw new TxRejectedError("invalid sender");
    }
    const intrinsic = minimumGas(tx);
    if (tx.gasLimit < intrinsic) {
      throw new TxRejectedError(`intrinsic gas too low: gas ${tx.gasLimit}, minimum needed ${intrinsic}`);
    }
    const cap = tx.common.isActivatedEIP(7825) ? tx.common.param("maxTransactionGasLimit") : undefined;
    if (cap !== undefined && tx.gasLimit > cap) {
      throw new TxRejectedError(`transaction gas limit too high (cap: ${cap}, tx: ${tx.gasLimit})`);
    }
    if (tx.gasLimit > ctx.blockGasLimit) throw new TxRejectedError("exceeds block gas limit");
    const { maxFee, tip } = feeCaps(tx);
    if (tip > maxFee) {
      throw new TxRejectedError(
        `max priority fee per gas higher than max fee per gas: address ${sender}, maxPriorityFeePerGas: ${tip}, maxFeePerGas: ${maxFee}`,
      );
    }
    const baseFee = ctx.baseFee();
    if (maxFee < baseFee) {
      throw new TxRejectedError(
        `max fee per gas less than block base fee: address ${sender}, maxFeePerGas: ${maxFee}, baseFee: ${baseFee}`,
      );
    }
    const account = (await ctx.account(sender)) ?? new Account();
    if (tx.nonce < account.nonce) {
      throw new TxRejectedError(`nonce too low: next nonce ${account.nonce}, tx nonce ${tx.nonce}`);
    }
    const cost = tx.gasLimit * maxFee + tx.value;
    if (account.balance < cost) {
      throw new TxRejectedError(
        `insufficient funds for gas * price + value: balance ${account.balance}, tx cost ${cost}, overshot ${cost - account.balance}`,
      );
    }
    const hash = tx.hash();
    const hashHex = toHex(hash);
    const fault = this.faults.get(hashHex);
    if (fault !== undefined) throw faultRefusal(fault);
    const senderHex = toHex(sender.bytes);
    const entry = { tx, raw, hash, hashHex, sender: senderHex, nonce: tx.nonce, maxFee, tip };
    ctx.pool.add(entry, account.nonce);
    if (persist) await ctx.pendingLog().append(raw);
    ctx.announce(hashHex);
    return { ...entry, seq: 0 };
  }

  private decode(raw: Uint8Array): TypedTransaction {
    const { chainId } = this.ctx;
    if (raw.length === 0) throw new TxRejectedError("rlp: empty input");
    if (raw[0] === 3) throw new TxRejectedError("transaction type not supported");
    if (raw[0] > 4 && raw[0] < 0x80) throw new TxRejectedError("transaction type not supported");
    try {
      const tx = createTxFromRLP(raw, { common: this.ctx.common, freeze: false });
      rememberSender(tx);
      rememberEncoding(tx);
      Object.freeze(tx);
      return tx;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const have = peekChainId(raw);
      if (have !== undefined && have !== chainId) {
        throw new TxRejectedError(
          `invalid sender: invalid chain id for signer: have ${have} want ${chainId}`,
        );
      }
      if (/maxFeePerGas cannot be less than maxPriorityFeePerGas/.test(message)) {
        throw new TxRejectedError("max priority fee per gas higher than max fee per gas");
      }
      if (/signature|s-value|v-value|invalid v|ecrecover|recovery/i.test(message)) {
        throw new TxRejectedError("invalid sender");
      }
      throw new TxRejectedError(`rlp: ${message.split(" (")[0]}`);
    }
  }
}

/**
 * @ethereumjs derives the sender address from the (cached) public key with a pure-JS keccak on every
 * `getSenderAddress` call, and admission, the pool and runTx call it several times per transaction:
 * it is derived once, with the WebAssembly keccak, and kept on the transaction.
 */
function rememberSender(tx: TypedTransaction): void {
  let sender: Address | undefined;
  // getSenderPublicKey checks the signature (high s, v) and recovers unless recovery filled its cache.
  tx.getSenderAddress = () => {
    sender ??= senderAddress(tx.getSenderPublicKey());
    return sender;
  };
}

/**
 * A block re-encodes each transaction for its transactions root and again for its own encoding
 * (@ethereumjs builds the RLP afresh on every `serialize` call): the first encoding is kept.
 */
function rememberEncoding(tx: TypedTransaction): void {
  const encode = tx.serialize.bind(tx);
  let encoded: Uint8Array | undefined;
  tx.serialize = () => {
    encoded ??= encode();
    return encoded;
  };
}

/** The chain id a raw transaction claims, if it can be read. */
function peekChainId(raw: Uint8Array): bigint | undefined {
  try {
    if (raw[0] < 0x80) {
      const fields = RLP.decode(raw.subarray(1)) as Uint8Array[];
      return bytesToBig(fields[0]);
    }
    const fields = RLP.decode(raw) as Uint8Array[];
    const v = bytesToBig(fields[6]);
    return v >= 35n ? (v - 35n) / 2n : undefined;
  } catch {
    return undefined;
  }
}

function bytesToBig(b: Uint8Array): bigint {
  return b.length === 0 ? 0n : BigInt(bytesToHex(b));
}
