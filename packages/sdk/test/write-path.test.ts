// The split write path (sendWrite / waitForWrite / transact) and the per-account SendQueue, on a real
// anvil and on the project's own node. A test can switch mining off, so it controls when a block
// is made when mining is off: sends that resolve before any block exists prove nobody waited for a receipt.
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type RunningNode, startNode } from "@openledger/chain";
import { type Anvil, devAccounts, startAnvil } from "@openledger/devnet";
import {
  createPublicClient,
  createWalletClient,
  encodeFunctionData,
  type Hex,
  http,
  type PublicClient,
  type Transport,
  type Chain as ViemChain,
  zeroAddress,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getTransaction, sendTransaction } from "viem/actions";
import {
  connect,
  createDatanetWrite,
  curateBatchWrite,
  datanetRegistryAbi,
  deployProtocol,
  OpenLedgerContractError,
  OpenLedgerTransactionError,
  type ProtocolAddresses,
  SendQueue,
  sendWrite,
  transact,
  type WalletClientWithAccount,
  waitForWrite,
} from "../src/index.ts";

interface Chain {
  rpcUrl: string;
  /** Mining on: every transaction is mined soon after it arrives. Off: blocks only on `mine`. */
  setMining(on: boolean): Promise<void>;
  stop(): Promise<void>;
}

const targets: { name: string; start(): Promise<Chain> }[] = [
  {
    name: "anvil",
    start: async () => {
      const anvil: Anvil = await startAnvil();
      return {
        rpcUrl: anvil.rpcUrl,
        setMining: (on) => rpc(anvil.rpcUrl, "evm_setAutomine", [on]),
        stop: () => anvil.stop(),
      };
    },
  },
  {
    name: "the OpenLedger node",
    start: async () => {
      // No automine and no block timer: blocks come from this loop while mining is on.
      const node: RunningNode = await startNode({
        datadir: join(mkdtempSync(join(tmpdir(), "sdk-write-")), "chain"),
        blockTime: 0,
        host: "127.0.0.1",
        port: 0,
      });
      // One block at a time (a fixed-rate timer would queue blocks faster than they are made).
      let mining = false;
      let loop: Promise<void> = Promise.resolve();
      const setMining = async (on: boolean) => {
        mining = on;
        await loop;
        if (!on) return;
        loop = (async () => {
          while (mining) {
            await node.node.mine().catch(() => undefined);
            await new Promise((r) => setTimeout(r, 20));
          }
        })();
      };
      await setMining(true);
      return {
        rpcUrl: node.url,
        setMining,
        stop: async () => {
          await setMining(false);
          await node.close();
        },
      };
    },
  },
];

async function rpc(url: string, method: string, params: unknown[]): Promise<void> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
  });
  const body = (await res.json()) as { error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
}

