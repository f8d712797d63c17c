import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { verifyMerkleProof } from "@ethereumjs/mpt";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, createAccountFromRLP, createAddressFromString, hexToBytes } from "@ethereumjs/util";
import { keccak256 } from "viem";
import { createChainCommon } from "../src/chainConfig.ts";
import { createNode } from "../src/index.ts";
import { compileProbe, rpc, startTestNode, tempDir } from "./helpers.ts";

const common = createChainCommon(1337n);

function transfer(key: `0x${string}`, nonce: bigint, to: `0x${string}`, value = 1n): Uint8Array {
  return createTx(
    {
      type: 2,
      chainId: 1337n,
      nonce,
      to,
      value,
      gasLimit: 21000n,
      maxFeePerGas: 10n ** 10n,
      maxPriorityFeePerGas: 1n,
    },
    { common },
  )
    .sign(hexToBytes(key))
    .serialize();
}

describe("node core", () => {
  test("restart resumes the same head, state root, receipts and test-helper state", async () => {
    const tmp = tempDir();
    try {
      let node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      const [a, b] = node.devAccounts;
      const hashes: string[] = [];
      for (let i = 0n; i < 5n; i++)
        hashes.push(await node.sendRawTransaction(transfer(a.privateKey, i, b.address, 10n)));
      await node.mine();
      await node.setBalance("0x00000000000000000000000000000000000000cc", 12345n);
      node.increaseTime(3600n);
      const head = node.head;
      await node.close();

      node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      assert.equal(node.head.header.number, head.header.number);
      assert.equal(bytesToHex(node.head.hash()), bytesToHex(head.hash()));
      for (const h of hashes) assert.equal(node.receipt(hexToBytes(h as `0x${string}`))?.status, "0x1");
      const state = node.stateAt(await node.stateRootOf(node.head));
      assert.equal(
        (await state.getAccount(createAddressFromString("0x00000000000000000000000000000000000000cc")))
          ?.balance,
        12345n,
      );
      const wallClock = BigInt(Math.floor(Date.now() / 1000));
      const next = await node.mine();
      assert.ok(next.header.timestamp >= wallClock + 3600n, "time offset survived the restart");
      await node.close();
      await assert.rejects(createNode({ datadir: tmp.dir, chainId: 5n }), /holds chain 1337, not 5/);
    } finally {
      tmp.remove();
    }
  });

  test("pending transactions survive a restart and are mined afterwards", async () => {
    const tmp = tempDir();
    try {
      let node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      const [a, b] = node.devAccounts;
      const h1 = await node.sendRawTransaction(transfer(a.privateKey, 0n, b.address));
      const h2 = await node.sendRawTransaction(transfer(a.privateKey, 1n, b.address));
      await node.close();
      node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      assert.equal(node.pool.size, 2);
      await node.mine();
      assert.equal(node.receipt(hexToBytes(h1 as `0x${string}`))?.status, "0x1");
      assert.equal(node.receipt(hexToBytes(h2 as `0x${string}`))?.status, "0x1");
      await node.close();
      node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      assert.equal(node.pool.size, 0, "mined transactions are not re-admitted");
      await node.close();
    } finally {
      tmp.remove();
    }
  });

  test("genesis transactions run from dev account 0 in block 1", async () => {
    const tmp = tempDir();
    try {
      const { bytecode } = compileProbe();
      const node = await createNode({
        datadir: tmp.dir,
        blockTime: 0,
        genesisTransactions: [
          { data: bytecode, label: "ProbeA" },
          { data: bytecode, label: "ProbeB" },
        ],
      });
      assert.equal(node.head.header.number, 1n);
      assert.deepEqual(
        node.genesisResults.map((r) => [r.label, r.address, r.blockNumber]),
        [
          ["ProbeA", "0x5fbdb2315678afecb367f032d93f642f64180aa3", 1],
          ["ProbeB", "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512", 1],
        ],
      );
      const probe = createAddressFromString("0x5fbdb2315678afecb367f032d93f642f64180aa3");
      assert.ok((await node.stateAt(node.head.header.stateRoot).getCode(probe)).length > 0);
      await node.close();
      const reopened = await createNode({
        datadir: tmp.dir,
        blockTime: 0,
        genesisTransactions: [{ data: bytecode }],
      });
      assert.equal(reopened.head.header.number, 1n, "an existing chain does not run them again");
      await reopened.close();
    } finally {
      tmp.remove();
    }
  });
});

