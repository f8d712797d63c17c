import { bytesToHex } from "@ethereumjs/util";
import { decodeAbiParameters } from "viem";
import { RpcCode, RpcError } from "./errors.ts";

const ERROR_SELECTOR = "0x08c379a0";
const PANIC_SELECTOR = "0x4e487b71";

// geth's abi.panicReasons
const PANIC_REASONS: Record<number, string> = {
  0: "generic panic",
  1: "assert(false)",
  17: "arithmetic underflow or overflow",
  18: "division or modulo by zero",
  33: "enum overflow",
  34: "invalid encoded storage byte array accessed",
  49: "out-of-bounds array access; popping on an empty array",
  50: "out-of-bounds access of an array or bytesN",
  65: "out of memory",
  81: "uninitialized function",
};

/** The reason geth prints for revert data: Error(string) text or a Panic(uint256) description. */
export function revertReason(data: Uint8Array): string | undefined {
  const hex = bytesToHex(data);
  try {
    if (hex.startsWith(ERROR_SELECTOR)) {
      const [reason] = decodeAbiParameters([{ type: "string" }], `0x${hex.slice(10)}`);
      return reason;
    }
    if (hex.startsWith(PANIC_SELECTOR)) {
      const [code] = decodeAbiParameters([{ type: "uint256" }], `0x${hex.slice(10)}`);
      return PANIC_REASONS[Number(code)] ?? `unknown panic code: ${quantityString(code)}`;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

function quantityString(n: bigint): string {
  return `0x${n.toString(16)}`;
}

/** geth's eth_call / eth_estimateGas revert error: code 3, "execution reverted[: reason]", data = revert bytes. */
export function executionReverted(data: Uint8Array): RpcError {
  const reason = revertReason(data);
  return new RpcError(
    RpcCode.ExecutionReverted,
    reason === undefined ? "execution reverted" : `execution reverted: ${reason}`,
    bytesToHex(data),
  );
}
