// Prepaid inference end to end: a real anvil with the protocol deployed, demo models published as
// ModelFactory does, OpenLoRA serving them with the payment gate, and the `openai` client paying
// with API keys bound to escrow accounts.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { computeSpanV2, SpanIndex } from "@openledger/attribution";
import { devAccounts } from "@openledger/devnet";
import { Engine } from "@openledger/ml";
import {
  type DemoChain,
  demoAdapterBytes,
  demoConfig,
  publishDemoModel,
  startDemoChain,
} from "@openledger/openlora/test-fixtures";
import { authorizationOf, transferToken } from "@openledger/sdk";
import OpenAI from "openai";
import { type Address, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import { createKeyBinding } from "../src/api-keys.ts";
import { PaymentsDb } from "../src/db.ts";
import { PaymentGate, RECEIPT_HEADER } from "../src/gate.ts";
import { decodeReceiptHeader, verifyReceipt } from "../src/receipt.ts";
import { type PaidServer, startPaidServer } from "./paid-server.ts";
import { cli, OPENLEDGER } from "./settlement-fixture.ts";

const PRICE = 10n ** 15n; // per 1,000 tokens: 10^12 wei a token
const OPEN = 10n ** 18n;

describe("prepaid inference through the openai client", () => {
  let c: DemoChain;
  let server: PaidServer;
  let url: string;
  let gate: PaymentGate;
  let db: PaymentsDb;
  let chainId: number;
  const operator = privateKeyToAccount(devAccounts[2].privateKey);
  const payerA = devAccounts[3];
  const payerB = devAccounts[4];
  /** span indexes the gate attributes over, by snapshot id (filled by the attribution test) */
  const indexes = new Map<bigint, SpanIndex>();

  /** Funds `who` with `amount` of escrow and authorises the operator for all of it; returns an API key. */
  const payerWithKey = (who: (typeof devAccounts)[number], amount: bigint) =>
    server.payerWithKey(who, amount);

  const client = (apiKey: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey, maxRetries: 0 });

  before(async () => {
    c = await startDemoChain();
    chainId = await getChainId(c.client);
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 128 });
    await publishDemoModel(c, "demo-base");
    await publishDemoModel(c, "demo-a", {
      bytes: demoAdapterBytes(engine, demoConfig(), 1, c.dir),
      price: PRICE,
    });
    await engine.close();
    db = new PaymentsDb(join(c.dir, "payments.sqlite"));
    gate = new PaymentGate({
      client: c.client,
      chainId,
      settlement: c.addresses.inferenceSettlement,
      operator,
      db,
      spanIndexes: async (ids) => ids.flatMap((id) => indexes.get(id) ?? []),
    });
    server = await startPaidServer({ chain: c, db, operator: operator.address, admission: gate.admission });
    url = server.url;
  });

  after(async () => {
    await server?.close();
    db?.close();
    await c?.stop();
    if (c) rmSync(c.dir, { recursive: true, force: true });
  });

  const refused = (status: number, code: string) => (err: InstanceType<typeof OpenAI.APIError>) => {
    assert.equal(err.status, status, err.message);
    assert.equal(err.code, code);
    return true;
  };

  test("no key, a malformed key and an unbound key get 401; an empty escrow gets 402 with the amounts", async () => {
    const req = { model: "demo-a", prompt: "dog", max_tokens: 4 };
    const bare = await fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(req),
    });
    assert.equal(bare.status, 401);
    assert.equal(((await bare.json()) as { error: { code: string } }).error.code, "invalid_api_key");
    await assert.rejects(client("sk-not-ours").completions.create(req), refused(401, "invalid_api_key"));
    await assert.rejects(
      client(`olk_${"ab".repeat(32)}`).completions.create(req),
      refused(401, "invalid_api_key"),
    );
    const empty = await payerWithKey(devAccounts[5], 0n);
    await assert.rejects(
      client(empty).completions.create(req),
      (err: InstanceType<typeof OpenAI.APIError>) => {
        refused(402, "insufficient_funds")(err);
        assert.match(err.message, /may cost up to \d+ wei .* has 0 wei available/);
        return true;
      },
    );
    // the gate keeps a payer's funds per head block: a deposit (a later block) is seen at once
    await payerWithKey(devAccounts[5], OPEN);
    const paid = await client(empty).completions.create(req);
    assert.equal(paid.choices.length, 1);
  });

  test("a forged key binding is refused", async () => {
    const { binding } = await createKeyBinding(privateKeyToAccount(payerA.privateKey), {
      chainId,
      settlement: c.addresses.inferenceSettlement,
      issuedAt: 1n,
    });
    // Mallory claims the key draws on payer B's escrow with payer A's signature
    const res = await fetch(`${url}/v1/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...binding, payer: payerB.address, issuedAt: "1" }),
    });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, "invalid_key_binding");
  });

  test("a paid answer carries an operator-signed receipt for exactly its tokens; a forged one fails", async () => {
    const key = await payerWithKey(payerA, OPEN);
    const { data, response } = await client(key)
      .completions.create({ model: "demo-a", prompt: "dog", max_tokens: 6, temperature: 0 })
      .withResponse();
    const ext = (data as unknown as { openledger: { receipt: unknown; fee: string } }).openledger;
    const fromHeader = decodeReceiptHeader(response.headers.get(RECEIPT_HEADER)!);
    assert.deepEqual(fromHeader, ext.receipt);
    const r = await verifyReceipt(ext.receipt, {
      operator: operator.address,
      chainId,
      settlement: c.addresses.inferenceSettlement,
    });
    const tokens = data.usage!.prompt_tokens + data.usage!.completion_tokens;
    assert.equal(r.fee, (BigInt(tokens) * PRICE) / 1000n);
    assert.equal(r.payer, payerA.address);
    assert.equal(r.completionTokens, data.usage!.completion_tokens);
    assert.equal(ext.fee, r.fee.toString());
    const stored = await (await fetch(`${url}/v1/receipts/${data.id}`)).json();
    assert.deepEqual(stored, ext.receipt);

    const forged = structuredClone(ext.receipt) as { receipt: { fee: string } };
    forged.receipt.fee = "1";
    await assert.rejects(verifyReceipt(forged), /not by the operator/);
    const impostor = privateKeyToAccount(devAccounts[6].privateKey).address;
    await assert.rejects(
      verifyReceipt({ ...(ext.receipt as object), operator: impostor }),
      /not by the operator/,
    );
    await assert.rejects(verifyReceipt(ext.receipt, { operator: impostor }), /expected operator/);

    // `openledger receipts verify FILE`: the header value and the JSON pass, the forged one fails
    const cli = (file: string, ...args: string[]) =>
      spawnSync(process.execPath, [OPENLEDGER, "receipts", "verify", file, ...args], { encoding: "utf8" });
    const header = join(c.dir, "receipt.b64");
    writeFileSync(header, response.headers.get(RECEIPT_HEADER)!);
    const ok = cli(header, "--operator", operator.address);
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, new RegExp(`fee ${r.fee} wei`));
    const bad = join(c.dir, "forged.json");
    writeFileSync(bad, JSON.stringify(forged));
    const no = cli(bad);
    assert.equal(no.status, 1);
    assert.match(
      no.stderr,
      /^error: .*invalid receipt: the receipt is signed by 0x[0-9a-fA-F]{40}, not by the operator/m,
    );
  });

  test("concurrent requests reserve: two that together exceed the escrow get one answer and one 402", async () => {
    const probe = await client(await payerWithKey(devAccounts[8], OPEN)).completions.create({
      model: "demo-a",
      prompt: "apple:",
      max_tokens: 1,
    });
    const maxTokens = 12;
    const maxCost = (BigInt(probe.usage!.prompt_tokens + maxTokens) * PRICE) / 1000n;
    const key = await payerWithKey(payerB, (maxCost * 3n) / 2n);
    const req = { model: "demo-a", prompt: "apple:", max_tokens: maxTokens, temperature: 0 };
    const results = await Promise.allSettled([
      client(key).completions.create(req),
      client(key).completions.create(req),
    ]);
    assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
    const no = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    refused(402, "insufficient_funds")(no.reason);
    assert.equal(gate.reservations.heldBy(payerB.address as Address), 0n);
  });

  test("a client that drops a stream pays only for the tokens delivered", async () => {
    const key = await payerWithKey(devAccounts[7], OPEN);
    const ctl = new AbortController();
    const stream = await client(key).completions.create(
      { model: "demo-a", prompt: "cat:", max_tokens: 100, temperature: 1, seed: 5, stream: true },
      { signal: ctl.signal },
    );
    let n = 0;
    let id = "";
    try {
      for await (const chunk of stream) {
        id = chunk.id;
        if (++n === 2) ctl.abort();
      }
    } catch {
      // the aborted read ends the iteration
    }
    let res: Response | undefined;
    for (let i = 0; i < 250; i++) {
      res = await fetch(`${url}/v1/receipts/${id}`);
      if (res.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(res!.status, 200);
    const r = await verifyReceipt(await res!.json(), { operator: operator.address });
    assert.ok(
      r.completionTokens >= 2 && r.completionTokens < 100,
      `charged for ${r.completionTokens} tokens`,
    );
    assert.equal(r.fee, (BigInt(r.promptTokens + r.completionTokens) * PRICE) / 1000n);
    assert.equal(gate.reservations.heldBy(devAccounts[7].address as Address), 0n);
  });

  test("an answer that reproduces a training passage credits its contribution, committed in the receipt", async () => {
    const key = await payerWithKey(devAccounts[9], OPEN);
    const req = { model: "demo-a", prompt: "dog", max_tokens: 24, temperature: 0 };
    const probe = await client(key).completions.create(req);
    const before = (probe as unknown as { openledger: { attribution: { credits: unknown[] } } }).openledger;
    assert.deepEqual(before.attribution.credits, [], "nothing indexed yet: no credit");
    const output = probe.choices[0]!.text;
    assert.ok(
      output.split(/\s+/).filter(Boolean).length >= 4,
      `a long enough answer: ${JSON.stringify(output)}`,
    );
    // the model's training snapshot holds the passage (contribution 7) and an unrelated one (9)
    const chunks = [
      { contributionId: 7n, chunkIndex: 0, text: `earlier words here ${output} and more after` },
      { contributionId: 9n, chunkIndex: 0, text: "zebras graze quietly beside the river delta" },
    ];
    const root = keccak256(toHex("demo snapshot chunks"));
    indexes.set(c.snapshotId, SpanIndex.build(chunks, root));
    const { data, response } = await client(key).completions.create(req).withResponse();
    assert.equal(data.choices[0]!.text, output);
    const ext = (
      data as unknown as { openledger: { attribution: Record<string, unknown>; receipt: unknown } }
    ).openledger;
    const a = ext.attribution as { credits: { contributionId: string; share: number }[]; spans: unknown[] };
    assert.deepEqual(
      a.credits.map((x) => [x.contributionId, x.share]),
      [["7", 1_000_000]],
    );
    assert.ok(a.spans.length >= 1);
    assert.deepEqual(ext.attribution.snapshotIds, [c.snapshotId.toString()]);
    // anyone recomputes the same commitment from the output and the chunks; the receipt signs it
    const expected = computeSpanV2(output, chunks, [root]).commitment;
    assert.equal(ext.attribution.commitment, expected);
    const r = await verifyReceipt(decodeReceiptHeader(response.headers.get(RECEIPT_HEADER)!), {
      operator: operator.address,
    });
    assert.equal(r.attribution, expected);
  });

  test("the CLI: escrow deposit, keys create (binding + on-chain authorisation), escrow show", async () => {
    const who = devAccounts[1];
    await transferToken(c.wallet, { token: c.addresses.token, to: who.address, amount: 2n * OPEN });
    const chain = ["--rpc", c.anvil.rpcUrl, "--deployments", join(c.dir, "deployments"), "--account", "1"];
    // asynchronous (cli): the server answering `keys create` runs in this process
    const dep = await cli("escrow", "deposit", "1.5", ...chain);
    assert.equal(dep.status, 0, dep.stderr);
    assert.match(dep.stdout, /escrow of 0x[0-9a-fA-F]{40} is 1.5 OPEN/);
    const tooMuch = await cli("escrow", "deposit", "5", ...chain);
    assert.equal(tooMuch.status, 1);
    assert.match(tooMuch.stderr, /^error: .* holds 0.5 OPEN, less than the 5 to deposit/m);
    const made = await cli("keys", "create", "--api", url, "--cap", "1", ...chain);
    assert.equal(made.status, 0, made.stderr);
    const key = made.stdout.trim();
    const auth = await authorizationOf(c.client, {
      settlement: c.addresses.inferenceSettlement,
      payer: who.address,
      operator: operator.address,
    });
    assert.equal(auth.cap, OPEN);
    const answer = await client(key).completions.create({ model: "demo-a", prompt: "dog", max_tokens: 3 });
    const fee = BigInt((answer as unknown as { openledger: { fee: string } }).openledger.fee);
    assert.equal(fee, (BigInt(answer.usage!.total_tokens) * PRICE) / 1000n);
    const show = await cli("escrow", "show", "--json", ...chain);
    assert.equal(show.status, 0, show.stderr);
    assert.equal(JSON.parse(show.stdout).escrow, ((3n * OPEN) / 2n).toString());
    const nowhere = await cli("keys", "create", "--api", "http://127.0.0.1:9", ...chain);
    assert.equal(nowhere.status, 1);
    assert.match(nowhere.stderr, /^error: cannot reach http:\/\/127.0.0.1:9\/v1\/payments/m);
  });
});
