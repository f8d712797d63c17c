// Outside dev mode the HTTP API never signs for a caller, even for accounts whose keys the service
// holds: creating a Datanet, submitting an upload, curating, snapshotting and buying a licence come
// back as unsigned transactions, which the caller's own wallet (viem here) signs and sends. Real anvil,
// real fastify on 127.0.0.1.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { createPublicClient, createWalletClient, type Hex, http, type LocalAccount } from "viem";
import { getTransactionCount, sendTransaction, waitForTransactionReceipt } from "viem/actions";
import { isLoopback } from "../src/http.ts";
import type { DatanetService, UnsignedTransaction } from "../src/service.ts";
import { accounts, signContribution, startTestChain, type TestChain, tempDir } from "./chain-helpers.ts";
import { serveDatanetApi, type TestApi } from "./http-helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);

describe("the API returns unsigned transactions instead of signing for callers", () => {
  let chain: TestChain;
  let service: DatanetService;
  let api: TestApi;
  const [owner, , alice] = accounts;

  before(async () => {
    chain = await startTestChain();
    // The service holds the dev keys, as `openledger up` does: they must not be used for callers.
    service = await chain.open(tempDir("datanet-unsigned-"));
    api = await serveDatanetApi(service);
  });
  after(async () => {
    await api?.close();
    service?.close();
    await chain?.stop();
  });

  const nonce = (who: LocalAccount) =>
    getTransactionCount(createPublicClient({ transport: http(chain.rpcUrl) }), { address: who.address });

  /** What a user's wallet does with the answer: sign and send each transaction, wait for it. */
  async function sendAll(res: Response, who: LocalAccount): Promise<void> {
    const body = (await res.json()) as { status: string; transactions: UnsignedTransaction[] };
    assert.equal(res.status, 202, JSON.stringify(body));
    assert.ok(body.transactions.length > 0);
    const wallet = createWalletClient({ account: who, transport: http(chain.rpcUrl), pollingInterval: 20 });
    for (const tx of body.transactions) {
      assert.equal(tx.from, who.address);
      const hash = await sendTransaction(wallet, {
        account: who,
        chain: null,
        to: tx.to,
        data: tx.data as Hex,
      });
      const receipt = await waitForTransactionReceipt(wallet, { hash, pollingInterval: 20 });
      assert.equal(receipt.status, "success", tx.label);
    }
  }

  test("create, contribute, curate, snapshot and license, each signed by the caller's wallet", async () => {
    const ownerNonce = await nonce(owner);
    const aliceNonce = await nonce(alice);

    await sendAll(await api.post("/datanets", { owner: owner.address, name: "Wallet-signed" }), owner);
    const { data } = (await (await fetch(`${api.base}/datanets`)).json()) as {
      data: { id: number; owner: string }[];
    };
    assert.deepEqual(
      data.map((d) => d.owner),
      [owner.address],
    );
    const datanetId = BigInt(data[0].id);

    const text = enc("Cartographers mark contour lines to show the shape and height of the land.");
    const form = new FormData();
    form.append("contributor", alice.address);
    form.append("signature", await signContribution(service, alice, datanetId, text));
    form.append("license", "CC0-1.0");
    form.append("file", new Blob([text]), "c.txt");
    const upload = await fetch(`${api.base}/datanets/${datanetId}/contributions`, {
      method: "POST",
      body: form,
    });
    const staged = (await upload.clone().json()) as { status: string };
    assert.equal(staged.status, "staged");
    await sendAll(upload, alice);
    const contributions = (await (await fetch(`${api.base}/datanets/${datanetId}/contributions`)).json()) as {
      data: { id: number; status: string; contributor: string }[];
    };
    assert.deepEqual(
      contributions.data.map((c) => [c.contributor, c.status]),
      [[alice.address, "pending"]],
    );

    const decisions = [{ contributionId: contributions.data[0].id, accept: true }];
    await sendAll(
      await api.post(`/datanets/${datanetId}/curate`, { curator: owner.address, decisions }),
      owner,
    );
    await sendAll(await api.post(`/datanets/${datanetId}/snapshots`, { owner: owner.address }), owner);
    const snapshots = (await (await fetch(`${api.base}/datanets/${datanetId}/snapshots`)).json()) as {
      data: { id: number; chunkCount: number }[];
    };
    assert.equal(snapshots.data.length, 1);
    const snapshotId = snapshots.data[0].id;
    // The manifest the server stored for the snapshot is what the chain commits to.
    const snap = (await (await fetch(`${api.base}/snapshots/${snapshotId}`)).json()) as {
      manifest: { leafCount: number };
    };
    assert.equal(snap.manifest.leafCount, snapshots.data[0].chunkCount);

    await sendAll(await api.post(`/snapshots/${snapshotId}/license`, { buyer: alice.address }), alice);
    const has = (await (
      await fetch(`${api.base}/snapshots/${snapshotId}/license/${alice.address}`)
    ).json()) as {
      hasLicense: boolean;
    };
    assert.equal(has.hasLicense, true);

    // Every transaction was the caller's own: owner sent create, curate and snapshot; alice submit,
    // approve and buy. The service, holding both keys, sent none.
    assert.equal(await nonce(owner), ownerNonce + 3);
    assert.equal(await nonce(alice), aliceNonce + 3);
  });

  test("an upload to a bonded Datanet comes with the bond approval first", async () => {
    const bonded = await service.createDatanet({ owner: owner.address, name: "Bonded", bond: 5n });
    await chain.fund(alice.address, 100n);
    const text = enc(
      "Lighthouse lenses bend the lamp's light into a narrow beam that sailors see from afar.",
    );
    const form = new FormData();
    form.append("contributor", alice.address);
    form.append("signature", await signContribution(service, alice, bonded.id, text));
    form.append("license", "CC0-1.0");
    form.append("file", new Blob([text]), "c.txt");
    const upload = await fetch(`${api.base}/datanets/${bonded.id}/contributions`, {
      method: "POST",
      body: form,
    });
    const { transactions } = (await upload.clone().json()) as { transactions: UnsignedTransaction[] };
    assert.deepEqual(
      transactions.map((t) => t.label),
      ["OpenToken.approve", "DatanetRegistry.submitContributions"],
    );
    await sendAll(upload, alice);
    const list = (await (await fetch(`${api.base}/datanets/${bonded.id}/contributions`)).json()) as {
      data: { contributor: string }[];
    };
    assert.deepEqual(
      list.data.map((c) => c.contributor),
      [alice.address],
    );
  });

  test("unsigned answers are checked like signed ones", async () => {
    const res = await api.post("/datanets/1/curate", {
      curator: owner.address,
      decisions: [{ contributionId: 999, accept: true }],
    });
    assert.equal(res.status, 404);
    const bad = await api.post("/datanets", { owner: "0xnot", name: "x" });
    assert.equal(bad.status, 400);
  });

  test("dev-key signing is only for loopback callers", () => {
    for (const a of ["127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"])
      assert.equal(isLoopback(a), true, a);
    for (const a of ["10.0.0.5", "::ffff:192.168.1.2", "fe80::1", "0.0.0.0", undefined, "127.0.0.1.evil"])
      assert.equal(isLoopback(a), false, String(a));
  });
});
