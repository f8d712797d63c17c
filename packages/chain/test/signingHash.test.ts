import assert from "node:assert/strict";
import { test } from "node:test";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex } from "@ethereumjs/util";
import { createChainCommon, createSharedCommon } from "../src/index.ts";
import { typedSigningHash } from "../src/signingHash.ts";

const common = createSharedCommon(createChainCommon(1337n));

/** Seeded LCG bytes. */
function rng(seed: number): (n: number) => Uint8Array {
  let s = seed;
  return (n) =>
    Uint8Array.from({ length: n }, () => {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      return s & 0xff;
    });
}

test("typedSigningHash is @ethereumjs's signing hash for seeded typed transactions (types 1, 2, 4)", () => {
  const bytes = rng(11);
  const big = (n: number) => (n === 0 ? 0n : BigInt(bytesToHex(bytes(n))));
  // v, r, s sizes on both sides of RLP's single-byte and short-string rules.
  const sigValues = [0n, 1n, 0x7fn, 0x80n, 0xffn, 2n ** 248n - 1n, 2n ** 254n + 5n];
  for (let i = 0; i < 300; i++) {
    const type = [1, 2, 4][i % 3];
    const dataLength = [0, 1, 40, 56, 200, 1100][i % 6];
    const accessList = Array.from({ length: i % 4 }, () => ({
      address: bytesToHex(bytes(20)),
      storageKeys: Array.from({ length: i % 3 }, () => bytesToHex(bytes(32))),
    }));
    const tip = big(i % 8);
    const tx = createTx(
      {
        type,
        chainId: 1337n,
        nonce: big(i % 9),
        gasLimit: 21000n + big(i % 4),
        gasPrice: type === 1 ? big(1 + (i % 8)) : undefined,
        maxFeePerGas: type !== 1 ? tip + big(1 + (i % 8)) : undefined,
        maxPriorityFeePerGas: type !== 1 ? tip : undefined,
        to: type === 4 || i % 5 !== 0 ? bytesToHex(bytes(20)) : undefined,
        value: big(i % 33),
        data: bytesToHex(bytes(dataLength)),
        accessList,
        authorizationList:
          type === 4
            ? [
                {
                  chainId: "0x539",
                  address: bytesToHex(bytes(20)),
                  nonce: "0x1",
                  yParity: "0x1",
                  r: bytesToHex(bytes(32)),
                  s: bytesToHex(bytes(31)),
                },
              ]
            : undefined,
        v: sigValues[i % 2],
        r: sigValues[i % sigValues.length],
        s: sigValues[(i * 3) % sigValues.length] || 1n,
      },
      { common },
    );
    const got = typedSigningHash(tx);
    assert.ok(got, `tx ${i} (type ${type}) has a signing hash`);
    assert.equal(bytesToHex(got), bytesToHex(tx.getMessageToVerifySignature()), `tx ${i} (type ${type})`);
  }
});

test("typedSigningHash leaves legacy and unsigned transactions to @ethereumjs", () => {
  const legacy = createTx({ type: 0, gasLimit: 21000n, gasPrice: 1n, v: 2709n, r: 1n, s: 1n }, { common });
  assert.equal(typedSigningHash(legacy), undefined);
  const unsigned = createTx({ type: 2, gasLimit: 21000n, maxFeePerGas: 1n }, { common });
  assert.equal(typedSigningHash(unsigned), undefined);
});
