import { keccak256 } from "viem";
import { CLIENT_VERSION, type Handler, type RpcMethods } from "./methods.ts";

/** web3_ and net_: client identity and the (absent) peer network. */
export function netWeb3Methods(m: RpcMethods): Record<string, Handler> {
  const node = m.node;
  return {
    web3_clientVersion: () => CLIENT_VERSION,
    web3_sha3: (p) => keccak256(p.data(0)),
    net_version: () => node.chainId.toString(),
    net_listening: () => true,
    net_peerCount: () => "0x0",
  };
}
