import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Anvil, devAccounts, startAnvil } from "@openledger/devnet";
import {
  type Account,
  type Chain,
  getAddress,
  type PublicClient,
  type Transport,
  type WalletClient,
} from "viem";
import {
  BRIDGE_ROLE,
  connect,
  DEFAULT_ADMIN_ROLE,
  deployProtocol,
  inferenceSettlementAbi,
  openTokenAbi,
  protocolAddresses,
  protocolDeployTransactions,
  readDeployment,
  SLASHER_ROLE,
  stakingAbi,
  tokenBalance,
  unwrapOpen,
  wrapOpen,
  wrappedOpenAbi,
} from "../src/index.ts";

describe("deployProtocol on anvil", () => {
  let anvil: Anvil;
  let pub: PublicClient<Transport, Chain>;
  const wallets: WalletClient<Transport, Chain, Account>[] = [];
  const hasRole = (address: `0x${string}`, role: `0x${string}`, account: `0x${string}`) =>
    pub.readContract({ address, abi: stakingAbi, functionName: "hasRole", args: [role, account] });

  before(async () => {
    anvil = await startAnvil();
    for (const d of devAccounts.slice(0, 6)) {
      const c = await connect(anvil.rpcUrl, d.privateKey);
      pub = c.publicClient;
      wallets.push(c.walletClient!);
    }
  });
  after(() => anvil?.stop());

  test("a second run finds everything; the file records chain, deployer, addresses and blocks", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openledger-deploy-"));
    const first = await deployProtocol(wallets[0], pub, { deploymentsDir: dir });
    assert.deepEqual(first.deployed, [
      "OpenToken",
      "Staking",
      "DatanetRegistry",
      "ModelRegistry",
      "InferenceSettlement",
    ]);
    const events: string[] = [];
    const second = await deployProtocol(wallets[0], pub, {
      deploymentsDir: dir,
      onProgress: (e) => events.push(e.type),
    });
    assert.deepEqual(second.deployed, []);
    assert.deepEqual(second.addresses, first.addresses);
    assert.deepEqual(events, ["found", "found", "found", "found", "found", "setup-found"]);
    const file = readDeployment(dir, 31337)!;
    assert.equal(file.chainId, 31337);
    assert.equal(file.deployer, devAccounts[0].address);
    assert.deepEqual(protocolAddresses(file), first.addresses);
    assert.ok(file.contracts.Staking.blockNumber > file.contracts.OpenToken.blockNumber);
    assert.equal(
      await hasRole(first.addresses.staking, SLASHER_ROLE, first.addresses.inferenceSettlement),
      true,
    );
    const supply = await pub.readContract({
      address: first.addresses.token,
      abi: openTokenAbi,
      functionName: "totalSupply",
    });
    assert.equal(supply, 1_000_000_000n * 10n ** 18n);
  });

  test("a contract without code is redeployed with everything that depends on it", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openledger-deploy-"));
    const first = await deployProtocol(wallets[1], pub, { deploymentsDir: dir });
    await anvil_setCode(anvil.rpcUrl, first.addresses.datanetRegistry, "0x");
    const again = await deployProtocol(wallets[1], pub, { deploymentsDir: dir });
    assert.deepEqual(again.deployed, ["DatanetRegistry", "ModelRegistry", "InferenceSettlement"]);
    assert.equal(again.addresses.token, first.addresses.token);
    assert.equal(again.addresses.staking, first.addresses.staking);
    assert.notEqual(again.addresses.inferenceSettlement, first.addresses.inferenceSettlement);
    assert.equal(
      await hasRole(again.addresses.staking, SLASHER_ROLE, again.addresses.inferenceSettlement),
      true,
    );
  });

  test("changed parameters redeploy the affected contracts; --fresh redeploys all", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openledger-deploy-"));
    const first = await deployProtocol(wallets[2], pub, { deploymentsDir: dir });
    const changed = await deployProtocol(wallets[2], pub, { deploymentsDir: dir, minOperatorStake: 5n });
    assert.deepEqual(changed.deployed, ["Staking", "InferenceSettlement"]);
    assert.equal(changed.addresses.datanetRegistry, first.addresses.datanetRegistry);
    const fresh = await deployProtocol(wallets[2], pub, {
      deploymentsDir: dir,
      fresh: true,
      minOperatorStake: 5n,
    });
    assert.equal(fresh.deployed.length, 5);
  });

  test("a corrupt deployment file is a clear error", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openledger-deploy-"));
    writeFileSync(join(dir, "31337.json"), "{ not json");
    await assert.rejects(
      deployProtocol(wallets[2], pub, { deploymentsDir: dir }),
      /31337\.json is not valid JSON/,
    );
    writeFileSync(join(dir, "31337.json"), JSON.stringify({ chainId: 1, contracts: {} }));
    await assert.rejects(
      deployProtocol(wallets[2], pub, { deploymentsDir: dir }),
      /not a deployment file for chain 31337/,
    );
  });

  test("WrappedOpen deploys for chains whose native currency is OPEN; admin hand-over", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openledger-deploy-"));
    const admin = devAccounts[9].address;
    const result = await deployProtocol(wallets[3], pub, { deploymentsDir: dir, token: "wrapped", admin });
    assert.ok(result.deployment.contracts.WrappedOpen);
    assert.equal(result.deployment.contracts.OpenToken, undefined);
    const symbol = await pub.readContract({
      address: result.addresses.token,
      abi: wrappedOpenAbi,
      functionName: "symbol",
    });
    assert.equal(typeof symbol, "string");
    for (const c of [result.addresses.staking, result.addresses.inferenceSettlement]) {
      assert.equal(await hasRole(c, DEFAULT_ADMIN_ROLE, admin), true);
      assert.equal(await hasRole(c, DEFAULT_ADMIN_ROLE, devAccounts[3].address), false);
    }
    const again = await deployProtocol(wallets[3], pub, { deploymentsDir: dir, token: "wrapped", admin });
    assert.deepEqual(again.deployed, []);
    // wrapping and unwrapping the native currency 1:1
    const token = result.addresses.token;
    const me = devAccounts[3].address;
    await wrapOpen(wallets[3], { token, amount: 5n * 10n ** 18n });
    assert.equal(await tokenBalance(pub, { token, account: me }), 5n * 10n ** 18n);
    await unwrapOpen(wallets[3], { token, amount: 2n * 10n ** 18n });
    const before = await pub.getBalance({ address: admin });
    await unwrapOpen(wallets[3], { token, amount: 10n ** 18n, to: admin });
    assert.equal(await pub.getBalance({ address: admin }), before + 10n ** 18n);
    assert.equal(await tokenBalance(pub, { token, account: me }), 2n * 10n ** 18n);
  });

  test("the span-v1 verifier is deployed and plugged into settlement, and the bridge role granted, when asked", async () => {
    const dir = mkdtempSync(join(tmpdir(), "openledger-deploy-"));
    const bridge = devAccounts[8].address;
    const result = await deployProtocol(wallets[5], pub, {
      deploymentsDir: dir,
      verifier: "span-v1",
      bridge,
    });
    assert.equal(await hasRole(result.addresses.token, BRIDGE_ROLE, bridge), true);
    assert.ok(result.addresses.verifier);
    const plugged = await pub.readContract({
      address: result.addresses.inferenceSettlement,
      abi: inferenceSettlementAbi,
      functionName: "verifier",
    });
    assert.equal(plugged, result.addresses.verifier);
    const again = await deployProtocol(wallets[5], pub, { deploymentsDir: dir, verifier: "span-v1", bridge });
    assert.deepEqual(again.deployed, []);
    assert.equal(readDeployment(dir, 31337)!.addresses.verifier, result.addresses.verifier);
  });

  test("protocolDeployTransactions: executing the plan puts the protocol at the predicted addresses", async () => {
    const deployer = devAccounts[4].address;
    const startNonce = await pub.getTransactionCount({ address: deployer });
    const plan = protocolDeployTransactions({ deployer, startNonce, params: { challengeWindow: 60n } });
    assert.deepEqual(
      plan.transactions.map((t) => [t.kind, t.label, t.nonce]),
      [
        ["deploy", "OpenToken", startNonce],
        ["deploy", "Staking", startNonce + 1],
        ["deploy", "DatanetRegistry", startNonce + 2],
        ["deploy", "ModelRegistry", startNonce + 3],
        ["deploy", "InferenceSettlement", startNonce + 4],
        ["call", "Staking.grantRole(SLASHER_ROLE,InferenceSettlement)", startNonce + 5],
      ],
    );
    // pure and deterministic
    assert.deepEqual(
      protocolDeployTransactions({ deployer, startNonce, params: { challengeWindow: 60n } }),
      plan,
    );
    for (const tx of plan.transactions) {
      const hash = await wallets[4].sendTransaction({ to: tx.to, data: tx.data, nonce: tx.nonce });
      const receipt = await pub.waitForTransactionReceipt({ hash });
      assert.equal(receipt.status, "success");
      if (tx.contractAddress) assert.equal(getAddress(receipt.contractAddress!), tx.contractAddress);
    }
    const window = await pub.readContract({
      address: plan.addresses.inferenceSettlement,
      abi: inferenceSettlementAbi,
      functionName: "challengeWindow",
    });
    assert.equal(window, 60n);
    assert.equal(
      await hasRole(plan.addresses.staking, SLASHER_ROLE, plan.addresses.inferenceSettlement),
      true,
    );
  });
});

async function anvil_setCode(rpcUrl: string, address: string, code: string): Promise<void> {
  const res = await fetch(rpcUrl, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "anvil_setCode", params: [address, code] }),
  });
  const body = (await res.json()) as { error?: unknown };
  assert.equal(body.error, undefined);
}
