import assert from "node:assert/strict";
import { test } from "node:test";
import { createBlock } from "@ethereumjs/block";
import type { EVMMockBlockchainInterface } from "@ethereumjs/evm";
import { createTx, type TypedTransaction } from "@ethereumjs/tx";
import {
  Account,
  type Address,
  bytesToHex,
  createAddressFromString,
  hexToBytes,
  MAX_INTEGER,
} from "@ethereumjs/util";
import { encodeReceipt, type RunTxResult, runTx } from "@ethereumjs/vm";
import { mulberry32 } from "@openledger/common/prng";
import type { Hex } from "viem";
import { createChainCommon, createSharedCommon } from "../src/chainConfig.ts";
import { fastCrypto } from "../src/crypto.ts";
import { deriveDevAccounts } from "../src/devAccounts.ts";
import { LiveState } from "../src/liveState.ts";
import { plainTransfer, plainTransfersApply } from "../src/plainTransfer.ts";
import {
  MERKLE_MULTIPROOF_ADDRESS,
  merkleMultiproofPrecompile,
  PrecompileRegistry,
} from "../src/precompiles.ts";
import { TrieNodeDB } from "../src/store.ts";

const GWEI = 1_000_000_000n;
const common = createSharedCommon(createChainCommon(1337n, fastCrypto()));
const blockchain: EVMMockBlockchainInterface = {
  getBlock: async () => ({ hash: () => new Uint8Array(32) }),
  putBlock: async () => {},
  shallowCopy() {
    return this;
  },
};
const addr = (n: number) => createAddressFromString(`0x${n.toString(16).padStart(40, "0")}`);
/** A recipient whose balance a transfer can push past 2^256 - 1 (the EVM's "value overflow"). */
const FULL = addr(0xf0);
const NEARLY_FULL = MAX_INTEGER - 1_000n;

/** The same state on a fresh VM: funded senders, contracts, a 7702-delegated and a coded sender, an empty account. */
async function openState(devs: { address: string }[]): Promise<LiveState> {
  const live = new LiveState(
    common,
    new TrieNodeDB(() => undefined),
    new PrecompileRegistry([merkleMultiproofPrecompile]),
    blockchain,
  );
  await live.open();
  const sm = live.vm.stateManager;
  for (const [i, dev] of devs.entries()) {
    // dev 5 can afford little: some of its transfers fail the balance checks.
    const balance = i === 5 ? 30_000n * 3n * GWEI : 10n ** 22n;
    await sm.putAccount(createAddressFromString(dev.address), new Account(0n, balance));
  }
  await sm.putAccount(addr(0xc1), new Account());
  await sm.putCode(addr(0xc1), Uint8Array.of(0x00)); // STOP: takes value
  await sm.putAccount(addr(0xc2), new Account());
  await sm.putCode(addr(0xc2), hexToBytes("0x60006000fd")); // REVERT
  // A 7702 delegation on dev 3 (it may still send) and contract code on dev 4 (EIP-3607: it may not).
  await sm.putCode(createAddressFromString(devs[3].address), hexToBytes(`0xef0100${"00".repeat(19)}c1`));
  await sm.putCode(createAddressFromString(devs[4].address), Uint8Array.of(0x00));
  await sm.putAccount(addr(0xe0), new Account()); // exists and is empty (EIP-161 deletes it when touched)
  await sm.putAccount(FULL, new Account(0n, NEARLY_FULL)); // one more wei of value overflows it
  await live.vm.stateManager.getStateRoot();
  return live;
}

type Outcome = { ok: true; result: RunTxResult } | { ok: false; error: string };

