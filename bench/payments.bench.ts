// Payable inference. 1) Settlement: gas per settled inference and inferences settled per second of
// chain time (30M gas a block, 1 s blocks: the L2's defaults) at batch sizes 100 / 1,000 / 10,000
// (goals: <= 1,000 gas and >= 20,000/s at 10,000), through the real SettlementBatcher posting to
// InferenceSettlement on anvil, beside the peer a user would otherwise write: one $OPEN transfer per
// inference. 2) Latency: what metering, receipts and attribution add to a request (goal: under 5 ms
// p50), beside the same request on the same server with payments off. A real anvil with the protocol, a demo adapter priced per token, OpenLoRA with the
// PaymentGate, span-v2 over the WordNet noun.food synsets as the model's training snapshot, and fetch
// as the client. Paid and free requests alternate, so both see the same machine load; the gate's own
// time (admission: funds read from the chain; settlement: attribution, receipt signature, SQLite) is
// timed around its hooks too. PAYMENTS_BENCH_REQUESTS (default 60 each), PAYMENTS_BENCH_PAYERS (100
// escrow payers share each batch). The machine is shared: the figures move with its load.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { SpanIndex } from "@openledger/attribution";
import { readWordnetByDomain, synsetText } from "@openledger/datanet";
import { devAccounts } from "@openledger/devnet";
import { Engine } from "@openledger/ml";
import type { AdmissionHook } from "@openledger/openlora";
import {
  demoAdapterBytes,
  demoConfig,
  publishDemoModel,
  startDemoChain,
} from "@openledger/openlora/test-fixtures";
import { PaymentGate, PaymentsDb, SettlementBatcher } from "@openledger/payments";
import { startPaidServer, startSettlementChain } from "@openledger/payments/test-fixtures";
import { approveToken, authorize, connect, deposit, transferToken } from "@openledger/sdk";
import { type Address, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId, getTransactionReceipt } from "viem/actions";

const REQUESTS = Number(process.env.PAYMENTS_BENCH_REQUESTS ?? 60);
const PAYERS = Number(process.env.PAYMENTS_BENCH_PAYERS ?? 100);
const OPEN = 10n ** 18n;
const GAS_PER_SECOND = 30_000_000n; // the L2's block gas limit, one block a second

await settlementThroughput();
await latency();

