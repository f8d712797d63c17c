import { createAddressFromString } from "@ethereumjs/util";
import { formatTransaction, quantity } from "../format.ts";
import type { Handler, RpcMethods } from "./methods.ts";

/** txpool_: what the pool holds, pending and queued, by sender and nonce. */
export function txpoolMethods(m: RpcMethods): Record<string, Handler> {
  return {
    txpool_content: () => poolContent(m),
    txpool_status: async () => {
      const c = await poolSplit(m);
      const count = (bySender: Map<string, unknown[]>) =>
        [...bySender.values()].reduce((s, l) => s + l.length, 0);
      return { pending: quantity(count(c.pending)), queued: quantity(count(c.queued)) };
    },
  };
}

async function poolSplit(m: RpcMethods) {
  const senders = m.node.pool.senders();
  const nonces = new Map<string, bigint>();
  for (const s of senders) nonces.set(s, await m.node.stateNonce(s));
  return m.node.pool.content((s) => nonces.get(s) ?? 0n);
}

async function poolContent(m: RpcMethods) {
  const split = await poolSplit(m);
  const shape = (
    bySender: Map<string, { tx: Parameters<typeof formatTransaction>[0]; sender: string; nonce: bigint }[]>,
  ) => {
    const out: Record<string, Record<string, unknown>> = {};
    for (const [sender, txs] of bySender) {
      const checksummed = createAddressFromString(sender).toString();
      out[checksummed] = {};
      for (const t of txs) out[checksummed][t.nonce.toString()] = formatTransaction(t.tx, sender);
    }
    return out;
  };
  return { pending: shape(split.pending), queued: shape(split.queued) };
}
