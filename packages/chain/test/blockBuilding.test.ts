import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { AccountCache, Caches, CacheType, MerkleStateManager } from "@ethereumjs/statemanager";
import { createTx } from "@ethereumjs/tx";
import {
  Account,
  bytesToHex,
  bytesToUnprefixedHex,
  createAddressFromString,
  hexToBytes,
  setLengthLeft,
  ValueEncoding,
} from "@ethereumjs/util";
import { mulberry32 } from "@openledger/common/prng";
import { getContractAddress, type Hex, keccak256 } from "viem";
import { DecodedAccountCache, DecodedAccountsStateManager } from "../src/accountCache.ts";
import { createChainCommon, createSharedCommon } from "../src/chainConfig.ts";
import { deriveDevAccounts } from "../src/devAccounts.ts";
import { createNode } from "../src/index.ts";
import { TxPool } from "../src/mempool.ts";
import { ChainStore, TrieNodeDB } from "../src/store.ts";
import { putSorted } from "../src/trieBatch.ts";
import { encodeNode, type RawNode } from "../src/trieNibbles.ts";
import { readTrie, TrieNodeCorruptError, TrieNodeMissingError } from "../src/trieRead.ts";
import { tempDir } from "./helpers.ts";

describe("TxPool.nextNonce", () => {
  test("follows additions, a removal inside the run, and a state nonce that moves back (evm_revert)", () => {
    const pool = new TxPool({ perSender: 100, total: 100, maxNonceGap: 100 });
    const add = (nonce: bigint) => {
      const hashHex = `0x${nonce.toString(16).padStart(64, "0")}`;
      pool.add(
        {
          tx: undefined as never,
          raw: new Uint8Array(),
          hash: hexToBytes(hashHex as Hex),
          hashHex,
          sender: "a",
          nonce,
          maxFee: 10n,
          tip: 1n,
        },
        0n,
      );
      return hashHex;
    };
    const hashes = [0n, 1n, 2n, 3n, 4n].map(add);
    assert.equal(pool.nextNonce("a", 0n), 5n);
    add(5n);
    assert.equal(pool.nextNonce("a", 0n), 6n);
    assert.equal(pool.nextNonce("a", 2n), 6n);
    pool.remove(hashes[3]);
    assert.equal(pool.nextNonce("a", 0n), 3n);
    assert.equal(pool.nextNonce("a", 4n), 6n);
    // The state nonce moved back below what the pool holds: nothing from 0 is pooled any more.
    pool.remove(hashes[0]);
    assert.equal(pool.nextNonce("a", 0n), 0n);
    assert.equal(pool.nextNonce("a", 1n), 3n);
    assert.equal(pool.nextNonce("b", 7n), 7n);
  });
});

describe("DecodedAccountCache", () => {
  test("answers, flushes and rolls back as @ethereumjs's AccountCache over a seeded sequence of operations", () => {
    const random = mulberry32(20261130);
    const ours = new DecodedAccountCache();
    const theirs = new AccountCache({ size: 100_000, type: CacheType.ORDERED_MAP });
    const addresses = Array.from({ length: 12 }, (_, i) =>
      createAddressFromString(`0x${(i + 1).toString(16).padStart(40, "0")}`),
    );
    const rlpOf = (entry: { accountRLP: Uint8Array | undefined } | undefined) =>
      entry === undefined
        ? "absent"
        : entry.accountRLP === undefined
          ? "deleted"
          : bytesToHex(entry.accountRLP);
    let depth = 0;
    for (let step = 0; step < 5000; step++) {
      const address = addresses[Math.floor(random() * addresses.length)];
      const op = random();
      if (op < 0.35) {
        const account = new Account(BigInt(Math.floor(random() * 5)), BigInt(Math.floor(random() * 1e9)));
        ours.put(address, account);
        theirs.put(address, account);
        // Changing the caller's object afterwards must not reach the cache.
        account.balance += 1n;
      } else if (op < 0.45) {
        ours.del(address);
        theirs.del(address);
      } else if (op < 0.6) {
        ours.checkpoint();
        theirs.checkpoint();
        depth++;
      } else if (op < 0.7 && depth > 0) {
        ours.commit();
        theirs.commit();
        depth--;
      } else if (op < 0.8 && depth > 0) {
        ours.revert();
        theirs.revert();
        depth--;
      } else if (op < 0.85) {
        const a = ours.flush().map(([k, e]) => `${k}:${rlpOf(e)}`);
        const b = theirs.flush().map(([k, e]) => `${k}:${rlpOf(e)}`);
        assert.deepEqual(a, b, `flush at step ${step}`);
      }
      for (const each of addresses) {
        assert.equal(rlpOf(ours.get(each)), rlpOf(theirs.get(each)), `${each} at step ${step}`);
      }
    }
    assert.equal(ours.size(), theirs.size());
  });
});