for (const target of targets) {
  describe(`write path on ${target.name}`, () => {
    let chain: Chain;
    let wallet: WalletClientWithAccount;
    let other: WalletClientWithAccount;
    let pub: PublicClient<Transport, ViemChain>;
    let addresses: ProtocolAddresses;

    before(async () => {
      chain = await target.start();
      // viem polls for receipts every 4 s by default; a local chain answers in milliseconds.
      const { chain: viemChain } = await connect(chain.rpcUrl);
      const transport = http(chain.rpcUrl, { retryCount: 0 });
      const client = (key: Hex) =>
        createWalletClient({
          account: privateKeyToAccount(key),
          chain: viemChain,
          transport,
          pollingInterval: 20,
        });
      pub = createPublicClient({ chain: viemChain, transport, pollingInterval: 20 });
      wallet = client(devAccounts[0].privateKey);
      other = client(devAccounts[1].privateKey);
      ({ addresses } = await deployProtocol(wallet, pub, {
        deploymentsDir: mkdtempSync(join(tmpdir(), "sdk-write-deploy-")),
      }));
    });
    after(() => chain?.stop());

    test("sendWrite returns the hash; waitForWrite checks the status and decodes typed events", async () => {
      const write = createDatanetWrite({
        registry: addresses.datanetRegistry,
        metadataURI: "ipfs://write-path",
        licensePrice: 7n,
        ownerBps: 1500,
      });
      const hash = await sendWrite(wallet, write);
      assert.match(hash, /^0x[0-9a-f]{64}$/);
      const { receipt, events } = await waitForWrite(pub, {
        hash,
        label: "DatanetRegistry.createDatanet",
        abi: datanetRegistryAbi,
        eventName: "DatanetCreated",
      });
      assert.equal(receipt.transactionHash, hash);
      assert.equal(events.length, 1);
      // Typed by the generated ABI: bigint, Address and number fields need no casts.
      const { datanetId, owner, licensePrice, ownerBps, metadataURI } = events[0].args;
      assert.equal(typeof datanetId, "bigint");
      assert.equal(owner, wallet.account.address);
      assert.equal(licensePrice, 7n);
      assert.equal(ownerBps, 1500);
      assert.equal(metadataURI, "ipfs://write-path");
    });

    test("a revert surfaces decoded at send, before anything is signed", async () => {
      const nonce = await pub.getTransactionCount({ address: other.account.address, blockTag: "pending" });
      await assert.rejects(
        sendWrite(other, curateBatchWrite({ registry: addresses.datanetRegistry, decisions: [] })),
        (err: unknown) => err instanceof OpenLedgerContractError && err.errorName === "EmptyBatch",
      );
      assert.equal(
        await pub.getTransactionCount({ address: other.account.address, blockTag: "pending" }),
        nonce,
      );
    });

    test("waitForWrite refuses a transaction that reverted on chain, and one without the named event", async () => {
      // Sent past the simulation (explicit gas), as a transaction from another tool would be.
      const write = curateBatchWrite({ registry: addresses.datanetRegistry, decisions: [] });
      const data = encodeFunctionData({ abi: write.abi, functionName: write.functionName, args: write.args });
      const hash = await sendTransaction(wallet, {
        account: wallet.account,
        chain: wallet.chain,
        to: addresses.datanetRegistry,
        data,
        gas: 100_000n,
      });
      await assert.rejects(
        waitForWrite(pub, { hash, label: "DatanetRegistry.curateBatch" }),
        (err: unknown) =>
          err instanceof OpenLedgerTransactionError && /reverted in block \d+: EmptyBatch/.test(err.message),
      );
      // a Datanet creation (fresh storage slots) with gas for its calldata but not its writes:
      // named as out of gas, not as a revert
      const create = createDatanetWrite({
        registry: addresses.datanetRegistry,
        metadataURI: "ipfs://starved",
        licensePrice: 0n,
        ownerBps: 0,
      });
      const starved = await sendTransaction(wallet, {
        account: wallet.account,
        chain: wallet.chain,
        to: addresses.datanetRegistry,
        data: encodeFunctionData({ abi: create.abi, functionName: create.functionName, args: create.args }),
        gas: 40_000n,
      });
      await assert.rejects(
        waitForWrite(pub, { hash: starved, label: "DatanetRegistry.curateBatch" }),
        /reverted in block \d+: out of gas \(used all 40000 of its limit\)/,
      );
      const plain = await transact(wallet, { to: wallet.account.address, data: "0x", label: "self" });
      await assert.rejects(
        waitForWrite(pub, {
          hash: plain.hash,
          label: "self",
          abi: datanetRegistryAbi,
          eventName: "DatanetCreated",
        }),
        /emitted no DatanetCreated event/,
      );
      await assert.rejects(transact(wallet, { to: zeroAddress, data: "0x", label: "X.f" }), /zero address/);
    });

    test("SendQueue: sends from one account go out in call order without waiting for receipts", async () => {
      const queue = new SendQueue();
      const n = 12;
      const first = await pub.getTransactionCount({ address: wallet.account.address, blockTag: "pending" });
      await chain.setMining(false);
      let hashes: Hex[];
      try {
        // Two accounts interleaved; every send resolves while no block is mined.
        hashes = await Promise.all(
          Array.from({ length: n }, (_, i) =>
            queue.sendWrite(
              i % 3 === 2 ? other : wallet,
              createDatanetWrite({
                registry: addresses.datanetRegistry,
                metadataURI: `ipfs://queued-${i}`,
                licensePrice: 0n,
                ownerBps: 0,
              }),
            ),
          ),
        );
        assert.equal(new Set(hashes).size, n);
        const mine0 = hashes.filter((_, i) => i % 3 !== 2);
        const txs = await Promise.all(mine0.map((hash) => getTransaction(pub, { hash })));
        assert.deepEqual(
          txs.map((t) => t.nonce),
          txs.map((_, k) => first + k),
          "nonces follow call order",
        );
        await rpc(chain.rpcUrl, "evm_mine", []);
      } finally {
        await chain.setMining(true);
      }
      const written = await Promise.all(
        hashes.map((hash) =>
          waitForWrite(pub, { hash, label: "create", abi: datanetRegistryAbi, eventName: "DatanetCreated" }),
        ),
      );
      assert.equal(new Set(written.map((w) => w.receipt.blockNumber)).size, 1, "all in one block");
      const ids = written.filter((_, i) => i % 3 !== 2).map((w) => w.events[0].args.datanetId);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => (a < b ? -1 : 1)),
        "one account's Datanet ids follow call order",
      );
      const uris = written.map((w) => w.events[0].args.metadataURI);
      assert.deepEqual(
        uris,
        hashes.map((_, i) => `ipfs://queued-${i}`),
      );
    });

    test("two parts sending from one account at once (a queue and plain sendWrite) take distinct nonces", async () => {
      const write = (uri: string) =>
        createDatanetWrite({
          registry: addresses.datanetRegistry,
          metadataURI: uri,
          licensePrice: 0n,
          ownerBps: 0,
        });
      const queue = new SendQueue();
      await chain.setMining(false);
      let hashes: Hex[];
      try {
        // Each part reads the account's pending nonce on its own: without one turn per account for
        // the process's sends, these would take the same nonce and all but one be refused.
        hashes = await Promise.all([
          queue.sendWrite(wallet, write("ipfs://race-queue")),
          sendWrite(wallet, write("ipfs://race-plain-0")),
          sendWrite(wallet, write("ipfs://race-plain-1")),
        ]);
        const txs = await Promise.all(hashes.map((hash) => getTransaction(pub, { hash })));
        assert.equal(new Set(txs.map((t) => t.nonce)).size, 3, "three nonces");
        await rpc(chain.rpcUrl, "evm_mine", []);
      } finally {
        await chain.setMining(true);
      }
      for (const hash of hashes) {
        const { events } = await waitForWrite(pub, {
          hash,
          label: "create",
          abi: datanetRegistryAbi,
          eventName: "DatanetCreated",
        });
        assert.match(events[0].args.metadataURI, /^ipfs:\/\/race-/);
      }
    });

    test("SendQueue: a failed send does not stall the account's later sends", async () => {
      const queue = new SendQueue();
      const bad = queue.sendWrite(
        wallet,
        curateBatchWrite({ registry: addresses.datanetRegistry, decisions: [] }),
      );
      const good = queue.sendWrite(
        wallet,
        createDatanetWrite({
          registry: addresses.datanetRegistry,
          metadataURI: "ipfs://after",
          licensePrice: 0n,
          ownerBps: 0,
        }),
      );
      await assert.rejects(bad, OpenLedgerContractError);
      const { events } = await waitForWrite(pub, {
        hash: await good,
        label: "create",
        abi: datanetRegistryAbi,
        eventName: "DatanetCreated",
      });
      assert.equal(events[0].args.metadataURI, "ipfs://after");
    });
  });
}
