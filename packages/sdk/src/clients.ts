import {
  type Account,
  type Chain,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type WalletClient,
  webSocket,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import { OpenLedgerTransactionError } from "./errors.ts";

export interface Connection {
  chain: Chain;
  publicClient: PublicClient<Transport, Chain>;
  /** Present when an account or private key was given. */
  walletClient?: WalletClient<Transport, Chain, Account>;
}

function transportFor(rpcUrl: string): Transport {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    throw new OpenLedgerTransactionError(`invalid RPC URL "${rpcUrl}": expected http(s):// or ws(s)://`);
  }
  if (url.protocol === "http:" || url.protocol === "https:") return http(rpcUrl, { retryCount: 0 });
  if (url.protocol === "ws:" || url.protocol === "wss:") return webSocket(rpcUrl, { retryCount: 0 });
  throw new OpenLedgerTransactionError(`unsupported RPC URL scheme "${url.protocol}" in ${rpcUrl}`);
}

/**
 * Connects to an EVM JSON-RPC endpoint: asks its chain id, then builds a public client and, given a
 * private key or account, a wallet client on the same chain.
 */
export async function connect(rpcUrl: string, signer?: Hex | Account): Promise<Connection> {
  const transport = transportFor(rpcUrl);
  let id: number;
  try {
    id = await getChainId(createPublicClient({ transport }));
  } catch (err) {
    const reason = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
    throw new OpenLedgerTransactionError(`cannot reach the RPC at ${rpcUrl}: ${reason.split("\n")[0]}`);
  }
  const chain = defineChain({
    id,
    name: id === 31337 ? "Local dev chain" : `Chain ${id}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
  // receipts are polled every 500 ms (viem's default without a known block time is 4 s: a send on a
  // 1 s-block chain would wait up to 4 s for a receipt mined after one)
  const pollingInterval = 500;
  const publicClient = createPublicClient({ chain, transport, pollingInterval });
  if (!signer) return { chain, publicClient };
  const account = typeof signer === "string" ? privateKeyToAccount(signer) : signer;
  const walletClient = createWalletClient({ chain, transport, account, pollingInterval });
  return { chain, publicClient, walletClient };
}
