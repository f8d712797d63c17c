// A full paid round on a real anvil: two adapters (different prices) trained on one snapshot whose
// passages hold their answers; payer P (escrow + authorisation + API key, the `openai` client) calls
// both, payer X (no account: x402 through @x402/fetch) calls adapter 2; the batcher posts one batch per
// model, the window passes, the batches finalise, the credited contributors claim with the records
// route's proofs, and every party's change is checked to the wei and sums to zero.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type SpanChunk, SpanIndex, spanChunkLeaf } from "@openledger/attribution";
import { devAccounts } from "@openledger/devnet";
import { MerkleTree } from "@openledger/merkle";
import { Engine } from "@openledger/ml";
import {
  type DemoChain,
  demoAdapterBytes,
  demoConfig,
  publishDemoModel,
  startDemoChain,
} from "@openledger/openlora/test-fixtures";
import {
  approveToken,
  buildPayoutTree,
  buyLicense,
  claim,
  connect,
  contribute,
  curate,
  earningsOf,
  escrowOf,
  getBatch,
  publishSnapshot,
  SendQueue,
  type SumNode,
  splitFee,
  stake,
  tokenBalance,
  transferToken,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import { x402Client } from "@x402/core/client";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import OpenAI from "openai";
import { type Address, type Hex, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { SettlementBatcher } from "../src/batcher.ts";
import { PaymentsDb } from "../src/db.ts";
import type { WitnessChunks } from "../src/evidence.ts";
import { PaymentGate } from "../src/gate.ts";
import { X402Admission } from "../src/x402/admission.ts";
import { X402Facilitator } from "../src/x402/facilitator.ts";
import { loadX402Terms } from "../src/x402/terms.ts";
import { type PaidServer, startPaidServer } from "./paid-server.ts";

const OPEN = 10n ** 18n;
const PRICES = [10n ** 15n, 3n * 10n ** 15n] as const; // per 1,000 tokens, adapter 1 and adapter 2
/** the round's three calls: P asks adapter 1 and adapter 2, X asks adapter 2 */
const CALLS = [
  { adapter: 0, prompt: "dog" },
  { adapter: 1, prompt: "cat:" },
  { adapter: 1, prompt: "apple:" },
] as const;
const MAX_TOKENS = 24;
const ZERO = `0x${"00".repeat(32)}` as const;

interface Extension {
  fee: string;
  attribution: { credits: { contributionId: string; share: number }[] };
}

interface RecordJson {
  index: number;
  attributionHash: Hex;
  payouts: { account: Address; amount: string }[];
  proof: { hash: Hex; sum: string }[];
}

describe("a full paid round: two adapters, a prepaid and an x402 payer, settled and claimed", () => {
  let c: DemoChain;
  let server: PaidServer;
  let url: string;
  let db: PaymentsDb;
  const operator = privateKeyToAccount(devAccounts[2].privateKey);
  const owner = devAccounts[3];
  /** contributor k's one passage holds the answer to call k */
  const contributors = [devAccounts[4], devAccounts[5], devAccounts[8]];
  const payerP = devAccounts[6];
  const payerX = privateKeyToAccount(devAccounts[7].privateKey);
  const treasury = devAccounts[0].address as Address; // the deployer
  let batcher: SettlementBatcher;
  let apiKey: string;
  let x402Terms: Awaited<ReturnType<typeof loadX402Terms>>;
  const contributionIds: bigint[] = [];
  const modelIds: bigint[] = [];
  /** each call's greedy answer, which a contributed passage holds */
  const expected: string[] = [];
  /** what the batcher's rounds report */
  const errors: unknown[] = [];
  const wallet = async (who: { privateKey: Hex }): Promise<WalletClientWithAccount> =>
    (await connect(c.anvil.rpcUrl, who.privateKey)).walletClient!;

  before(async () => {
    c = await startDemoChain();
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 128 });
    const bytes = [1, 2].map((seed) => demoAdapterBytes(engine, demoConfig(), seed, c.dir));
    await engine.close();
    const settlement = c.addresses.inferenceSettlement;
    db = new PaymentsDb(join(c.dir, "payments.sqlite"));
    // free until the gate is set up below: the probes run unpaid
    server = await startPaidServer({ chain: c, db, operator: operator.address, settlementRoutes: true });
    url = server.url;
    const chainId = server.chainId;
    // the passages must hold the adapters' greedy answers, and the adapters must name the snapshot
    // that holds them: so the same adapter bytes are first served free, under probe names
    for (const k of [0, 1])
      await publishDemoModel(c, `probe-${k + 1}`, { bytes: bytes[k]!, price: PRICES[k] });
    const answers: string[] = [];
    for (const { adapter, prompt } of CALLS) {
      const res = await fetch(`${url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          model: `probe-${adapter + 1}`,
          prompt,
          max_tokens: MAX_TOKENS,
          temperature: 0,
          seed: 1,
        }),
      });
      assert.equal(res.status, 200, await res.clone().text());
      const text = ((await res.json()) as { choices: { text: string }[] }).choices[0]!.text;
      assert.ok(
        text.split(/\s+/).filter(Boolean).length >= 4,
        `a long enough answer: ${JSON.stringify(text)}`,
      );
      answers.push(text);
    }

    // each contributor contributes a passage holding one answer; the Datanet owner curates
    const registry = c.addresses.datanetRegistry;
    const texts = answers.map((a, k) => `${["Long ago", "They wrote", "It is said"][k]} ${a} and so on`);
    const chunks: SpanChunk[] = [];
    for (const [k, text] of texts.entries()) {
      const { contributionId } = await contribute(await wallet(contributors[k]!), {
        registry,
        datanetId: 1n, // the demo chain's one Datanet
        contentHash: keccak256(toHex(text)),
        byteSize: BigInt(text.length),
        license: ZERO,
      });
      await curate(c.wallet, { registry, contributionId, accept: true });
      chunks.push({ contributionId, chunkIndex: 0, text });
    }
    const chunkTree = MerkleTree.build(chunks.map(spanChunkLeaf));
    const weights = buildPayoutTree(contributors.map((x) => ({ account: x.address as Address, amount: 1n })));
    const { snapshotId } = await publishSnapshot(c.wallet, {
      registry,
      datanetId: 1n, // the demo chain's one Datanet
      chunksRoot: chunkTree.root,
      chunkCount: chunks.length,
      contributionCount: chunks.length,
      contributorsRoot: weights.root,
      totalWeight: BigInt(contributors.length),
      uri: "ipfs://paid-round-snapshot",
    });
    const ownerWallet = await wallet(owner);
    await buyLicense(ownerWallet, { registry, snapshotId });
    for (const k of [0, 1])
      modelIds.push(
        await publishDemoModel({ ...c, wallet: ownerWallet, snapshotId }, `adapter-${k + 1}`, {
          bytes: bytes[k]!,
          price: PRICES[k],
        }),
      );
    contributionIds.push(...chunks.map((x) => x.contributionId));
    expected.push(...answers);

    // the operator: staked (batches are taken only from staked operators), one send queue for its
    // batches and x402 settlements, the gate attributing over the snapshot with witness proofs
    const admin = c.wallet;
    const op = await wallet(devAccounts[2]);
    await transferToken(admin, { token: c.addresses.token, to: operator.address, amount: 1_000n * OPEN });
    await approveToken(op, { token: c.addresses.token, spender: c.addresses.staking, amount: 1_000n * OPEN });
    await stake(op, { staking: c.addresses.staking, amount: 1_000n * OPEN });
    const queue = new SendQueue();
    const terms = await loadX402Terms(c.client, {
      chainId,
      token: c.addresses.token,
      operator: operator.address,
    });
    const facilitator = new X402Facilitator({ client: c.client, wallet: op, queue, terms });
    const index = SpanIndex.build(chunks, chunkTree.root);
    const witnessChunks: WitnessChunks = async (ids, refs) =>
      refs.map((r) => {
        const leaf = chunks.findIndex(
          (x) => x.contributionId === r.contributionId && x.chunkIndex === r.chunkIndex,
        );
        return { ...chunks[leaf]!, snapshotId: ids[0]!, proof: chunkTree.proof(leaf) };
      });
    const gate = new PaymentGate({
      client: c.client,
      chainId,
      settlement,
      operator,
      db,
      spanIndexes: async (ids) => (ids.includes(snapshotId) ? [index] : []),
      witnessChunks,
      x402: new X402Admission(facilitator),
    });
    server.lora.setAdmission(gate.admission);
    batcher = new SettlementBatcher({
      client: c.client,
      wallet: op,
      queue,
      settlement,
      token: c.addresses.token,
      datanetRegistry: registry,
      modelRegistry: c.addresses.modelRegistry,
      db,
      onBatched: (d) => gate.batched(d),
      onError: (err) => errors.push(err),
    });

    // payer P: escrow, the operator authorised for all of it, an API key bound by its signature
    apiKey = await server.payerWithKey(payerP, OPEN);
    // payer X holds OPEN tokens and nothing else
    await transferToken(admin, { token: c.addresses.token, to: payerX.address, amount: OPEN });
    x402Terms = terms;
  });

  after(async () => {
    await batcher?.stop();
    await server?.close();
    db?.close();
    await c?.stop();
    if (c) rmSync(c.dir, { recursive: true, force: true });
  });

  test("every party's change is exact to the wei and the changes sum to zero", async () => {
    const settlement = c.addresses.inferenceSettlement;
    const token = c.addresses.token;
    const staking = c.addresses.staking;
    const balances = async () => ({
      escrowP: await escrowOf(c.client, { settlement, account: payerP.address as Address }),
      tokensX: await tokenBalance(c.client, { token, account: payerX.address }),
      operator: await tokenBalance(c.client, { token, account: operator.address }),
      contributors: await Promise.all(
        contributors.map((x) => tokenBalance(c.client, { token, account: x.address as Address })),
      ),
      owner: await earningsOf(c.client, { settlement, account: owner.address as Address }),
      treasury: await earningsOf(c.client, { settlement, account: treasury }),
      staking: await tokenBalance(c.client, { token, account: staking }),
    });
    const start = await balances();

    // P calls adapter 1 and adapter 2 with its key; X calls adapter 2 paying by x402
    const prepaid = new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });
    const x402 = x402Client.fromConfig({
      schemes: [{ network: "eip155:*", client: new ExactEvmScheme(payerX) }],
      spendControls: {
        allowedAssets: [
          { network: x402Terms.network, asset: x402Terms.asset, maxAmountPerPayment: OPEN.toString() },
        ],
      },
    });
    const perCall = new OpenAI({
      baseURL: `${url}/v1`,
      apiKey: "unused",
      defaultHeaders: { Authorization: null },
      fetch: wrapFetchWithPayment(fetch, x402),
      maxRetries: 0,
    });
    const ask = (client: OpenAI, call: (typeof CALLS)[number]) =>
      client.completions.create({
        model: `adapter-${call.adapter + 1}`,
        prompt: call.prompt,
        max_tokens: MAX_TOKENS,
        temperature: 0,
        seed: 1,
      });
    const answers = [
      await ask(prepaid, CALLS[0]),
      await ask(prepaid, CALLS[1]),
      await ask(perCall, CALLS[2]),
    ];
    const fees = answers.map((a, i) => {
      assert.equal(a.choices[0]!.text, expected[i]);
      const ext = (a as unknown as { openledger: Extension }).openledger;
      assert.deepEqual(
        ext.attribution.credits.map((x) => [x.contributionId, x.share]),
        [[contributionIds[i]!.toString(), 1_000_000]],
      );
      return BigInt(ext.fee);
    });
    // P pays the tokens that ran; X paid its maximum cost up front (prompt + max_tokens)
    assert.equal(fees[0], (BigInt(answers[0]!.usage!.total_tokens) * PRICES[0]) / 1000n);
    assert.equal(fees[1], (BigInt(answers[1]!.usage!.total_tokens) * PRICES[1]) / 1000n);
    assert.equal(fees[2], (BigInt(answers[2]!.usage!.prompt_tokens + MAX_TOKENS) * PRICES[1]) / 1000n);

    // one batch per model; adapter 2's carries X's fee as prepaid (already at the operator)
    await batcher.tick({ force: true });
    assert.deepEqual(errors, []);
    assert.equal(db.batches().length, 2);
    const batches = modelIds.map((id) => db.batches().find((b) => b.modelId === id)!);
    const requestIds = answers.map((a) => a.id.replace(/^cmpl-/, ""));
    assert.deepEqual(
      batches.map((b) => b.requestIds),
      [[requestIds[0]], [requestIds[1], requestIds[2]]],
    );
    assert.equal(db.usage(requestIds[2]!)!.payment, "x402");
    const batchFees = [fees[0]!, fees[1]! + fees[2]!];
    for (const [k, b] of batches.entries()) {
      const onChain = await getBatch(c.client, { settlement, batchId: b.batchId });
      assert.equal(onChain.fee, batchFees[k]);
      assert.equal(onChain.prepaid, k === 0 ? 0n : fees[2]);
    }

    // the window passes; the batcher finalises both; each contributor claims with the route's proofs
    await c.client.request({ method: "evm_increaseTime", params: [3601] } as never);
    await c.client.request({ method: "evm_mine", params: [] } as never);
    await batcher.tick();
    assert.deepEqual(errors, []);
    for (const b of batches) assert.equal(db.batch(b.batchId)!.status, "finalized");
    const claimed = contributors.map(() => 0n);
    for (const [k, who] of contributors.entries()) {
      for (const b of batches) {
        const claims = [];
        for (let i = 0; i < b.requestIds.length; i++) {
          const res = await fetch(`${url}/v1/settlement/batches/${b.batchId}/records/${i}`);
          assert.equal(res.status, 200);
          const r = (await res.json()) as RecordJson;
          const entry = r.payouts.findIndex((p) => p.account === who.address && BigInt(p.amount) > 0n);
          if (entry < 0) continue;
          claims.push({
            index: BigInt(r.index),
            attributionHash: r.attributionHash,
            payouts: r.payouts.map((x) => ({ account: x.account, amount: BigInt(x.amount) })),
            entry: BigInt(entry),
            proof: r.proof.map((n): SumNode => ({ hash: n.hash, sum: BigInt(n.sum) })),
          });
        }
        if (claims.length === 0) continue;
        const { amount } = await claim(await wallet(who), { settlement, batchId: b.batchId, claims });
        claimed[k]! += amount;
      }
    }

    // adapter 1's batch: its contributors' share goes whole to passage 0. Adapter 2's: record i takes
    // floor(C * fee_i / fee) for the passage it reproduces, and record 0 (P's, the older) the dust
    const splits = await Promise.all(batchFees.map((fee) => splitFee(c.client, { settlement, fee })));
    const c2 = splits[1]!.contributors;
    const shareX = (c2 * fees[2]!) / batchFees[1]!;
    assert.deepEqual(claimed, [splits[0]!.contributors, c2 - shareX, shareX]);
    assert.ok(claimed.every((x) => x > 0n));
    const end = await balances();
    const sum = (pick: (s: (typeof splits)[number]) => bigint) => splits.reduce((t, s) => t + pick(s), 0n);
    const change = {
      escrowP: end.escrowP - start.escrowP,
      tokensX: end.tokensX - start.tokensX,
      operator: end.operator - start.operator,
      contributors: end.contributors.map((b, k) => b - start.contributors[k]!),
      owner: end.owner - start.owner,
      treasury: end.treasury - start.treasury,
      staking: end.staking - start.staking,
    };
    assert.equal(change.escrowP, -(fees[0]! + fees[1]!), "P's escrow pays its two answers");
    assert.equal(change.tokensX, -fees[2]!, "X pays its answer's maximum cost");
    assert.equal(change.operator, 0n, "the operator passes X's payment on to the batch");
    assert.deepEqual(change.contributors, claimed);
    assert.equal(
      change.owner,
      sum((s) => s.modelOwner),
      "the model owner earns its share of both",
    );
    assert.equal(
      change.treasury,
      sum((s) => s.platform),
    );
    assert.equal(
      change.staking,
      sum((s) => s.stakers),
    );
    // value conserved: what the payers lost is exactly what the others gained
    const total =
      change.escrowP +
      change.tokensX +
      change.operator +
      change.contributors.reduce((t, x) => t + x, 0n) +
      change.owner +
      change.treasury +
      change.staking;
    assert.equal(total, 0n);
  });
});
