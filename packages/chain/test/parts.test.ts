import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { appendFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import { MerkleTree } from "@openledger/merkle";
import { encodeAbiParameters, keccak256, toHex } from "viem";
import { createChainCommon } from "../src/chainConfig.ts";
import { deriveDevAccounts } from "../src/devAccounts.ts";
import { TxRejectedError } from "../src/errors.ts";
import { MemoTrie, TrieReadMemo } from "../src/memoTrie.ts";
import { type PoolTx, TxPool } from "../src/mempool.ts";
import { orderedTrieRoot } from "../src/orderedTrie.ts";
import { PendingLog } from "../src/pendingLog.ts";
import { MERKLE_MULTIPROOF_GAS, merkleMultiproofPrecompile, PrecompileRegistry } from "../src/precompiles.ts";
import { loadNativeRecover, SenderRecovery } from "../src/recovery.ts";
import { tempDir } from "./helpers.ts";

const common = createChainCommon(1337n);
const [dev0, dev1] = deriveDevAccounts(2);

function entry(sender: string, nonce: bigint, maxFee: bigint, tip: bigint, tag = ""): Omit<PoolTx, "seq"> {
  const hashHex = keccak256(toHex(`${sender}-${nonce}-${maxFee}-${tip}-${tag}`));
  return {
    tx: undefined as never,
    raw: new Uint8Array(),
    hash: hexToBytes(hashHex),
    hashHex,
    sender,
    nonce,
    maxFee,
    tip,
  };
}

describe("TxPool", () => {
  test("orders by nonce per sender and by effective tip across senders; replacement needs a 10% bump", () => {
    const pool = new TxPool({ perSender: 10, total: 100, maxNonceGap: 4 });
    pool.add(entry("a", 0n, 100n, 5n), 0n);
    pool.add(entry("a", 1n, 100n, 50n), 0n);
    pool.add(entry("b", 0n, 100n, 10n), 0n);
    pool.add(entry("c", 3n, 100n, 99n), 3n);
    const order = [...pool.ordered(10n, (s) => (s === "c" ? 3n : 0n))].map((t) => `${t.sender}${t.nonce}`);
    assert.deepEqual(order, ["c3", "b0", "a0", "a1"]);
    assert.throws(() => pool.add(entry("a", 0n, 109n, 6n, "r"), 0n), /replacement transaction underpriced/);
    const replaced = pool.add(entry("a", 0n, 110n, 6n, "r"), 0n);
    assert.equal(replaced?.maxFee, 100n);
    assert.equal(pool.size, 4);
    assert.throws(() => pool.add(entry("a", 7n, 100n, 1n), 0n), /nonce too high: next nonce 2, tx nonce 7/);
    assert.equal(pool.nextNonce("a", 0n), 2n);
    assert.deepEqual(
      pool.dropStale("a", 1n).map((t) => t.nonce),
      [0n],
    );
  });

  test("a sender skipped by the block builder keeps its later nonces out of that block", () => {
    const pool = new TxPool();
    pool.add(entry("a", 0n, 100n, 5n), 0n);
    pool.add(entry("a", 1n, 100n, 5n), 0n);
    pool.add(entry("b", 0n, 100n, 1n), 0n);
    const gen = pool.ordered(0n, () => 0n);
    const seen: string[] = [];
    let step = gen.next();
    while (!step.done) {
      seen.push(`${step.value.sender}${step.value.nonce}`);
      step = gen.next(step.value.sender !== "a");
    }
    assert.deepEqual(seen, ["a0", "b0"]);
  });

  test("limits are errors with geth wording", () => {
    const pool = new TxPool({ perSender: 1, total: 2, maxNonceGap: 64 });
    pool.add(entry("a", 0n, 1n, 1n), 0n);
    assert.throws(
      () => pool.add(entry("a", 1n, 1n, 1n), 0n),
      (e: unknown) => e instanceof TxRejectedError && e.message === "account limit exceeded",
    );
    pool.add(entry("b", 0n, 1n, 1n), 0n);
    assert.throws(() => pool.add(entry("c", 0n, 1n, 1n), 0n), /txpool is full/);
    assert.throws(() => pool.add(entry("b", 0n, 1n, 1n), 0n), /already known/);
  });
});

describe("precompiles", () => {
  test("registry refuses Ethereum's range, bad and duplicate addresses", () => {
    const def = { ...merkleMultiproofPrecompile };
    assert.throws(
      () => new PrecompileRegistry([{ ...def, address: "0x0000000000000000000000000000000000000001" }]),
      /precompile range/,
    );
    assert.throws(() => new PrecompileRegistry([{ ...def, address: "0x1234" }]), /20-byte hex address/);
    assert.throws(
      () => new PrecompileRegistry([def, { ...def, name: "again" }]),
      /already taken by merkle-multiproof-v1/,
    );
    assert.equal(new PrecompileRegistry([def]).toEvm().length, 1);
  });

  test("Merkle multiproof: same answers as @openledger/merkle, documented gas, hostile input reverts", () => {
    const leaves = Array.from({ length: 9 }, (_, i) => keccak256(toHex(i)));
    const tree = MerkleTree.build(leaves);
    const mp = tree.multiProof([1, 4, 8]);
    const input = hexToBytes(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "bytes32[]" }, { type: "bytes32[]" }, { type: "bool[]" }],
        [tree.root, mp.leaves, mp.proof, mp.proofFlags],
      ),
    );
    assert.equal(merkleMultiproofPrecompile.run(input)[31], 1);
    const words = BigInt(Math.ceil(input.length / 32));
    assert.equal(
      merkleMultiproofPrecompile.gas(input),
      MERKLE_MULTIPROOF_GAS.base +
        MERKLE_MULTIPROOF_GAS.perHash * BigInt(mp.proofFlags.length) +
        MERKLE_MULTIPROOF_GAS.perWord * words,
    );
    const wrongRoot = input.slice();
    wrongRoot[0] ^= 1;
    assert.equal(merkleMultiproofPrecompile.run(wrongRoot)[31], 0);
    assert.throws(
      () => merkleMultiproofPrecompile.run(input.subarray(0, 100)),
      /shorter than its 4 head words/,
    );
    const badOffset = input.slice();
    badOffset[63] = 0xff;
    badOffset[62] = 0xff;
    assert.throws(() => merkleMultiproofPrecompile.run(badOffset), /runs past the input/);
    assert.ok(merkleMultiproofPrecompile.gas(badOffset) >= MERKLE_MULTIPROOF_GAS.base);
  });
});

