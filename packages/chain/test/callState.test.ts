import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { Caches, MerkleStateManager } from "@ethereumjs/statemanager";
import {
  Account,
  type Address,
  bytesToHex,
  createAddressFromString,
  MapDB,
  ValueEncoding,
} from "@ethereumjs/util";
import { SeededRandom } from "@openledger/common/prng";
import { CallReads, CallStateManager } from "../src/callState.ts";
import { createChainCommon } from "../src/chainConfig.ts";

const common = createChainCommon(1337n);
const addresses = [
  "0x" + "11".repeat(20),
  "0x" + "22".repeat(20),
  "0x" + "33".repeat(20),
  "0x" + "44".repeat(20),
].map((a) => createAddressFromString(a));
const slots = [1, 2, 3, 0xff].map((n) => Uint8Array.from({ length: 32 }, (_, i) => (i === 31 ? n : 0)));

/** A small deterministic PRNG (mulberry32): the operation sequences are the same on every run. (an integer in [0, n) a draw) */
function prng(seed: number): (n: number) => number {
  const random = new SeededRandom(seed);
  return (n) => random.int(n);
}

const trieOpts = { useKeyHashing: true, valueEncoding: ValueEncoding.Bytes, common };

/** Committed base state: two contracts with code and storage, one plain account, one absent. */
async function baseState(): Promise<{ nodes: Map<string, Uint8Array>; root: Uint8Array }> {
  const nodes = new Map<string, Uint8Array>();
  const sm = new MerkleStateManager({
    common,
    trie: new MerklePatriciaTrie({ ...trieOpts, db: new MapDB(nodes) }),
  });
  for (const [i, a] of addresses.slice(0, 3).entries()) {
    await sm.putAccount(a, new Account(BigInt(i), 10n ** 18n * BigInt(i + 1)));
    if (i < 2) {
      await sm.putCode(
        a,
        Uint8Array.from({ length: 300 + i }, (_, j) => (j * 7 + i) % 256),
      );
      for (const [k, key] of slots.entries()) await sm.putStorage(a, key, Uint8Array.of(k + 1, i + 1));
    }
  }
  await sm.flush();
  return { nodes, root: await sm.getStateRoot() };
}

function fresh(nodes: Map<string, Uint8Array>, root: Uint8Array) {
  return new MerklePatriciaTrie({ ...trieOpts, db: new MapDB(new Map(nodes)), root });
}

type SM = MerkleStateManager;

/** One random step applied to both state managers; returns what each answered. */
async function step(sm: SM, pick: number[], depth: { n: number }): Promise<unknown> {
  const [op, ai, si, v] = pick;
  const a: Address = addresses[ai];
  const key = slots[si];
  switch (op) {
    case 0:
    case 1:
      return (await sm.getAccount(a))?.serialize();
    case 2:
    case 3:
    case 4:
      return sm.getStorage(a, key);
    case 5:
      return sm.getCode(a);
    case 6: {
      const acct = (await sm.getAccount(a)) ?? new Account();
      acct.balance += BigInt(v + 1);
      acct.nonce += 1n;
      await sm.putAccount(a, acct);
      return "put";
    }
    case 7:
      if (!(await sm.getAccount(a))) return "absent";
      await sm.putStorage(a, key, v % 3 === 0 ? new Uint8Array() : Uint8Array.of(v, v + 1));
      return "stored";
    case 8:
      await sm.clearStorage(a);
      return "cleared";
    case 9:
      await sm.deleteAccount(a);
      return "deleted";
    case 10:
      if (!(await sm.getAccount(a))) return "absent";
      await sm.putCode(a, Uint8Array.of(0x60, v, 0x60, 0));
      return "code";
    case 11:
      await sm.checkpoint();
      depth.n++;
      return "checkpoint";
    case 12:
      if (depth.n === 0) return "none";
      depth.n--;
      await sm.commit();
      return "commit";
    default:
      if (depth.n === 0) return "none";
      depth.n--;
      await sm.revert();
      return "revert";
  }
}

/** Runs the same seeded sequence on the library's state manager and on a CallStateManager. */
async function compare(seed: number, reads: CallReads, steps: number, outer: boolean): Promise<void> {
  const { nodes, root } = await baseState();
  const plain = new MerkleStateManager({ common, trie: fresh(nodes, root), caches: new Caches() });
  const call = new CallStateManager({ common, trie: fresh(nodes, root), caches: new Caches() }, reads, root);
  const rand = prng(seed);
  const depths = [{ n: 0 }, { n: 0 }];
  if (outer) {
    // As eth_call runs: everything inside one checkpoint that is reverted at the end.
    await plain.checkpoint();
    await call.checkpoint();
  }
  for (let i = 0; i < steps; i++) {
    const pick = [rand(14), rand(addresses.length), rand(slots.length), rand(200)];
    const want = await step(plain, pick, depths[0]);
    const got = await step(call, pick, depths[1]);
    assert.deepEqual(got, want, `seed ${seed}, step ${i}: op ${pick.join(",")}`);
  }
  for (const [sm, d] of [
    [plain, depths[0]],
    [call, depths[1]],
  ] as const) {
    while (d.n-- > 0) await sm.commit();
    if (outer) await sm.revert();
  }
  assert.equal(bytesToHex(await call.getStateRoot()), bytesToHex(await plain.getStateRoot()), `seed ${seed}`);
  if (outer) assert.equal(bytesToHex(await call.getStateRoot()), bytesToHex(root));
}

describe("CallStateManager", () => {
  test("answers every read, write, checkpoint, commit and revert as MerkleStateManager does", async () => {
    const reads = new CallReads();
    // Shared reads: later sequences are answered from what earlier ones remembered.
    for (let seed = 1; seed <= Number(process.env.SEEDS ?? 40); seed++)
      await compare(seed, reads, 120, seed % 2 === 0);
  });

  test("a flush to the trie (commit at depth 0, as state overrides do) stops account answers from the base root", async () => {
    const { nodes, root } = await baseState();
    const reads = new CallReads();
    const warm = new CallStateManager(
      { common, trie: fresh(nodes, root), caches: new Caches() },
      reads,
      root,
    );
    assert.equal((await warm.getAccount(addresses[1]))?.balance, 2n * 10n ** 18n);
    const sm = new CallStateManager({ common, trie: fresh(nodes, root), caches: new Caches() }, reads, root);
    await sm.checkpoint();
    await sm.putAccount(addresses[1], new Account(5n, 7n));
    await sm.commit();
    sm.clearCaches();
    assert.equal((await sm.getAccount(addresses[1]))?.balance, 7n);
    assert.equal((await warm.getAccount(addresses[1]))?.balance, 2n * 10n ** 18n);
  });

  test("accounts it hands out are copies: editing one does not change the next read", async () => {
    const { nodes, root } = await baseState();
    const sm = new CallStateManager(
      { common, trie: fresh(nodes, root), caches: new Caches() },
      new CallReads(),
      root,
    );
    const first = await sm.getAccount(addresses[0]);
    assert.ok(first);
    first.balance = 1n;
    sm.clearCaches();
    assert.equal((await sm.getAccount(addresses[0]))?.balance, 10n ** 18n);
  });
});
