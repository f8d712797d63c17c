import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { PermissionError } from "../src/errors.ts";
import { contributionTypedData, verifyContributionSignature } from "../src/signature.ts";

const alice = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const mallory = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const };
const contentHash = keccak256(toHex("some contribution"));

describe("EIP-712 contributor signatures", () => {
  test("the contributor's own signature verifies", async () => {
    const signature = await alice.signTypedData(contributionTypedData(domain, 1n, contentHash));
    await verifyContributionSignature({
      domain,
      datanetId: 1n,
      contentHash,
      contributor: alice.address,
      signature,
    });
  });

  test("forged: signed by someone else, or over another Datanet or content", async () => {
    const byMallory = await mallory.signTypedData(contributionTypedData(domain, 1n, contentHash));
    await assert.rejects(
      verifyContributionSignature({
        domain,
        datanetId: 1n,
        contentHash,
        contributor: alice.address,
        signature: byMallory,
      }),
      (err: unknown) => err instanceof PermissionError && /not by contributor/.test(err.message),
    );
    const good = await alice.signTypedData(contributionTypedData(domain, 1n, contentHash));
    await assert.rejects(
      verifyContributionSignature({
        domain,
        datanetId: 2n,
        contentHash,
        contributor: alice.address,
        signature: good,
      }),
      PermissionError,
    );
    await assert.rejects(
      verifyContributionSignature({
        domain: { ...domain, chainId: 1 },
        datanetId: 1n,
        contentHash,
        contributor: alice.address,
        signature: good,
      }),
      PermissionError,
    );
    await assert.rejects(
      verifyContributionSignature({
        domain,
        datanetId: 1n,
        contentHash,
        contributor: alice.address,
        signature: "0x1234",
      }),
      /65-byte/,
    );
  });
});