describe("DecodedAccountsStateManager", () => {
  test("gives @ethereumjs's state roots over seeded account and storage writes, deletions, checkpoints and reverts", async () => {
    const random = mulberry32(20261201);
    const int = (n: number) => Math.floor(random() * n);
    const common = createSharedCommon(createChainCommon(1337n));
    const ours = new DecodedAccountsStateManager({
      common,
      trie: new MerklePatriciaTrie({ useKeyHashing: true }),
    });
    const theirs = new MerkleStateManager({
      common,
      trie: new MerklePatriciaTrie({ useKeyHashing: true }),
      caches: new Caches(),
    });
    const both = async (op: (sm: MerkleStateManager) => Promise<unknown>) => {
      await op(ours);
      await op(theirs);
    };
    const addresses = Array.from({ length: 6 }, (_, i) =>
      createAddressFromString(`0x${(0xc0 + i).toString(16).padStart(40, "0")}`),
    );
    // Few slots per contract, so writes overwrite, delete and re-create the same keys.
    const slot = () => setLengthLeft(Uint8Array.of(int(24)), 32);
    const value = () =>
      random() < 0.25 ? new Uint8Array() : Uint8Array.from({ length: 1 + int(32) }, () => int(256));
    let depth = 0;
    let flushes = 0;
    for (let step = 0; step < 3000; step++) {
      const address = addresses[int(addresses.length)];
      const op = random();
      if (op < 0.45) {
        if ((await ours.getAccount(address)) === undefined) {
          const balance = BigInt(int(1e6));
          // Created as the EVM creates a contract: a new account, then its storage cleared (which
          // also resets the state manager's storage trie for it, a deleted one's included).
          await both(async (sm) => {
            await sm.putAccount(address, new Account(0n, balance));
            await sm.clearStorage(address);
          });
        }
        // Several slots per contract between flushes: one sorted pass writes them together.
        for (let n = 1 + int(6); n > 0; n--) {
          const [k, v] = [slot(), value()];
          await both((sm) => sm.putStorage(address, k, v));
        }
      } else if (op < 0.55) {
        const balance = BigInt(int(1e9));
        // Only on an existing account: re-creating a deleted one without clearing its storage, then
        // writing slots, is not something the EVM does (and @ethereumjs's own state manager would then
        // resurrect the deleted slots from its storage trie cache).
        if ((await ours.getAccount(address)) !== undefined) {
          await both((sm) => sm.modifyAccountFields(address, { balance }));
        }
      } else if (op < 0.6) {
        await both((sm) => sm.deleteAccount(address));
      } else if (op < 0.63) {
        await both((sm) => sm.clearStorage(address));
      } else if (op < 0.75) {
        await both((sm) => sm.checkpoint());
        depth++;
      } else if (op < 0.87 && depth > 0) {
        await both((sm) => sm.commit());
        depth--;
      } else if (op < 0.93 && depth > 0) {
        await both((sm) => sm.revert());
        depth--;
      }
      if (depth === 0 && random() < 0.3) {
        flushes++;
        assert.equal(
          bytesToHex(await ours.getStateRoot()),
          bytesToHex(await theirs.getStateRoot()),
          `state root at step ${step}`,
        );
      }
    }
    assert.ok(flushes > 50, `only ${flushes} flushes compared`);
  });
});

