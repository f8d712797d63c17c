import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { hexToBytes, keccak256, type TransactionSerializable, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { createNode } from "../src/index.ts";
import { senderAddress } from "../src/senderAddress.ts";
import { tempDir } from "./helpers.ts";

/** Seeded private keys: keccak of "sender-<seed>-<i>" (valid secp256k1 scalars with overwhelming odds). */
function seededKeys(seed: number, n: number): `0x${string}`[] {
  return Array.from({ length: n }, (_, i) => keccak256(toHex(`sender-${seed}-${i}`)));
}

describe("sender address", () => {
  test("is the signer's address for 200 seeded keys", () => {
    for (const key of seededKeys(1, 200)) {
      const account = privateKeyToAccount(key);
      const pub = hexToBytes(account.publicKey).subarray(1);
      assert.equal(senderAddress(pub).toString(), account.address.toLowerCase());
    }
    assert.throws(
      () => senderAddress(new Uint8Array(65)),
      /invalid sender: a public key of 65 bytes, not 64/,
    );
  });

  test("admission names the signer of every transaction type (seeded keys, viem-signed)", async () => {
    const tmp = tempDir();
    const node = await createNode({ datadir: tmp.dir, blockTime: 0 });
    try {
      // A fee under the base fee is refused after the sender is known, and the refusal names it.
      const kinds: TransactionSerializable[] = [
        { type: "legacy", chainId: 1337, gasPrice: 1n },
        { type: "legacy", gasPrice: 1n }, // pre-EIP-155
        { type: "eip2930", chainId: 1337, gasPrice: 1n, accessList: [] },
        { type: "eip1559", chainId: 1337, maxFeePerGas: 1n, maxPriorityFeePerGas: 0n },
      ];
      for (const [i, key] of seededKeys(2, 24).entries()) {
        const account = privateKeyToAccount(key);
        const raw = await account.signTransaction({
          ...kinds[i % kinds.length],
          nonce: i,
          gas: 21000n,
          to: "0x00000000000000000000000000000000000000aa",
          value: 1n,
        } as TransactionSerializable);
        await assert.rejects(node.sendRawTransaction(hexToBytes(raw)), (err: Error) =>
          err.message.includes(`address ${account.address.toLowerCase()},`),
        );
      }
      // Funded: the pool entry and the transaction carry the sender.
      const dev = node.devAccounts[3];
      const account = privateKeyToAccount(dev.privateKey as `0x${string}`);
      const raw = await account.signTransaction({
        type: "eip1559",
        chainId: 1337,
        nonce: 0,
        gas: 21000n,
        maxFeePerGas: 10n ** 10n,
        maxPriorityFeePerGas: 1n,
        to: "0x00000000000000000000000000000000000000aa",
      });
      const hash = await node.sendRawTransaction(hexToBytes(raw));
      const entry = node.pool.get(hash);
      assert.equal(entry?.sender, account.address.toLowerCase());
      assert.equal(entry?.tx.getSenderAddress().toString(), account.address.toLowerCase());
    } finally {
      await node.close();
      tmp.remove();
    }
  });
});