/** Gas and chain time per settled inference at each batch size, against a transfer per inference. */
async function settlementThroughput(): Promise<void> {
  const s = await startSettlementChain();
  try {
    await s.stakeOperator();
    const sizes = [100, 1_000, 10_000];
    // one real answer, attributed and stored by the gate; the batches carry copies of its row
    const funder = await s.wallet(0);
    const payers: Address[] = [];
    for (let i = 0; i < PAYERS; i++) {
      const key = keccak256(toHex(`payments bench payer ${i}`));
      const account = privateKeyToAccount(key);
      payers.push(account.address);
      await s.client.request({
        method: "anvil_setBalance",
        params: [account.address, toHex(10n ** 18n)],
      } as never);
      const { walletClient } = await connect(s.anvil.rpcUrl, key);
      const amount = 1_000n * OPEN;
      await transferToken(funder, { token: s.addresses.token, to: account.address, amount });
      await approveToken(walletClient!, {
        token: s.addresses.token,
        spender: s.addresses.inferenceSettlement,
        amount,
      });
      await deposit(walletClient!, { settlement: s.addresses.inferenceSettlement, amount });
      await authorize(walletClient!, {
        settlement: s.addresses.inferenceSettlement,
        operator: s.operator.address,
        cap: amount,
        expiry: 2n ** 39n,
      });
    }
    await s.gate.settleUsage(
      s.usage("template", `${"copper kettles whistle as saffron steam curls"} and more`, 20),
      payers[0]!,
      [s.snapshotId],
    );
    const template = s.db.usage("template")!;
    const operatorWallet = await s.wallet(4);
    const batcher = (maxRecords: number) =>
      new SettlementBatcher({
        client: s.client,
        wallet: operatorWallet,
        settlement: s.addresses.inferenceSettlement,
        token: s.addresses.token,
        datanetRegistry: s.addresses.datanetRegistry,
        modelRegistry: s.addresses.modelRegistry,
        db: s.db,
        maxRecords,
      });
    const rows: { n: number; gas: bigint; buildMs: number }[] = [];
    let k = 0;
    for (const n of [1, ...sizes]) {
      // n answers from min(n, PAYERS) payers; a 1-answer batch gives the fixed cost of a batch
      for (let i = 0; i < n; i++)
        s.db.addUsage({
          ...template,
          requestId: `bench-${k++}`,
          payer: payers[i % PAYERS]!,
          batchId: undefined,
        });
      const t0 = performance.now();
      const batchId = await batcher(n).post(s.modelId);
      const ms = performance.now() - t0;
      const receipt = await getTransactionReceipt(s.client, { hash: s.db.batch(batchId!)!.txHash });
      rows.push({ n, gas: receipt.gasUsed, buildMs: ms });
    }
    // the peer: one transfer of the fee per inference
    const peer = await transferToken(funder, {
      token: s.addresses.token,
      to: payers[0]!,
      amount: template.fee,
    });
    const peerGas = peer.receipt.gasUsed;
    const fixed = rows[0]!.gas;
    const perDebit = (rows[1]!.gas - fixed) / BigInt(Math.min(100, PAYERS) - 1);
    console.log(
      `\nsettlement: ${PAYERS} escrow payers per batch, 1 record per answer (off-chain, in the records root); anvil; shared 2-core machine`,
    );
    console.log(
      `${"batch size".padEnd(12)}${"gas/batch".padStart(12)}${"gas/inference".padStart(15)}${"settled/s chain".padStart(17)}${"vs transfer".padStart(13)}${"post ms".padStart(10)}`,
    );
    for (const r of rows.slice(1)) {
      const per = r.gas / BigInt(r.n);
      const perSecond = (GAS_PER_SECOND * BigInt(r.n)) / r.gas;
      console.log(
        `${r.n.toLocaleString("en").padEnd(12)}${r.gas.toString().padStart(12)}${per.toString().padStart(15)}${perSecond.toLocaleString("en").padStart(17)}${`${(Number(peerGas) / Number(per)).toFixed(1)}x`.padStart(13)}${r.buildMs.toFixed(0).padStart(10)}`,
      );
    }
    console.log(
      `peer: one token transfer per inference, ${peerGas} gas (${(GAS_PER_SECOND / peerGas).toLocaleString("en")}/s of chain time). Where a batch's gas goes: ${fixed} fixed per batch, about ${perDebit} per payer debit, 0 per record (records are a Merkle root; payouts are claimed later)`,
    );
  } finally {
    await s.anvil.stop();
    rmSync(s.dir, { recursive: true, force: true });
  }
}

async function latency(): Promise<void> {
  const c = await startDemoChain();
  try {
    const chainId = await getChainId(c.client);
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 128 });
    await publishDemoModel(c, "demo-base");
    await publishDemoModel(c, "paid", {
      bytes: demoAdapterBytes(engine, demoConfig(), 1, c.dir),
      price: OPEN,
    });
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
    // OpenLoRA with the payment routes; each paid request sets the gate's (timed) admission
    const server = await startPaidServer({ chain: c, db, operator: operator.address });
    const { lora, url } = server;
    // a payer with escrow, the operator authorised, an API key
    const key = await server.payerWithKey(devAccounts[3], 1_000n * OPEN);

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
    await server.close();
    db.close();

    const q = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) * p)]!;
    const row = (name: string, xs: number[]) =>
      console.log(
        `${name.padEnd(40)}${q(xs, 0.5).toFixed(2).padStart(10)}${q(xs, 0.99).toFixed(2).padStart(10)}`,
      );
    console.log(
      `\npayments latency: ${REQUESTS} requests each, 16 tokens, span-v2 over ${chunks.length} synsets; shared 2-core machine`,
    );
    console.log(`${"".padEnd(40)}${"p50 ms".padStart(10)}${"p99 ms".padStart(10)}`);
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
}