/** Every node key of the state at `root` (account trie and storage tries), read from `store` only. */
function stateNodeKeys(store: ChainStore, root: Uint8Array): Set<string> {
  const keys = new Set<string>();
  const visit = (hash: Uint8Array, accounts: boolean) => {
    const key = bytesToUnprefixedHex(hash);
    if (keys.has(key)) return;
    const encoded = store.trie.getSync(key);
    assert.ok(encoded, `trie node ${key} is missing from the store`);
    keys.add(key);
    walk(RLP.decode(encoded), accounts);
  };
  const child = (ref: unknown, accounts: boolean) => {
    if (Array.isArray(ref)) walk(ref, accounts);
    else if (ref instanceof Uint8Array && ref.length === 32) visit(ref, accounts);
  };
  const walk = (node: unknown, accounts: boolean) => {
    if (!Array.isArray(node)) return;
    if (node.length === 17) {
      for (let i = 0; i < 16; i++) child(node[i], accounts);
      return;
    }
    const [path, value] = node as [Uint8Array, unknown];
    if (path[0] >> 4 < 2) child(value, accounts);
    else if (accounts) {
      const storageRoot = (RLP.decode(value as Uint8Array) as Uint8Array[])[2];
      if (bytesToHex(storageRoot) !== EMPTY_ROOT) visit(storageRoot, false);
    }
  };
  visit(root, true);
  return keys;
}

const EMPTY_ROOT = "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421";

describe("putSorted", () => {
  /** Rounds of `sizes` keys into two tries, one put per key and putSorted; roots and reads must agree. */
  const check = async (seed: number, sizes: number[]) => {
    const random = mulberry32(seed);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const one = new MerklePatriciaTrie({ useKeyHashing: true });
    const batched = new MerklePatriciaTrie({ useKeyHashing: true });
    const keys: Uint8Array[] = [];
    for (const size of sizes) {
      const puts: [Uint8Array, Uint8Array][] = [];
      // Half of the keys rewrite earlier ones (a key may come twice in a round: the last value wins).
      for (let i = 0; i < size; i++) {
        const key = keys.length > 0 && random() < 0.5 ? keys[Math.floor(random() * keys.length)] : bytes(20);
        if (!keys.includes(key)) keys.push(key);
        puts.push([key, bytes(1 + Math.floor(random() * 40))]);
      }
      for (const [key, value] of puts) await one.put(key, value);
      await putSorted(batched, puts);
      assert.equal(bytesToHex(batched.root()), bytesToHex(one.root()), `seed ${seed}, round of ${size}`);
      // A reader over the store alone: every node the new root needs was written.
      const reader = new MerklePatriciaTrie({
        useKeyHashing: true,
        db: batched.database().db,
        root: batched.root(),
      });
      for (const key of keys) assert.deepEqual(await reader.get(key), await one.get(key));
    }
  };

  test("gives the root and reads of one put per key, on a growing trie", async () => {
    await check(11, [1, 1, 2, 3, 5, 8, 40, 200, 300]);
  });

  test("splits extensions as one put per key does, on many small tries", async () => {
    // A few keys make extension nodes at the top; later rounds split them and write below them.
    for (let seed = 1; seed <= 150; seed++) await check(seed, [2, 3, 4, 6, 10]);
  });

  test("splits an extension that new keys both leave and follow", async () => {
    // Keys chosen by their hashed prefix: a, b and d share "xyz" (the root is an extension of at least
    // "xyz"), c shares only "x" and splits it after one nibble, and d goes below the split.
    const random = mulberry32(5);
    const byPrefix = new Map<string, Uint8Array[]>();
    for (let i = 0; i < 20_000; i++) {
      const key = Uint8Array.from({ length: 20 }, () => Math.floor(random() * 256));
      const prefix = keccak256(key).slice(2, 5);
      byPrefix.set(prefix, [...(byPrefix.get(prefix) ?? []), key]);
    }
    const [xyz, group] = [...byPrefix].find(([, keys]) => keys.length >= 3) ?? assert.fail("no prefix group");
    const other =
      [...byPrefix.keys()].find((p) => p[0] === xyz[0] && p[1] !== xyz[1]) ?? assert.fail("no sibling");
    const [a, b, d] = group;
    const c = (byPrefix.get(other) as Uint8Array[])[0];
    const value = (n: number) => Uint8Array.from({ length: 40 }, () => n);
    const one = new MerklePatriciaTrie({ useKeyHashing: true });
    const batched = new MerklePatriciaTrie({ useKeyHashing: true });
    for (const round of [
      [a, b],
      [c, d, a],
    ]) {
      const puts = round.map((key, i): [Uint8Array, Uint8Array] => [key, value(i + round.length)]);
      for (const [key, v] of puts) await one.put(key, v);
      await putSorted(batched, puts);
      assert.equal(bytesToHex(batched.root()), bytesToHex(one.root()));
    }
    const reader = new MerklePatriciaTrie({
      useKeyHashing: true,
      db: batched.database().db,
      root: batched.root(),
    });
    for (const key of [a, b, c, d]) assert.deepEqual(await reader.get(key), await one.get(key));
  });
});