async function attempt(run: () => Promise<RunTxResult>): Promise<Outcome> {
  try {
    return { ok: true, result: await run() };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}

test("plain transfers outside the EVM give runTx's state roots, receipts and fees over seeded blocks", async () => {
  assert.ok(plainTransfersApply(common), "the chain's rules allow the fast path");
  const random = mulberry32(20261130);
  const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];
  const devs = deriveDevAccounts(6);
  const fast = await openState(devs);
  const reference = await openState(devs);
  const nonces = devs.map(() => 0n);
  const fresh = Array.from({ length: 8 }, (_, i) => addr(0x5000 + i));
  const empties = [addr(0xe0), addr(0xe1)];
  const precompiles = [addr(1), addr(2), addr(0x0a), createAddressFromString(MERKLE_MULTIPROOF_ADDRESS)];
  let tookFastPath = 0;
  let ranRunTx = 0;
  let refused = 0;

  for (let number = 1n; number <= 16n; number++) {
    const baseFee = pick([7n, GWEI, 3n * GWEI]);
    // Each coinbase in turn: absent, a sender, a recipient, an empty account (emptied again before
    // each block, so a zero priority fee must leave it to EIP-161), a precompile, a contract.
    const coinbase: Address = [
      addr(0),
      createAddressFromString(devs[0].address),
      fresh[0],
      addr(0xe2),
      addr(0xe0),
      addr(1),
      addr(0xc1),
    ][Number(number) % 7];
    const block = createBlock(
      {
        header: {
          number,
          gasLimit: 30_000_000n,
          timestamp: 1_000n + number,
          baseFeePerGas: baseFee,
          coinbase,
        },
      },
      { common },
    );
    for (const live of [fast, reference]) {
      const sm = live.vm.stateManager;
      // Each block again: empty accounts (a transfer or a zero fee touching one deletes it), and
      // dev 5 with enough for a transfer at the effective price but not at its fee cap.
      for (const empty of empties)
        if ((await sm.getAccount(empty)) === undefined) await sm.putAccount(empty, new Account());
      await sm.modifyAccountFields(createAddressFromString(devs[5].address), { balance: 90_000n * GWEI });
      await sm.putAccount(addr(0xe2), new Account());
      await sm.putAccount(FULL, new Account(0n, NEARLY_FULL));
      await live.vm.evm.journal.checkpoint();
    }
    let gasFast = 0n;
    let gasReference = 0n;
    for (let i = 0; i < 50; i++) {
      // Half are ordinary transfers that the fast path should take; the rest mix in every edge case.
      // The first of each block pays no priority fee: with an empty coinbase, EIP-161 must remove it.
      const ordinary = i === 0 || random() < 0.5;
      const s = i === 0 ? 0 : ordinary ? pick([0, 1, 2, 5]) : Math.floor(random() * devs.length);
      const self = createAddressFromString(devs[s].address);
      const next = createAddressFromString(devs[(s + 1) % devs.length].address);
      const to = ordinary
        ? pick<Address | undefined>([next, self, coinbase, pick(fresh), pick(empties), FULL])
        : pick<Address | undefined>([
            next,
            self,
            coinbase,
            pick(fresh),
            pick(precompiles),
            addr(0xc1),
            addr(0xc2),
            addr(0xe0),
            undefined,
          ]);
      const value = ordinary ? pick([0n, 1n, GWEI * 1000n]) : pick([0n, 12_345n, 10n ** 30n]);
      const type = pick([0, 1, 2, 2]);
      const nonceSkew = ordinary ? 0n : pick([0n, 0n, 1n, -1n]);
      const nonce = nonces[s] + nonceSkew < 0n ? 0n : nonces[s] + nonceSkew;
      const gasLimit = ordinary ? 21_000n : pick([21_000n, 30_000n, 20_999n]);
      const data = !ordinary && random() < 0.2 ? "0x01" : "0x";
      const accessList =
        type > 0 && !ordinary && random() < 0.2
          ? [{ address: bytesToHex(addr(0xc1).bytes), storageKeys: [] }]
          : [];
      const tip = i === 0 ? 0n : pick([0n, 0n, 1n, GWEI]);
      const caps = ordinary ? [baseFee + tip, 100n * GWEI] : [baseFee - 1n, baseFee, baseFee + tip];
      const fields =
        type === 2
          ? { maxFeePerGas: pick(caps.filter((cap) => cap >= tip)), maxPriorityFeePerGas: tip }
          : { gasPrice: ordinary ? baseFee + tip : pick([baseFee - 1n, baseFee]) };
      const tx: TypedTransaction = createTx(
        {
          type,
          chainId: 1337n,
          nonce,
          to: to ? bytesToHex(to.bytes) : undefined,
          value,
          gasLimit,
          data: data as Hex,
          ...(type > 0 ? { accessList } : {}),
          ...fields,
        },
        { common },
      ).sign(hexToBytes(devs[s].privateKey as Hex));

      const ours = await attempt(async () => {
        const quick = await plainTransfer(fast.vm, tx, block, gasFast);
        if (quick) {
          tookFastPath++;
          return quick;
        }
        ranRunTx++;
        return runTx(fast.vm, { tx, block, blockGasUsed: gasFast });
      });
      const theirs = await attempt(() => runTx(reference.vm, { tx, block, blockGasUsed: gasReference }));
      const where = `block ${number}, tx ${i} (type ${type}, from dev ${s}, to ${to ?? "none"}, value ${value})`;
      assert.equal(
        ours.ok,
        theirs.ok,
        `${where}: ${ours.ok ? "" : ours.error}${theirs.ok ? "" : theirs.error}`,
      );
      // Sender, recipient and coinbase read the same after every transaction, not only at the block's
      // end (where a later transfer could hide a difference, e.g. an empty coinbase left in place).
      for (const touched of [self, to, coinbase]) {
        if (touched === undefined) continue;
        const read = async (live: LiveState) => {
          const account = await live.vm.stateManager.getAccount(touched);
          return account ? bytesToHex(account.serialize()) : "absent";
        };
        assert.equal(await read(fast), await read(reference), `${where}: account ${touched}`);
      }
      // A refusal leaves the block's checkpoint as it was (a fault would not: the node rebuilds then).
      assert.deepEqual([fast.checkpointDepth(), reference.checkpointDepth()], [1, 1], where);
      if (!ours.ok || !theirs.ok) {
        // A refusal is runTx's own, in its words.
        assert.deepEqual(ours, theirs, where);
        refused++;
        continue;
      }
      const [a, b] = [ours.result, theirs.result];
      assert.equal(
        bytesToHex(encodeReceipt(a.receipt, tx.type)),
        bytesToHex(encodeReceipt(b.receipt, tx.type)),
        where,
      );
      assert.deepEqual(
        [a.blockGasSpent, a.totalGasSpent, a.amountSpent, a.minerValue, a.gasRefund, a.createdAddress],
        [b.blockGasSpent, b.totalGasSpent, b.amountSpent, b.minerValue, b.gasRefund, b.createdAddress],
        where,
      );
      gasFast += a.blockGasSpent;
      gasReference += b.blockGasSpent;
      nonces[s] = tx.nonce + 1n;
    }
    for (const live of [fast, reference]) await live.vm.evm.journal.commit();
    assert.equal(
      bytesToHex(await fast.vm.stateManager.getStateRoot()),
      bytesToHex(await reference.vm.stateManager.getStateRoot()),
      `state root after block ${number}`,
    );
  }
  // Both paths and the refusals were exercised.
  assert.ok(tookFastPath > 250, `fast path taken ${tookFastPath} times`);
  assert.ok(ranRunTx > 150, `runTx taken ${ranRunTx} times`);
  assert.ok(refused > 100, `${refused} refused`);
});
