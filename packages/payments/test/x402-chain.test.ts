// x402 on the project's own L2 node (packages/chain), not anvil: the facilitator's routes, called
// with the HTTPFacilitatorClient a resource server uses, settle an exact-scheme payment signed by
// @x402/evm's client signer, and refuse its replay and a payment the payer cannot cover.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { type RunningNode, startNode } from "@openledger/chain";
import { devAccounts } from "@openledger/devnet";
import { connect, deployProtocol, SendQueue, tokenBalance, transferToken } from "@openledger/sdk";
import { x402Client } from "@x402/core/client";
import { HTTPFacilitatorClient } from "@x402/core/http";
import { ExactEvmScheme } from "@x402/evm/exact/client";
import Fastify, { type FastifyInstance } from "fastify";
import type { Address, Client } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import { X402Facilitator } from "../src/x402/facilitator.ts";
import { x402FacilitatorRoutes } from "../src/x402/routes.ts";
import { loadX402Terms, requirementsFor, type X402Terms } from "../src/x402/terms.ts";

const dir = mkdtempSync(join(tmpdir(), "x402-chain-"));
let node: RunningNode;
let app: FastifyInstance;
let client: Client;
let terms: X402Terms;
let facilitatorUrl: string;
const operator = privateKeyToAccount(devAccounts[2].privateKey);
const payer = privateKeyToAccount(devAccounts[6].privateKey);

before(async () => {
  node = await startNode({ datadir: join(dir, "chain"), port: 0, blockTime: 0, automine: true });
  const { walletClient, publicClient } = await connect(node.url, devAccounts[0].privateKey);
  client = publicClient;
  const { addresses } = await deployProtocol(walletClient!, publicClient, {
    deploymentsDir: join(dir, "deployments"),
  });
  await transferToken(walletClient!, { token: addresses.token, to: payer.address, amount: 10n ** 15n });
  terms = await loadX402Terms(client, {
    chainId: await getChainId(client),
    token: addresses.token,
    operator: operator.address,
  });
  const { walletClient: wallet } = await connect(node.url, operator);
  const facilitator = new X402Facilitator({ client, wallet: wallet!, queue: new SendQueue(), terms });
  app = Fastify({ logger: false });
  await app.register(x402FacilitatorRoutes, { facilitator });
  facilitatorUrl = `${await app.listen({ host: "127.0.0.1", port: 0 })}/v1/x402`;
});

after(async () => {
  await app?.close();
  await node?.close();
  rmSync(dir, { recursive: true, force: true });
});

test("the L2 node settles an x402 exact payment in OPEN and refuses its replay", async () => {
  const balance = (a: Address) => tokenBalance(client, { token: terms.asset, account: a });
  const payerClient = x402Client.fromConfig({
    schemes: [{ network: "eip155:*", client: new ExactEvmScheme(payer) }],
    spendControls: { allowedAssets: [{ network: terms.network, asset: terms.asset }] },
  });
  const facilitator = new HTTPFacilitatorClient({ url: facilitatorUrl });
  assert.equal(terms.network, "eip155:1337");
  assert.deepEqual([terms.name, terms.version], ["OpenLedger", "1"]);

  const requirements = requirementsFor(terms, 7_000n);
  const pay = (r = requirements) =>
    payerClient.createPaymentPayload({ x402Version: 2, resource: { url: "/v1/models/m" }, accepts: [r] });
  const payment = await pay();
  assert.equal((await facilitator.verify(payment, requirements)).isValid, true);
  const before = await balance(operator.address);
  const settled = await facilitator.settle(payment, requirements);
  assert.equal(settled.success, true, settled.errorReason);
  assert.equal(await balance(operator.address), before + 7_000n);

  const replay = await facilitator.settle(payment, requirements);
  assert.equal(replay.errorReason, "invalid_exact_evm_nonce_already_used");
  const tooMuch = requirementsFor(terms, 10n ** 18n);
  const short = await facilitator.verify(await pay(tooMuch), tooMuch);
  assert.equal(short.invalidReason, "invalid_exact_evm_insufficient_balance");
  assert.equal(await balance(operator.address), before + 7_000n);
});