describe("pending log", () => {
  test("replays whole records, drops a torn tail, clears in order with appends", async () => {
    const tmp = tempDir();
    try {
      const path = join(tmp.dir, "pending.log");
      let { log, entries } = await PendingLog.open(path);
      assert.equal(entries.length, 0);
      await Promise.all([log.append(Uint8Array.of(1, 2, 3)), log.append(Uint8Array.of(4))]);
      await log.close();
      appendFileSync(path, Buffer.from([0, 0, 0, 9, 1, 2])); // a record cut short by a crash
      ({ log, entries } = await PendingLog.open(path));
      assert.deepEqual(
        entries.map((e) => [...e]),
        [[1, 2, 3], [4]],
      );
      assert.equal(readFileSync(path).length, 12, "torn tail truncated");
      const cleared = log.clear();
      const after = log.append(Uint8Array.of(7));
      await Promise.all([cleared, after]);
      await log.close();
      ({ log, entries } = await PendingLog.open(path));
      assert.deepEqual(
        entries.map((e) => [...e]),
        [[7]],
      );
      await Promise.all([
        log.append(Uint8Array.of(8, 8)),
        log.compact([Uint8Array.of(8, 8)]),
        log.append(Uint8Array.of(9)),
      ]);
      assert.equal(log.bytes, 11);
      await log.close();
      ({ log, entries } = await PendingLog.open(path));
      assert.deepEqual(
        entries.map((e) => [...e]),
        [[8, 8], [9]],
        "compaction kept only what it was given, appends after it survive",
      );
      await log.close();
    } finally {
      tmp.remove();
    }
  });
});