describe("encodeNode", () => {
  test("gives RLP.encode's bytes for strings and lists at every length boundary, nested", () => {
    const random = mulberry32(3);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const lengths = [0, 1, 2, 31, 32, 54, 55, 56, 57, 255, 256, 300, 65_535, 65_536];
    const strings = [Uint8Array.of(0), Uint8Array.of(0x7f), Uint8Array.of(0x80), ...lengths.map(bytes)];
    const node = (depth: number): RawNode =>
      depth === 0 || random() < 0.4
        ? strings[Math.floor(random() * strings.length)]
        : Array.from({ length: Math.floor(random() * 18) }, () => node(depth - 1));
    for (const s of strings) assert.deepEqual(encodeNode(s), RLP.encode(s));
    for (const n of [0, 1, 2, 17, 55, 56]) {
      // lists whose payload sits at the 55/56-byte boundary
      const list = Array.from({ length: n }, () => Uint8Array.of(1));
      assert.deepEqual(encodeNode(list), RLP.encode(list));
    }
    for (let i = 0; i < 300; i++) {
      const each = node(3);
      assert.deepEqual(encodeNode(each), RLP.encode(each as Uint8Array[]));
    }
  });
});

describe("readTrie", () => {
  test("reads what the library's trie reads, present and absent keys, across puts and deletions", async () => {
    const random = mulberry32(77);
    const bytes = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));
    const db = new TrieNodeDB(() => undefined);
    const trie = new MerklePatriciaTrie({ useKeyHashing: true, db, valueEncoding: ValueEncoding.Bytes });
    const keys: Uint8Array[] = [];
    let reads = 0;
    for (const size of [1, 2, 3, 5, 20, 200]) {
      for (let i = 0; i < size; i++) {
        const key = keys.length > 0 && random() < 0.3 ? keys[Math.floor(random() * keys.length)] : bytes(20);
        if (!keys.includes(key)) keys.push(key);
        if (random() < 0.2) await trie.del(key);
        else await trie.put(key, bytes(1 + Math.floor(random() * 80)));
      }
      for (const key of [...keys, bytes(20), bytes(32)]) {
        const ours = readTrie((k) => db.getSync(k), trie.root(), key);
        assert.deepEqual(ours ?? null, await trie.get(key), `round of ${size}`);
        reads++;
      }
    }
    assert.ok(reads > 200);
  });

  test("throws TrieNodeMissingError for a node on the path not in the database, TrieNodeCorruptError for a malformed one", async () => {
    const db = new TrieNodeDB(() => undefined);
    const trie = new MerklePatriciaTrie({ useKeyHashing: true, db, valueEncoding: ValueEncoding.Bytes });
    const keys = Array.from({ length: 40 }, (_, i) => Uint8Array.of(i));
    for (const key of keys) await trie.put(key, new Uint8Array(40).fill(7));
    const rootKey = bytesToUnprefixedHex(trie.root());
    const onlyRoot = (k: string) => (k === rootKey ? db.getSync(k) : undefined);
    assert.throws(() => readTrie(onlyRoot, trie.root(), keys[0]), TrieNodeMissingError);
    assert.throws(() => readTrie(() => undefined, trie.root(), keys[0]), /trie node [0-9a-f]{64} is missing/);
    // A malformed stored node (not a list; a list longer than its bytes; a list of 3) is named as such.
    for (const bad of ["0x80", "0xf901ff00", "0xc3010203"]) {
      assert.throws(() => readTrie(() => hexToBytes(bad as Hex), trie.root(), keys[0]), TrieNodeCorruptError);
    }
  });
});

