import type { TypedTransaction } from "@ethereumjs/tx";

/** maxFeePerGas and tip of any transaction type (legacy: both are gasPrice). */
export function feeCaps(tx: TypedTransaction): { maxFee: bigint; tip: bigint } {
  if ("maxFeePerGas" in tx) return { maxFee: tx.maxFeePerGas, tip: tx.maxPriorityFeePerGas };
  const price = (tx as { gasPrice: bigint }).gasPrice;
  return { maxFee: price, tip: price };
}

/** What the sender pays per gas in a block with `baseFee`. */
export function effectiveGasPrice(tx: TypedTransaction, baseFee: bigint): bigint {
  const { maxFee, tip } = feeCaps(tx);
  const room = maxFee - baseFee;
  // biome-ignore lint/complexity/useMathMinMax: bigint operands; Math.min takes numbers
  return baseFee + (tip < room ? tip : room);
}

/** Intrinsic gas, or the EIP-7623 calldata floor when higher. */
export function minimumGas(tx: TypedTransaction): bigint {
  const intrinsic = tx.getIntrinsicGas();
  if (!tx.common.isActivatedEIP(7623)) return intrinsic;
  let tokens = 0n;
  for (const b of tx.data) tokens += b === 0 ? 1n : 4n;
  const floor = 21000n + 10n * tokens;
  return floor > intrinsic ? floor : intrinsic;
}