describe("sender recovery ahead of use", () => {
  test("on worker threads: fills the sender cache with the same address as inline recovery; leaves bad signatures alone", async () => {
    await checkRecovery(new SenderRecovery(2));
  });

  test("the default (one worker where there is a second core) and natively on this thread: the same results", async () => {
    assert.ok(loadNativeRecover(), "the secp256k1 native binding loads");
    await checkRecovery(new SenderRecovery());
    await checkRecovery(new SenderRecovery(0));
  });

  test("answers in arrival order: a lone transaction does not overtake a batch still on the worker", async () => {
    const recovery = new SenderRecovery(1);
    try {
      const txs = [0n, 1n, 2n].map((nonce) =>
        createTx({ type: 2, chainId: 1337n, nonce, gasLimit: 21000n, maxFeePerGas: 1n }, { common }).sign(
          hexToBytes(dev0.privateKey),
        ),
      );
      const order: number[] = [];
      const track = (i: number) => recovery.prepare(txs[i]).then(() => order.push(i));
      const batch = [track(0), track(1)]; // one turn: a batch for the worker
      await new Promise((r) => setImmediate(r)); // sent; the next turn brings one transaction
      await Promise.all([...batch, track(2)]);
      assert.deepEqual(order, [0, 1, 2]);
      assert.ok(txs.every((t) => t.cache.senderPubKey));
    } finally {
      await recovery.close();
    }
  });

  test("a worker never keeps the process alive when idle, and does while it owes answers", () => {
    // A child that recovers a batch on a worker, prints, and neither closes nor exits: it must end.
    const script = `
      import { createTx } from "@ethereumjs/tx";
      import { hexToBytes } from "@ethereumjs/util";
      import { createChainCommon } from "${join(import.meta.dirname, "../src/chainConfig.ts")}";
      import { SenderRecovery } from "${join(import.meta.dirname, "../src/recovery.ts")}";
      const common = createChainCommon(1337n);
      const key = hexToBytes("${dev0.privateKey}");
      const recovery = new SenderRecovery(1);
      new SenderRecovery(1); // and one never used
      const txs = [0n, 1n, 2n].map((nonce) =>
        createTx({ type: 2, chainId: 1337n, nonce, gasLimit: 21000n, maxFeePerGas: 1n }, { common }).sign(key));
      await Promise.all(txs.map((t) => recovery.prepare(t)));
      console.log(txs.every((t) => t.cache.senderPubKey) ? "recovered" : "missing");
    `;
    const out = execFileSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      cwd: import.meta.dirname,
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(out.trim(), "recovered", "the batch was answered before the process ended by itself");
  });

  async function checkRecovery(recovery: SenderRecovery): Promise<void> {
    try {
      const txs = [dev0, dev1].map((d, i) =>
        createTx(
          { type: 2, chainId: 1337n, nonce: BigInt(i), gasLimit: 21000n, maxFeePerGas: 1n },
          { common },
        ).sign(hexToBytes(d.privateKey)),
      );
      const legacy = createTx({ type: 0, nonce: 3n, gasLimit: 21000n, gasPrice: 1n }, { common }).sign(
        hexToBytes(dev1.privateKey),
      );
      await Promise.all([...txs, legacy].map((t) => recovery.prepare(t)));
      assert.ok(txs[0].cache.senderPubKey, "filled ahead of use");
      assert.equal(txs[0].getSenderAddress().toString(), dev0.address.toLowerCase());
      assert.equal(txs[1].getSenderAddress().toString(), dev1.address.toLowerCase());
      assert.equal(legacy.getSenderAddress().toString(), dev1.address.toLowerCase());
      const bad = createTx(
        {
          type: 2,
          chainId: 1337n,
          nonce: 0n,
          gasLimit: 21000n,
          maxFeePerGas: 1n,
          v: 0n,
          r: 0n,
          s: 1n,
        },
        { common },
      );
      const good = createTx(
        { type: 2, chainId: 1337n, nonce: 9n, gasLimit: 21000n, maxFeePerGas: 1n },
        { common },
      ).sign(hexToBytes(dev0.privateKey));
      await recovery.prepare(bad); // alone in its turn
      await Promise.all([recovery.prepare(bad), recovery.prepare(good)]); // in a batch (a worker's, if any)
      assert.equal(
        bad.cache.senderPubKey,
        undefined,
        "an unrecoverable signature is left for the inline check",
      );
      assert.equal(good.getSenderAddress().toString(), dev0.address.toLowerCase());
      assert.throws(() => bad.getSenderAddress(), /Invalid Signature/);
    } finally {
      await recovery.close();
    }
  }
});

describe("ordered trie root (transactions and receipts roots)", () => {
  test("equals @ethereumjs's MerklePatriciaTrie after one put per index, across RLP key-length boundaries", async () => {
    let seed = 11;
    const next = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed;
    };
    for (const n of [0, 1, 2, 16, 17, 127, 128, 129, 255, 256, 257, 1500]) {
      // 1 to 119 bytes, so some nodes are inlined (< 32 bytes) and some hashed
      const values = Array.from({ length: n }, () =>
        Uint8Array.from({ length: 1 + (next() % 119) }, () => next() & 255),
      );
      const trie = new MerklePatriciaTrie();
      for (let i = 0; i < n; i++) await trie.put(RLP.encode(i), values[i]);
      assert.equal(bytesToHex(orderedTrieRoot(values)), bytesToHex(trie.root()), `${n} values`);
    }
  });
});

describe("MemoTrie (eth_call's trie reads)", () => {
  test("answers by (root, key): a write moves the root and reads see it; copies share the memo", async () => {
    const memo = new TrieReadMemo();
    const trie = new MemoTrie({ useKeyHashing: true }, memo);
    const key = Uint8Array.of(1, 2, 3);
    await trie.put(key, Uint8Array.of(7));
    const first = trie.root();
    assert.deepEqual(await trie.get(key), Uint8Array.of(7));
    await trie.put(key, Uint8Array.of(8));
    assert.deepEqual(await trie.get(key), Uint8Array.of(8));
    const copy = trie.shallowCopy(false);
    assert.ok(copy instanceof MemoTrie);
    copy.root(first);
    assert.deepEqual(await copy.get(key), Uint8Array.of(7));
    assert.equal(await copy.get(Uint8Array.of(9)), null);
    // a fresh trie on the same memo but without the nodes still answers the remembered lookups only
    const bare = new MemoTrie({ useKeyHashing: true, root: first }, memo);
    assert.deepEqual(await bare.get(key), Uint8Array.of(7));
    await assert.rejects(() => bare.get(Uint8Array.of(4), true));
  });
});
