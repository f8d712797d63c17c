// x402 v2 per-call payments end to end: a real anvil with the protocol deployed, a demo adapter
// served by OpenLoRA behind the payment gate, and the clients a user would pick: the `openai` package
// with `@x402/fetch` + `@x402/evm`'s exact-scheme signer (viem account), and `HTTPFacilitatorClient`
// for the facilitator routes. Hostile payments are signed by hand with viem.
import assert from "node:assert/strict";
import { rmSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { devAccounts } from "@openledger/devnet";
import { Engine } from "@openledger/ml";
import {
  type DemoChain,
  demoAdapterBytes,
  demoConfig,
  publishDemoModel,
  startDemoChain,
} from "@openledger/openlora/test-fixtures";
import { connect, SendQueue, tokenBalance, transferToken } from "@openledger/sdk";
import { x402Client } from "@x402/core/client";
import {
  decodePaymentRequiredHeader,
  decodePaymentResponseHeader,
  encodePaymentSignatureHeader,
  HTTPFacilitatorClient,
} from "@x402/core/http";
import type { PaymentPayload, PaymentRequired } from "@x402/core/types";
import { authorizationTypes } from "@x402/evm";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import { wrapFetchWithPayment } from "@x402/fetch";
import OpenAI from "openai";
import { type Address, type Hex, type LocalAccount, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import { PaymentsDb } from "../src/db.ts";
import { PaymentGate } from "../src/gate.ts";
import { decodeReceiptHeader, type SignedReceipt } from "../src/receipt.ts";
import { X402Admission } from "../src/x402/admission.ts";
import { X402Facilitator } from "../src/x402/facilitator.ts";
import { loadX402Terms, requirementsFor, type X402Terms } from "../src/x402/terms.ts";
import { type PaidServer, startPaidServer } from "./paid-server.ts";

const PRICE = 10n ** 15n; // per 1,000 tokens: 10^12 wei a token
const OPEN = 10n ** 18n;
const REQ = { model: "demo-a", prompt: "the dog", max_tokens: 4 };

describe("x402 v2 per-call payments", () => {
  let c: DemoChain;
  let server: PaidServer;
  let url: string;
  let db: PaymentsDb;
  let terms: X402Terms;
  let gate: PaymentGate;
  const operator = privateKeyToAccount(devAccounts[2].privateKey);
  const payer = privateKeyToAccount(devAccounts[6].privateKey);
  const stranger = privateKeyToAccount(devAccounts[7].privateKey);
  let seed = 0;

  /** A fresh 32-byte nonce from a counter (deterministic, never repeated within the run). */
  const nextNonce = (): Hex => toHex(++seed, { size: 32 });

  /** The `openai` client paying with x402: @x402/fetch signs the 402's requirements with `account`. */
  function payingClient(account: LocalAccount, sent?: string[], server = url) {
    const x402 = x402Client.fromConfig({
      schemes: [{ network: "eip155:*", client: new ExactEvmScheme(account) }],
      // $OPEN is not one of x402's default (USD) assets: allow it, capped at 1 OPEN a call
      spendControls: {
        allowedAssets: [{ network: terms.network, asset: terms.asset, maxAmountPerPayment: OPEN.toString() }],
      },
    });
    const recording: typeof fetch = async (input, init) => {
      const h = (input instanceof Request ? input.headers : new Headers(init?.headers)).get(
        "payment-signature",
      );
      if (h) sent?.push(h);
      return fetch(input, init);
    };
    return new OpenAI({
      baseURL: `${server}/v1`,
      apiKey: "unused",
      defaultHeaders: { Authorization: null },
      fetch: wrapFetchWithPayment(recording, x402),
      maxRetries: 0,
    });
  }

  /** The 402 a bare request gets, decoded: the terms a client pays. */
  async function requirementsOf(body: object = REQ): Promise<{ res: Response; required: PaymentRequired }> {
    const res = await post(body);
    assert.equal(res.status, 402);
    const header = res.headers.get("payment-required");
    assert.ok(header, "a 402 carries the PAYMENT-REQUIRED header");
    return { res, required: decodePaymentRequiredHeader(header) };
  }

  function post(body: object, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: JSON.stringify(body),
    });
  }

  /** An exact-scheme payment signed by hand: `signer` signs an authorization naming `from`. */
  async function handSigned(
    amount: bigint,
    o: {
      signer?: LocalAccount;
      from?: Address;
      validBefore?: bigint;
      nonce?: Hex;
      network?: string;
      asset?: Address;
    } = {},
  ): Promise<PaymentPayload> {
    const signer = o.signer ?? payer;
    const accepted = {
      ...requirementsFor(terms, amount),
      ...(o.network ? { network: o.network as `${string}:${string}` } : {}),
      ...(o.asset ? { asset: o.asset } : {}),
    };
    const authorization = {
      from: o.from ?? signer.address,
      to: terms.payTo,
      value: amount,
      validAfter: 0n,
      validBefore: o.validBefore ?? 2n ** 40n,
      nonce: o.nonce ?? nextNonce(),
    };
    const signature = await signer.signTypedData({
      domain: {
        name: terms.name,
        version: terms.version,
        chainId: Number(terms.network.split(":")[1]),
        verifyingContract: terms.asset,
      },
      types: authorizationTypes,
      primaryType: "TransferWithAuthorization",
      message: authorization,
    });
    return {
      x402Version: 2,
      accepted,
      payload: {
        signature,
        authorization: {
          ...authorization,
          value: amount.toString(),
          validAfter: "0",
          validBefore: authorization.validBefore.toString(),
        },
      },
    };
  }

  const balance = (account: Address) => tokenBalance(c.client, { token: terms.asset, account });

  async function refusedWith(res: Response, code: string): Promise<string> {
    const text = await res.text();
    assert.equal(res.status, 402, text);
    const body = JSON.parse(text) as { error: { code: string; message: string; type: string } };
    assert.equal(body.error.code, code, body.error.message);
    const header = res.headers.get("payment-required");
    assert.ok(header, "every x402 refusal carries the requirements again");
    assert.equal(decodePaymentRequiredHeader(header).error, code);
    return body.error.message;
  }

  before(async () => {
    c = await startDemoChain();
    const chainId = await getChainId(c.client);
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 128 });
    await publishDemoModel(c, "demo-a", {
      bytes: demoAdapterBytes(engine, demoConfig(), 1, c.dir),
      price: PRICE,
    });
    await engine.close();
    await transferToken(c.wallet, { token: c.addresses.token, to: payer.address, amount: OPEN });
    const { walletClient } = await connect(c.anvil.rpcUrl, operator);
    terms = await loadX402Terms(c.client, {
      chainId,
      token: c.addresses.token,
      operator: operator.address,
    });
    const facilitator = new X402Facilitator({
      client: c.client,
      wallet: walletClient!,
      queue: new SendQueue(),
      terms,
    });
    db = new PaymentsDb(join(c.dir, "payments.sqlite"));
    gate = new PaymentGate({
      client: c.client,
      chainId,
      settlement: c.addresses.inferenceSettlement,
      operator,
      db,
      x402: new X402Admission(facilitator),
    });
    server = await startPaidServer({
      chain: c,
      db,
      operator: operator.address,
      admission: gate.admission,
      facilitator,
    });
    url = server.url;
  });

  after(async () => {
    await server?.close();
    db?.close();
    await c?.stop();
    if (c) rmSync(c.dir, { recursive: true, force: true });
  });

  test("no key and no payment: 402 with exact-scheme requirements in OPEN to the operator", async () => {
    const { res, required } = await requirementsOf();
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "payment_required");
    assert.match(body.error.message, /may cost up to \d+ wei of OPEN/);
    assert.equal(required.x402Version, 2);
    assert.equal(required.accepts.length, 1);
    const [r] = required.accepts;
    assert.deepEqual(
      { scheme: r!.scheme, network: r!.network, asset: r!.asset, payTo: r!.payTo, extra: r!.extra },
      {
        scheme: "exact",
        network: `eip155:${await getChainId(c.client)}`,
        asset: c.addresses.token,
        payTo: operator.address,
        extra: { name: "OpenLedger", version: "1" },
      },
    );
    assert.equal(required.resource.url, "/v1/models/demo-a");
  });

  test("a paid call through the openai client: the operator receives the amount, the row is 'x402'", async () => {
    const { required } = await requirementsOf();
    const amount = BigInt(required.accepts[0]!.amount);
    const [payerBefore, operatorBefore] = [await balance(payer.address), await balance(operator.address)];
    const sent: string[] = [];
    const { data, response } = await payingClient(payer, sent).completions.create(REQ).withResponse();
    assert.equal(sent.length, 1, "one payment signed");
    // the requirement was the maximum cost: prompt + max_tokens at the adapter's price
    assert.equal(amount, (BigInt(data.usage!.prompt_tokens + REQ.max_tokens) * PRICE) / 1000n);
    assert.equal(await balance(operator.address), operatorBefore + amount);
    assert.equal(await balance(payer.address), payerBefore - amount);
    const settled = decodePaymentResponseHeader(response.headers.get("payment-response")!);
    assert.equal(settled.success, true);
    assert.equal(settled.payer, payer.address);
    assert.match(settled.transaction, /^0x[0-9a-f]{64}$/);
    const ext = (data as unknown as { openledger: { x402: { transaction: string }; payer: string } })
      .openledger;
    assert.equal(ext.x402.transaction, settled.transaction);
    const row = db.usage(data.id.replace(/^cmpl-/, ""));
    assert.ok(row);
    assert.equal(row.payment, "x402");
    assert.equal(row.payer, payer.address);
    assert.equal(row.fee, amount, "the usage row carries what was transferred");
    const receipt = decodeReceiptHeader(response.headers.get("openledger-receipt")!) as SignedReceipt;
    assert.equal(receipt.receipt.payer, payer.address);
    assert.equal(BigInt(receipt.receipt.fee), amount);

    // replaying the very header that paid is refused, and moves nothing
    const replay = await post(REQ, { "payment-signature": sent[0]! });
    assert.match(await refusedWith(replay, "invalid_exact_evm_nonce_already_used"), /nonce was used/);
    assert.equal(await balance(operator.address), operatorBefore + amount);
  });

  test("a paid stream carries PAYMENT-RESPONSE in its headers and the settlement in its last event", async () => {
    const { required } = await requirementsOf({ ...REQ, stream: true });
    const { data: stream, response } = await payingClient(payer)
      .completions.create({ ...REQ, stream: true })
      .withResponse();
    const settled = decodePaymentResponseHeader(response.headers.get("payment-response")!);
    assert.equal(settled.success, true);
    let ext: { x402?: { transaction: string }; fee?: string } | undefined;
    for await (const chunk of stream) ext = (chunk as { openledger?: typeof ext }).openledger ?? ext;
    assert.equal(ext?.x402?.transaction, settled.transaction);
    assert.equal(ext?.fee, required.accepts[0]!.amount, "the stream's fee is the amount paid");
  });

  test("a paid request the server cannot run (queue full) gets its payment back before the 429", async () => {
    // the same gate in front of a backend whose queue takes nothing
    const full = await startPaidServer({
      chain: c,
      db,
      operator: operator.address,
      admission: gate.admission,
      maxQueue: 0,
    });
    const fullUrl = full.url;
    try {
      const [payerBefore, operatorBefore] = [await balance(payer.address), await balance(operator.address)];
      const sent: string[] = [];
      await assert.rejects(
        payingClient(payer, sent, fullUrl).completions.create(REQ),
        (err: InstanceType<typeof OpenAI.APIError>) => err.status === 429,
      );
      assert.equal(sent.length, 1, "it was paid for");
      assert.equal(await balance(payer.address), payerBefore);
      assert.equal(await balance(operator.address), operatorBefore);
    } finally {
      await full.close();
    }
  });

  test("the same payment sent twice at once pays for one answer", async () => {
    const { required } = await requirementsOf();
    const header = encodePaymentSignatureHeader(await handSigned(BigInt(required.accepts[0]!.amount)));
    const before = await balance(operator.address);
    const [a, b] = await Promise.all([
      post(REQ, { "payment-signature": header }),
      post(REQ, { "payment-signature": header }),
    ]);
    assert.deepEqual([a.status, b.status].sort(), [200, 402]);
    await refusedWith(a.status === 402 ? a : b, "invalid_exact_evm_nonce_already_used");
    assert.equal(await balance(operator.address), before + BigInt(required.accepts[0]!.amount));
  });

  test("underpaid, expired, forged, wrong-network, wrong-token and malformed payments get 402 with the reason", async () => {
    const { required } = await requirementsOf();
    const amount = BigInt(required.accepts[0]!.amount);
    const before = await balance(operator.address);
    const pay = async (p: PaymentPayload | string) =>
      post(REQ, { "payment-signature": typeof p === "string" ? p : encodePaymentSignatureHeader(p) });

    assert.match(
      await refusedWith(await pay(await handSigned(amount - 1n)), "invalid_exact_evm_authorization_value"),
      new RegExp(`authorizes ${amount - 1n} wei .* up to ${amount} wei`),
    );
    await refusedWith(
      await pay(await handSigned(amount, { validBefore: 1n })),
      "invalid_exact_evm_payload_authorization_valid_before",
    );
    // a stranger signs an authorization that names the payer as `from`
    await refusedWith(
      await pay(await handSigned(amount, { signer: stranger, from: payer.address })),
      "invalid_exact_evm_signature",
    );
    await refusedWith(
      await pay(await handSigned(amount, { network: "eip155:1" })),
      "invalid_exact_evm_network_mismatch",
    );
    await refusedWith(
      // another token's address (any contract but $OPEN)
      await pay(await handSigned(amount, { asset: c.addresses.staking })),
      "invalid_exact_evm_asset_mismatch",
    );
    // an unfunded payer: the signature is good, the balance is not
    await refusedWith(
      await pay(await handSigned(amount, { signer: stranger })),
      "invalid_exact_evm_insufficient_balance",
    );
    await refusedWith(await pay("not base64 at all!"), "invalid_payload");
    await refusedWith(await pay(Buffer.from('{"x402Version":2}').toString("base64")), "invalid_payload");
    await refusedWith(
      await pay(Buffer.from(JSON.stringify({ x402Version: 1, scheme: "exact" })).toString("base64")),
      "invalid_x402_version",
    );
    const bad = await handSigned(amount);
    (bad.payload as { authorization: { value: string } }).authorization.value = "1e30";
    await refusedWith(await pay(bad), "invalid_payload");
    assert.equal(await balance(operator.address), before, "no refused payment moved any OPEN");
  });

  test("facilitator routes: supported, verify and settle through HTTPFacilitatorClient; hostile bodies get 400", async () => {
    const client = new HTTPFacilitatorClient({ url: `${url}/v1/x402` });
    const supported = await client.getSupported();
    assert.deepEqual(
      supported.kinds.map((k) => [k.x402Version, k.scheme, k.network]),
      [[2, "exact", terms.network]],
    );
    const amount = 12_345n;
    const payment = await handSigned(amount);
    const requirements = requirementsFor(terms, amount);
    assert.deepEqual(await client.verify(payment, requirements), { isValid: true, payer: payer.address });
    const before = await balance(operator.address);
    const settled = await client.settle(payment, requirements);
    assert.equal(settled.success, true, settled.errorReason);
    assert.equal(await balance(operator.address), before + amount);
    const again = await client.verify(payment, requirements);
    assert.equal(again.invalidReason, "invalid_exact_evm_nonce_already_used");
    // requirements that pay someone else are not this facilitator's to settle
    const elsewhere = await client.settle(await handSigned(amount), {
      ...requirements,
      payTo: stranger.address,
    });
    assert.equal(elsewhere.success, false);
    assert.equal(elsewhere.errorReason, "invalid_exact_evm_recipient_mismatch");

    const raw = (path: string, body: string) =>
      fetch(`${url}/v1/x402/${path}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
    const garbage = await raw("verify", "{not json");
    assert.equal(garbage.status, 400);
    assert.equal(((await garbage.json()) as { isValid: boolean }).isValid, false);
    const missing = await raw("settle", JSON.stringify({ x402Version: 2, paymentPayload: payment }));
    assert.equal(missing.status, 400);
    assert.equal(((await missing.json()) as { errorReason: string }).errorReason, "invalid_payload");
    const huge = await raw("verify", JSON.stringify({ pad: "x".repeat(100_000) }));
    assert.equal(huge.status, 413);
  });
});