describe("block building", () => {
  test("the store keeps exactly the trie nodes the blocks' states use, and the state reads back after a restart", async () => {
    const tmp = tempDir();
    const chainId = 1337n;
    const common = createSharedCommon(createChainCommon(chainId));
    const [dev0, dev1] = deriveDevAccounts(2);
    const nonces = new Map<string, bigint>();
    const sign = (key: Hex, from: string, fields: { to?: Hex; data?: Hex; value?: bigint; gas: bigint }) => {
      const nonce = nonces.get(from) ?? 0n;
      nonces.set(from, nonce + 1n);
      return createTx(
        {
          type: 2,
          chainId,
          nonce,
          to: fields.to,
          data: fields.data ?? "0x",
          value: fields.value ?? 0n,
          gasLimit: fields.gas,
          maxFeePerGas: 100_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
        },
        { common },
      )
        .sign(hexToBytes(key))
        .serialize();
    };
    // Runtime: SSTORE(calldata[32..64], calldata[0..32]); STOP.
    const deploy = "0x67600035602035550060005260086018f3" as Hex;
    const word = (n: bigint) =>
      bytesToHex(setLengthLeft(hexToBytes(`0x${n.toString(16).padStart(2, "0")}`), 32)).slice(2);
    const recipient = (i: number) => `0x${(0x5000 + i).toString(16).padStart(40, "0")}` as Hex;
    let node = await createNode({ datadir: tmp.dir, blockTime: 0 });
    try {
      await node.sendRawTransaction(sign(dev0.privateKey, dev0.address, { data: deploy, gas: 100_000n }));
      const store = getContractAddress({ from: dev0.address, nonce: 0n });
      await node.mine();
      const balances = new Map<string, bigint>();
      const slots = new Map<bigint, bigint>();
      for (let block = 0; block < 3; block++) {
        for (let i = 0; i < 40; i++) {
          const to = recipient(i + block * 7);
          await node.sendRawTransaction(
            sign(dev0.privateKey, dev0.address, { to, value: 1000n + BigInt(i), gas: 21_000n }),
          );
          balances.set(to, (balances.get(to) ?? 0n) + 1000n + BigInt(i));
        }
        for (let i = 0; i < 20; i++) {
          // New slots, overwrites of earlier ones, and zeroing (a deletion in the storage trie).
          const value = i % 5 === 4 ? 0n : BigInt(block * 100 + i + 1);
          const slot = BigInt(i + block * 10);
          slots.set(slot, value);
          const data = `0x${word(value)}${word(slot)}` as Hex;
          await node.sendRawTransaction(
            sign(dev1.privateKey, dev1.address, { to: store, data, gas: 60_000n }),
          );
        }
        await node.mine();
      }
      const head = node.head.header.number;
      const roots = Array.from(
        { length: Number(head) + 1 },
        (_, n) => node.blockByNumber(BigInt(n))?.header.stateRoot,
      );
      await node.close();

      const chain = new ChainStore(tmp.dir);
      try {
        const used = new Set<string>();
        for (const root of roots) {
          assert.ok(root);
          for (const key of stateNodeKeys(chain, root)) used.add(key);
        }
        const stored = (chain.db.prepare("SELECT k FROM trie").all() as { k: Buffer }[])
          .map((r) => r.k.toString("hex"))
          .filter((k) => k.length === 64);
        assert.deepEqual(new Set(stored), used, "trie nodes stored but used by no block's state");
      } finally {
        chain.close();
      }

      node = await createNode({ datadir: tmp.dir, blockTime: 0 });
      const state = node.stateAt(await node.stateRootOf(node.head));
      for (const [address, balance] of balances) {
        assert.equal((await state.getAccount(createAddressFromString(address)))?.balance, balance, address);
      }
      const contract = createAddressFromString(store);
      // the deployed runtime: code is kept by the pruning, under its own key
      assert.equal(bytesToHex(await state.getCode(contract)), "0x6000356020355500");
      for (const [slot, value] of slots) {
        const read = await state.getStorage(
          contract,
          setLengthLeft(hexToBytes(`0x${slot.toString(16).padStart(2, "0")}`), 32),
        );
        assert.equal(read.length === 0 ? 0n : BigInt(bytesToHex(read)), value, `slot ${slot}`);
      }
    } finally {
      await node.close();
      tmp.remove();
    }
  });
});
