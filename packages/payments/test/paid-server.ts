// A paid inference server on 127.0.0.1: OpenLoRA (the demo chain's ModelRegistry and content store,
// the embedded ml engine) behind the payment gate's admission, with the OpenAI and payment routes on
// fastify, and payers with escrow and an API key. What the prepaid, x402, paid-round and grad-v1
// tests and the payments bench share.
import assert from "node:assert/strict";
import {
  type AdmissionHook,
  EmbeddedBackend,
  OpenLora,
  openaiRoutes,
  RegistryCatalog,
} from "@openledger/openlora";
import type { DemoChain } from "@openledger/openlora/test-fixtures";
import { approveToken, authorize, connect, deposit, transferToken } from "@openledger/sdk";
import Fastify, { type FastifyInstance } from "fastify";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import { createKeyBinding } from "../src/api-keys.ts";
import type { PaymentsDb } from "../src/db.ts";
import { paymentRoutes } from "../src/routes.ts";
import { settlementRoutes } from "../src/settlement-routes.ts";
import type { X402Facilitator } from "../src/x402/facilitator.ts";
import { x402FacilitatorRoutes } from "../src/x402/routes.ts";

export interface PaidServerOptions {
  /** the chain whose published models OpenLoRA serves (its deployer funds payers) */
  chain: DemoChain;
  db: PaymentsDb;
  operator: Address;
  /** the payment gate's admission; absent: requests run free until `lora.setAdmission` */
  admission?: AdmissionHook;
  /** also serve the settlement routes (batches, records, payouts) */
  settlementRoutes?: boolean;
  /** also serve this facilitator's x402 routes */
  facilitator?: X402Facilitator;
  /** requests the backend lets wait (0: every request meets a full queue) */
  maxQueue?: number;
}

export interface PaidServer {
  app: FastifyInstance;
  url: string;
  chainId: number;
  lora: OpenLora;
  /** OpenLoRA's embedded backend (one ml thread) */
  backend: EmbeddedBackend;
  /**
   * Funds `who`'s escrow with `amount` (nothing at 0), authorises the operator for all of it and binds
   * an API key to `who` through POST /v1/keys; returns the key.
   */
  payerWithKey(who: { address: string; privateKey: Hex }, amount: bigint): Promise<string>;
  /** closes the server and OpenLoRA (not the db or the chain) */
  close(): Promise<void>;
}

export async function startPaidServer(o: PaidServerOptions): Promise<PaidServer> {
  const c = o.chain;
  const chainId = await getChainId(c.client);
  const settlement = c.addresses.inferenceSettlement;
  const backend = new EmbeddedBackend({
    blobs: c.blobs,
    threads: 1,
    ...(o.maxQueue !== undefined ? { maxQueue: o.maxQueue } : {}),
  });
  const lora = new OpenLora({
    catalog: new RegistryCatalog({ client: c.client, registry: c.addresses.modelRegistry, blobs: c.blobs }),
    defaultBackend: backend,
    ...(o.admission ? { admission: o.admission } : {}),
  });
  const app = Fastify({ logger: false });
  app.addHook("onClose", () => lora.close());
  await app.register(openaiRoutes, { openlora: lora });
  await app.register(paymentRoutes, { db: o.db, chainId, settlement, operator: o.operator });
  if (o.settlementRoutes)
    await app.register(settlementRoutes, { db: o.db, settlement, operator: o.operator });
  if (o.facilitator) await app.register(x402FacilitatorRoutes, { facilitator: o.facilitator });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return {
    app,
    url,
    chainId,
    lora,
    backend,
    async payerWithKey(who, amount) {
      if (amount > 0n) {
        const wallet = (await connect(c.anvil.rpcUrl, who.privateKey)).walletClient!;
        await transferToken(c.wallet, { token: c.addresses.token, to: who.address as Address, amount });
        await approveToken(wallet, { token: c.addresses.token, spender: settlement, amount });
        await deposit(wallet, { settlement, amount });
        await authorize(wallet, { settlement, operator: o.operator, cap: amount, expiry: 2n ** 39n });
      }
      const { key, binding } = await createKeyBinding(privateKeyToAccount(who.privateKey), {
        chainId,
        settlement,
        issuedAt: 1n,
      });
      const res = await fetch(`${url}/v1/keys`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...binding, issuedAt: binding.issuedAt.toString() }),
      });
      assert.equal(res.status, 201, await res.text());
      return key;
    },
    close: () => app.close(),
  };
}
