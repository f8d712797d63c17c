// Receipts are stored in consensus form and formatted when read; data dirs that kept JSON receipts
// are migrated on open. startNode's beforeListen hook runs after genesis and before the port binds.
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, test } from "node:test";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import Database from "better-sqlite3";
import { createChainCommon } from "../src/chainConfig.ts";
import { createNode, startNode } from "../src/index.ts";
import { tempDir } from "./helpers.ts";

const common = createChainCommon(1337n);
/** Init code that emits one LOG0 with no data and deploys nothing. */
const LOGGING_INIT = "0x60006000a000";

function raw(key: `0x${string}`, nonce: bigint, fields: { to?: `0x${string}`; data?: `0x${string}` }) {
  return createTx(
    {
      type: 2,
      chainId: 1337n,
      nonce,
      ...fields,
      value: fields.to ? 3n : 0n,
      gasLimit: 100_000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    },
    { common },
  )
    .sign(hexToBytes(key))
    .serialize();
}

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

async function portIsBound(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once("error", () => resolve(true));
    probe.listen(port, "127.0.0.1", () => probe.close(() => resolve(false)));
  });
}

describe("storage", () => {
  test("consensus receipts match the block's receipts root; a JSON-receipt data dir is migrated", async () => {
    const tmp = tempDir();
    try {
      let node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      const [a, b] = node.devAccounts;
      const hashes = [
        await node.sendRawTransaction(raw(a.privateKey, 0n, { to: b.address })),
        await node.sendRawTransaction(raw(a.privateKey, 1n, { data: LOGGING_INIT })),
      ];
      const block = await node.mine();
      const receipts = hashes.map((h) => node.receipt(hexToBytes(h as `0x${string}`)));
      assert.equal(receipts[1]?.logs.length, 1);
      assert.equal(receipts[1]?.logs[0].logIndex, "0x0");
      assert.equal(receipts[1]?.blockTimestamp, `0x${block.header.timestamp.toString(16)}`);
      // The stored bytes are the consensus receipts: their trie root is the header's receiptTrie.
      const db = new Database(join(tmp.dir, "chain.sqlite"), { readonly: true });
      const stored = db
        .prepare("SELECT receipt FROM receipts WHERE block_number = ? ORDER BY tx_index")
        .all(1) as { receipt: Buffer }[];
      db.close();
      const { MerklePatriciaTrie } = await import("@ethereumjs/mpt");
      const { RLP } = await import("@ethereumjs/rlp");
      const trie = new MerklePatriciaTrie();
      for (const [i, r] of stored.entries()) await trie.put(RLP.encode(i), r.receipt);
      assert.equal(bytesToHex(trie.root()), bytesToHex(block.header.receiptTrie));
      await node.close();

      // Rewrite the data dir the way the node kept receipts before: JSON-RPC JSON in a `txs` table.
      const legacy = new Database(join(tmp.dir, "chain.sqlite"));
      legacy.exec(
        "CREATE TABLE txs (hash BLOB PRIMARY KEY, block_number INTEGER NOT NULL, receipt TEXT NOT NULL) WITHOUT ROWID; DELETE FROM receipts;",
      );
      const put = legacy.prepare("INSERT INTO txs (hash, block_number, receipt) VALUES (?, ?, ?)");
      for (const r of receipts) {
        const { blockTimestamp: _t, ...json } = r as Record<string, unknown>;
        put.run(Buffer.from(hexToBytes(r?.transactionHash as `0x${string}`)), 1, JSON.stringify(json));
      }
      legacy.close();

      node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      assert.deepEqual(
        hashes.map((h) => node.receipt(hexToBytes(h as `0x${string}`))),
        receipts,
      );
      await node.close();
      const after = new Database(join(tmp.dir, "chain.sqlite"), { readonly: true });
      assert.equal(after.prepare("SELECT name FROM sqlite_master WHERE name = 'txs'").get(), undefined);
      after.close();
    } finally {
      tmp.remove();
    }
  });

  test("beforeListen runs after genesis and before the port is bound; if it fails nothing listens", async () => {
    const tmp = tempDir();
    try {
      const port = await freePort();
      let seen: { head: bigint; bound: boolean } | undefined;
      const running = await startNode({
        datadir: tmp.dir,
        port,
        blockTime: 0,
        genesisTransactions: [{ data: LOGGING_INIT, label: "Logger" }],
        async beforeListen(node) {
          seen = { head: node.head.header.number, bound: await portIsBound(port) };
        },
      });
      assert.deepEqual(seen, { head: 1n, bound: false });
      assert.equal(await portIsBound(port), true);
      await running.close();

      await assert.rejects(
        startNode({
          datadir: tmp.dir,
          port,
          blockTime: 0,
          beforeListen() {
            throw new Error("deployments folder is read-only");
          },
        }),
        /deployments folder is read-only/,
      );
      assert.equal(await portIsBound(port), false);
      const reopened = await createNode({ datadir: tmp.dir, blockTime: 0 });
      assert.equal(reopened.head.header.number, 1n, "the node was closed: its data dir opens again");
      await reopened.close();
    } finally {
      tmp.remove();
    }
  });
});
