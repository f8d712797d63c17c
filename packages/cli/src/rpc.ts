import type { Connection } from "@openledger/sdk";
import type { Account, Hex } from "viem";
import { CliError } from "./errors.ts";

/**
 * Why `url` did not answer as a JSON-RPC endpoint, found by asking it for eth_chainId directly:
 * another HTTP server (the OpenLedger HTTP API, say) answers with its own status or body. Undefined
 * when it does answer JSON-RPC, or cannot be reached at all (the caller's message says that).
 */
export async function notJsonRpcReason(url: string): Promise<string | undefined> {
  if (!/^https?:/.test(url)) return undefined;
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch {
    return undefined;
  }
  const text = await res.text().catch(() => "");
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return `it answered HTTP ${res.status} with a body that is not JSON`;
  }
  const reply = body as { jsonrpc?: unknown; result?: unknown; error?: unknown };
  if (reply && reply.jsonrpc === "2.0" && ("result" in reply || "error" in reply)) return undefined;
  return `it answered HTTP ${res.status} with JSON that is not a JSON-RPC reply`;
}

/** sdk `connect`, with a clear line when the URL is some other HTTP server rather than a node. */
export async function connectRpc(url: string, signer?: Hex | Account): Promise<Connection> {
  const { connect } = await import("@openledger/sdk");
  try {
    return await connect(url, signer);
  } catch (err) {
    const reason = await notJsonRpcReason(url);
    if (!reason) throw err;
    throw new CliError(
      `${url} is not a JSON-RPC endpoint: ${reason}. Point --rpc at the node (openledger up/node serve JSON-RPC on --port, 8545 by default; 8080 is the HTTP API)`,
      { cause: err },
    );
  }
}