describe("node RPC", () => {
  test("snapshots, time, mining and balances", async () => {
    const node = await startTestNode({ automine: false });
    try {
      const dev = node.node.devAccounts[0].address;
      const snap = (await rpc(node.url, "evm_snapshot")).result as string;
      await rpc(node.url, "anvil_setBalance", [dev, "0x1"]);
      assert.equal((await rpc(node.url, "eth_getBalance", [dev, "latest"])).result, "0x1");
      await rpc(node.url, "evm_mine");
      await rpc(node.url, "evm_mine");
      assert.equal((await rpc(node.url, "eth_blockNumber")).result, "0x2");
      assert.equal((await rpc(node.url, "evm_revert", [snap])).result, true);
      assert.equal((await rpc(node.url, "eth_blockNumber")).result, "0x0");
      assert.equal((await rpc(node.url, "eth_getBalance", [dev, "latest"])).result, "0x21e19e0c9bab2400000");
      assert.equal((await rpc(node.url, "evm_revert", [snap])).result, false, "a snapshot is used once");
      const before = Number(
        ((await rpc(node.url, "eth_getBlockByNumber", ["latest", false])).result as { timestamp: string })
          .timestamp,
      );
      assert.equal((await rpc(node.url, "evm_increaseTime", [1000])).result, 1000);
      await rpc(node.url, "evm_mine");
      const after = Number(
        ((await rpc(node.url, "eth_getBlockByNumber", ["latest", false])).result as { timestamp: string })
          .timestamp,
      );
      assert.ok(after >= before + 1000);
    } finally {
      await node.close();
    }
  });

  test("a timestamp set for the next block moves the clock for later blocks, as in anvil", async () => {
    const node = await startTestNode({ automine: false });
    try {
      const target = Math.floor(Date.now() / 1000) + 100_000;
      await rpc(node.url, "evm_setNextBlockTimestamp", [target]);
      await rpc(node.url, "evm_mine");
      const mined = (await rpc(node.url, "eth_getBlockByNumber", ["latest", false])).result as {
        timestamp: string;
      };
      assert.equal(Number(mined.timestamp), target);
      const offset = (await rpc(node.url, "evm_increaseTime", [0])).result as number;
      assert.ok(offset > 90_000, `the clock follows the set timestamp (offset ${offset})`);
    } finally {
      await node.close();
    }
  });

  test("the pending block is latest+1 with the pool's executable transactions, as geth has it", async () => {
    const node = await startTestNode({ automine: false });
    try {
      const [a, b] = node.node.devAccounts;
      const hashes = [];
      for (const nonce of [0n, 1n, 3n]) {
        const raw = bytesToHex(transfer(a.privateKey, nonce, b.address));
        hashes.push((await rpc(node.url, "eth_sendRawTransaction", [raw])).result);
      }
      const pending = (await rpc(node.url, "eth_getBlockByNumber", ["pending", false])).result as {
        number: string;
        parentHash: string;
        gasUsed: string;
        transactions: string[];
      };
      const latest = (await rpc(node.url, "eth_getBlockByNumber", ["latest", false])).result as {
        number: string;
        hash: string;
      };
      assert.equal(BigInt(pending.number), BigInt(latest.number) + 1n);
      assert.equal(pending.parentHash, latest.hash);
      assert.deepEqual(
        pending.transactions,
        hashes.slice(0, 2),
        "the queued nonce-3 transaction is not executable",
      );
      assert.equal(pending.gasUsed, "0xa410");
      const full = (await rpc(node.url, "eth_getBlockByNumber", ["pending", true])).result as {
        transactions: { from: string; hash: string }[];
      };
      assert.deepEqual(
        full.transactions.map((t) => [t.from, t.hash]),
        hashes.slice(0, 2).map((h) => [a.address.toLowerCase(), h]),
      );
      assert.equal((await rpc(node.url, "eth_blockNumber")).result, latest.number, "nothing was mined");
      await rpc(node.url, "evm_mine");
      const mined = (await rpc(node.url, "eth_getBlockByNumber", ["latest", false])).result as {
        transactions: string[];
      };
      assert.deepEqual(mined.transactions, hashes.slice(0, 2));
    } finally {
      await node.close();
    }
  });

  test("filters, fee history, txpool and proofs", async () => {
    const node = await startTestNode({ automine: false });
    try {
      const [a, b] = node.node.devAccounts;
      const blockFilter = (await rpc(node.url, "eth_newBlockFilter")).result as string;
      const pendingFilter = (await rpc(node.url, "eth_newPendingTransactionFilter")).result as string;
      const hash = (
        await rpc(node.url, "eth_sendRawTransaction", [bytesToHex(transfer(a.privateKey, 0n, b.address, 5n))])
      ).result;
      const queued = (
        await rpc(node.url, "eth_sendRawTransaction", [bytesToHex(transfer(a.privateKey, 2n, b.address))])
      ).result;
      assert.ok(queued);
      const pool = (await rpc(node.url, "txpool_content")).result as {
        pending: Record<string, unknown>;
        queued: Record<string, Record<string, unknown>>;
      };
      assert.deepEqual(Object.keys(Object.values(pool.queued)[0]), ["2"]);
      assert.deepEqual((await rpc(node.url, "eth_getFilterChanges", [pendingFilter])).result, [hash, queued]);
      assert.equal((await rpc(node.url, "eth_getTransactionCount", [a.address, "pending"])).result, "0x1");
      await rpc(node.url, "evm_mine");
      const blocks = (await rpc(node.url, "eth_getFilterChanges", [blockFilter])).result as string[];
      assert.equal(blocks.length, 1);
      assert.deepEqual((await rpc(node.url, "eth_getFilterChanges", [blockFilter])).result, []);
      assert.equal((await rpc(node.url, "eth_uninstallFilter", [blockFilter])).result, true);
      assert.equal(
        (await rpc(node.url, "eth_getFilterChanges", [blockFilter])).error?.message,
        "filter not found",
      );

      const fh = (await rpc(node.url, "eth_feeHistory", ["0x2", "latest", [50]])).result as {
        baseFeePerGas: string[];
        gasUsedRatio: number[];
        reward: string[][];
        oldestBlock: string;
      };
      assert.equal(fh.oldestBlock, "0x0");
      assert.equal(fh.baseFeePerGas.length, 3);
      assert.equal(fh.gasUsedRatio[1], 21000 / 30_000_000);
      assert.equal(fh.reward[1][0], "0x1");
      assert.ok(BigInt(fh.baseFeePerGas[2]) < BigInt(fh.baseFeePerGas[1]), "base fee falls below the target");

      const proof = (await rpc(node.url, "eth_getProof", [b.address, ["0x0"], "latest"])).result as {
        accountProof: `0x${string}`[];
        balance: string;
        storageHash: string;
      };
      const block = (await rpc(node.url, "eth_getBlockByNumber", ["latest", false])).result as {
        stateRoot: `0x${string}`;
      };
      assert.equal(
        keccak256(proof.accountProof[0]),
        block.stateRoot,
        "proof starts at the block's state root",
      );
      const value = await verifyMerkleProof(
        hexToBytes(b.address),
        proof.accountProof.map((p) => hexToBytes(p)),
        { useKeyHashing: true },
      );
      assert.ok(value, "account proof verifies");
      assert.equal(createAccountFromRLP(value).balance, 10n ** 22n + 5n);
      assert.equal(BigInt(proof.balance), 10n ** 22n + 5n);
    } finally {
      await node.close();
    }
  });
});
