// Payable inference: the latency that metering, receipts and attribution add to a request (goal: under
// 5 ms p50), beside the peer a user would compare with: the same request on the same server with
// payments off. A real anvil with the protocol, a demo adapter priced per token, OpenLoRA with the
// PaymentGate, span-v2 over the WordNet noun.food synsets as the model's training snapshot, and fetch
// as the client. Paid and free requests alternate, so both see the same machine load; the gate's own
// time (admission: funds read from the chain; settlement: attribution, receipt signature, SQLite) is
// timed around its hooks too. PAYMENTS_BENCH_REQUESTS (default 60 each). The machine is shared: the
// figures move with its load.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { SpanIndex } from "@openledger/attribution";
import { readWordnetByDomain, synsetText } from "@openledger/datanet";
import { devAccounts } from "@openledger/devnet";
import { Engine } from "@openledger/ml";
import {
  type AdmissionHook,
  EmbeddedBackend,
  OpenLora,
  openaiRoutes,
  RegistryCatalog,
} from "@openledger/openlora";
import {
  demoAdapterBytes,
  demoConfig,
  publishDemoModel,
  startDemoChain,
} from "@openledger/openlora/test-fixtures";
import { createKeyBinding, PaymentGate, PaymentsDb, paymentRoutes } from "@openledger/payments";
import { approveToken, authorize, connect, deposit, transferToken } from "@openledger/sdk";
import Fastify from "fastify";
import { keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";

const REQUESTS = Number(process.env.PAYMENTS_BENCH_REQUESTS ?? 60);
const OPEN = 10n ** 18n;

const c = await startDemoChain();
try {
  const chainId = await getChainId(c.client);
  const engine = await Engine.create({ threads: 1, maxMemoryMiB: 128 });
  await publishDemoModel(c, "demo-base");
  await publishDemoModel(c, "paid", { bytes: demoAdapterBytes(engine, demoConfig(), 1, c.dir), price: OPEN });
  await engine.close();

  // the snapshot behind the adapter: every noun.food synset, one contribution each
  const synsets = readWordnetByDomain().get("noun.food") ?? [];
  const chunks = synsets.map((s, i) => ({
    contributionId: BigInt(i + 1),
    chunkIndex: 0,
    text: synsetText(s),
  }));
  const index = SpanIndex.build(chunks, keccak256(toHex("noun.food")));

  const operator = privateKeyToAccount(devAccounts[2].privateKey);
  const db = new PaymentsDb(join(c.dir, "payments.sqlite"));
  const gate = new PaymentGate({
    client: c.client,
    chainId,
    settlement: c.addresses.inferenceSettlement,
    operator,
    db,
    spanIndexes: async (ids) => ids.map(() => index),
  });
  // the gate's own time per request: admission and settlement, around its hooks
  const gateMs: number[] = [];
  const admitMs: number[] = [];
  const settleMs: number[] = [];
  const timed: AdmissionHook = async (req) => {
    const t0 = performance.now();
    const ticket = await gate.admission(req);
    const admitted = performance.now() - t0;
    if (!ticket) return ticket;
    return {
      settle: async (record) => {
        const t1 = performance.now();
        const out = await ticket.settle(record);
        const settled = performance.now() - t1;
        admitMs.push(admitted);
        settleMs.push(settled);
        gateMs.push(admitted + settled);
        return out;
      },
    };
  };
  const lora = new OpenLora({
    catalog: new RegistryCatalog({ client: c.client, registry: c.addresses.modelRegistry, blobs: c.blobs }),
    defaultBackend: new EmbeddedBackend({ blobs: c.blobs, threads: 1 }),
  });
  const app = Fastify({ logger: false });
  await app.register(openaiRoutes, { openlora: lora });
  await app.register(paymentRoutes, {
    db,
    chainId,
    settlement: c.addresses.inferenceSettlement,
    operator: operator.address,
  });
  app.addHook("onClose", () => lora.close());
  const url = await app.listen({ host: "127.0.0.1", port: 0 });

  // a payer with escrow, the operator authorised, an API key
  const payer = devAccounts[3];
  const { walletClient } = await connect(c.anvil.rpcUrl, payer.privateKey);
  const settlement = c.addresses.inferenceSettlement;
  const amount = 1_000n * OPEN;
  await transferToken(c.wallet, { token: c.addresses.token, to: payer.address, amount });
  await approveToken(walletClient!, { token: c.addresses.token, spender: settlement, amount });
  await deposit(walletClient!, { settlement, amount });
  await authorize(walletClient!, { settlement, operator: operator.address, cap: amount, expiry: 2n ** 39n });
  const { key, binding } = await createKeyBinding(privateKeyToAccount(payer.privateKey), {
    chainId,
    settlement,
    issuedAt: 1n,
  });
  await fetch(`${url}/v1/keys`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ ...binding, issuedAt: binding.issuedAt.toString() }),
  });

  const body = JSON.stringify({ model: "paid", prompt: "a dish of", max_tokens: 16, temperature: 0 });
  async function request(paid: boolean): Promise<number> {
    lora.setAdmission(paid ? timed : undefined);
    const t0 = performance.now();
    const res = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${key}` },
      body,
    });
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`request answered ${res.status}`);
    return performance.now() - t0;
  }
  for (let i = 0; i < 5; i++) await request(i % 2 === 0); // warm-up: adapter load, JIT
  for (const xs of [gateMs, admitMs, settleMs]) xs.length = 0;
  const paid: number[] = [];
  const free: number[] = [];
  for (let i = 0; i < REQUESTS; i++) {
    free.push(await request(false));
    paid.push(await request(true));
  }
  await app.close();
  db.close();

  const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;
  const row = (name: string, xs: number[]) =>
    console.log(
      `${name.padEnd(34)}${q(xs, 0.5).toFixed(2).padStart(10)}${q(xs, 0.99).toFixed(2).padStart(10)}`,
    );
  console.log(
    `\npayments latency: ${REQUESTS} requests each, 16 tokens, span-v2 over ${chunks.length} synsets; shared 2-core machine`,
  );
  console.log(`${"".padEnd(34)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}`);
  row("request, payments off (peer)", free);
  row("request, payments on", paid);
  row("gate (admit + settle)", gateMs);
  row("  admit (funds from the chain)", admitMs);
  row("  settle (attribution, receipt, store)", settleMs);
  const added = q(paid, 0.5) - q(free, 0.5);
  console.log(
    `added p50: ${added.toFixed(2)} ms end to end, ${q(gateMs, 0.5).toFixed(2)} ms in the gate (goal < 5 ms); paid/free p50 ratio ${(q(paid, 0.5) / q(free, 0.5)).toFixed(3)}`,
  );
} finally {
  await c.stop();
  rmSync(c.dir, { recursive: true, force: true });
}
