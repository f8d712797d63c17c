// @openledger/merkle against OpenZeppelin's MerkleProof.sol running in a real EVM (anvil).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type Anvil, devAccounts, startAnvil } from "@openledger/devnet";
import {
  chunkContentHash,
  chunkLeaf,
  MerkleTree,
  processMultiProof,
  processProof,
  settlementLeaf,
} from "@openledger/merkle";
import fc from "fast-check";
import {
  type Address,
  createPublicClient,
  createWalletClient,
  type Hex,
  http,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { compileFixtures } from "./fixtures.ts";

const SEED = 4242;
const bytes32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `0x${Buffer.from(b).toString("hex")}` as Hex);

describe("merkle agrees with OpenZeppelin MerkleProof.sol", () => {
  let anvil: Anvil;
  let client: PublicClient;
  let harness: Address;
  const { abi, bytecode } = compileFixtures().MerkleProofHarness;
  const call = (functionName: string, args: unknown[]) =>
    client.readContract({ address: harness, abi, functionName, args }) as Promise<unknown>;

  before(async () => {
    anvil = await startAnvil();
    client = createPublicClient({ transport: http(anvil.rpcUrl) });
    const wallet = createWalletClient({
      account: privateKeyToAccount(devAccounts[0].privateKey),
      transport: http(anvil.rpcUrl),
    });
    const hash = await wallet.deployContract({ abi, bytecode, chain: null });
    harness = (await client.waitForTransactionReceipt({ hash })).contractAddress as Address;
  });
  after(() => anvil?.stop());

  test("leaf encodings match abi.encode + double keccak", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 20, maxLength: 20 }),
        fc.bigInt({ min: 0n, max: (1n << 256n) - 1n }),
        fc.nat(2 ** 32 - 1),
        fc.string(),
        async (addr, amount, chunkIndex, text) => {
          const account = `0x${Buffer.from(addr).toString("hex")}` as Address;
          assert.equal(await call("settlementLeaf", [account, amount]), settlementLeaf(account, amount));
          const content = chunkContentHash(text);
          assert.equal(
            await call("chunkLeaf", [amount, chunkIndex, content]),
            chunkLeaf(amount, chunkIndex, content),
          );
        },
      ),
      { seed: SEED, numRuns: 25 },
    );
  });

  test("single proofs: same root, same verdict", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(bytes32, { minLength: 1, maxLength: 33 }), fc.nat(), async (leaves, pick) => {
        const tree = MerkleTree.build(leaves);
        const k = pick % leaves.length;
        const proof = tree.proof(k);
        assert.equal(await call("processProof", [proof, leaves[k]]), processProof(proof, leaves[k]));
        assert.equal(await call("verify", [proof, tree.root, leaves[k]]), true);
        const wrong = leaves[(k + 1) % leaves.length];
        if (wrong !== leaves[k]) assert.equal(await call("verify", [proof, tree.root, wrong]), false);
      }),
      { seed: SEED, numRuns: 30 },
    );
  });

  test("multiproofs of random subsets: same root", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(bytes32, { minLength: 1, maxLength: 33 }),
        fc.array(fc.nat()),
        async (leaves, picks) => {
          const tree = MerkleTree.build(leaves);
          const multi = tree.multiProof([...new Set(picks.map((p) => p % leaves.length))]);
          const onChain = await call("processMultiProof", [multi.proof, multi.proofFlags, multi.leaves]);
          assert.equal(onChain, tree.root);
          assert.equal(processMultiProof(multi), tree.root);
        },
      ),
      { seed: SEED, numRuns: 30 },
    );
  });

  test("malformed multiproofs: both sides refuse or agree", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(bytes32, { maxLength: 4 }),
        fc.array(bytes32, { maxLength: 4 }),
        fc.array(fc.boolean(), { maxLength: 6 }),
        async (leaves, proof, proofFlags) => {
          let ours: Hex | "error";
          try {
            ours = processMultiProof({ leaves, proof, proofFlags });
          } catch {
            ours = "error";
          }
          let theirs: unknown;
          try {
            theirs = await call("processMultiProof", [proof, proofFlags, leaves]);
          } catch {
            theirs = "error";
          }
          assert.equal(ours, theirs);
        },
      ),
      { seed: SEED, numRuns: 60 },
    );
  });
});
