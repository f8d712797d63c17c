/** JSON-RPC error codes, as geth and anvil use them. */
export const RpcCode = {
  Parse: -32700,
  InvalidRequest: -32600,
  MethodNotFound: -32601,
  InvalidParams: -32602,
  Internal: -32603,
  Server: -32000,
  LimitExceeded: -32005,
  ExecutionReverted: 3,
} as const;

/** An error answered to a JSON-RPC client with its code, message and optional data. */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** A transaction the pool refuses, worded as geth words it (clients match these strings). */
export class TxRejectedError extends RpcError {
  override name = "TxRejectedError";
  constructor(message: string) {
    super(RpcCode.Server, message);
  }
}

/** Bad JSON-RPC parameters (-32602). */
export class InvalidParamsError extends RpcError {
  override name = "InvalidParamsError";
  constructor(message: string) {
    super(RpcCode.InvalidParams, message);
  }
}

/** Thrown by a precompile's `run` to revert the call; `data` (if any) becomes the raw revert data. */
export class PrecompileError extends Error {
  override name = "PrecompileError";
  constructor(
    message: string,
    readonly data?: Uint8Array,
  ) {
    super(message);
  }
}

/** The data dir's head block is there but its state is not (the node refuses to start on it). */
export class StateMissingError extends Error {
  override name = "StateMissingError";
  constructor(datadir: string, head: number, root: string) {
    super(
      `datadir ${datadir}: the state of head block ${head} (state root ${root}) is missing from chain.sqlite; ` +
        "restart with --rebuild-state (NodeOptions.rebuildState) to re-execute the stored blocks from the last block whose state is present",
    );
  }
}
