// sdk pieces that need no chain: error decoding, payout, record and debit trees, license ids, deploy planning.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { verify } from "@openledger/merkle";
import fc from "fast-check";
import {
  BaseError,
  concat,
  encodeAbiParameters,
  encodeErrorResult,
  getAddress,
  getContractAddress,
  keccak256,
  numberToHex,
  parseAbiParameters,
  zeroHash,
} from "viem";
import {
  buildDebitTree,
  buildPayoutTree,
  buildRecordTree,
  bytes32ToSpdx,
  debitLeaf,
  decodeContractError,
  OpenLedgerContractError,
  protocolDeployTransactions,
  registerErrorHints,
  revertData,
  spdxToBytes32,
  stakingAbi,
} from "../src/index.ts";

const alice = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
const bob = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC";

describe("error decoding", () => {
  const data = encodeErrorResult({ abi: stakingAbi, errorName: "UnknownOperator", args: [alice] });

  test("revert data nested in a viem error chain decodes to the custom error, with values", () => {
    const inner = Object.assign(new BaseError("execution reverted"), { data });
    const outer = new BaseError("call failed", { cause: inner });
    assert.equal(revertData(outer), data);
    const err = decodeContractError(outer, "Staking.stake");
    assert.ok(err instanceof OpenLedgerContractError);
    assert.equal(err.errorName, "UnknownOperator");
    assert.deepEqual(err.args, [alice]);
    assert.match(
      err.message,
      new RegExp(`^Staking.stake reverted: UnknownOperator\\(${alice}\\) — delegate only`),
    );
  });

  test("hints are appended; unknown selectors and non-revert errors are reported as such", () => {
    registerErrorHints({ UnknownOperator: "stake to a registered operator" }); // replaces the built-in hint
    const hinted = decodeContractError({ data }, "Staking.stake") as OpenLedgerContractError;
    assert.match(hinted.message, / — stake to a registered operator$/);
    assert.equal(hinted.hint, "stake to a registered operator");
    const unknown = decodeContractError({ data: "0xdeadbeef00" }, "X.f") as OpenLedgerContractError;
    assert.equal(unknown.errorName, "UnknownError");
    assert.match(unknown.message, /0xdeadbeef.*not in the protocol ABIs/);
    const network = new Error("socket hang up");
    assert.equal(decodeContractError(network, "X.f"), network);
  });

  test("Panic codes get a readable hint", () => {
    const panic = `0x4e487b71${(0x11).toString(16).padStart(64, "0")}` as const;
    const err = decodeContractError({ data: panic }, "X.f") as OpenLedgerContractError;
    assert.equal(err.errorName, "Panic");
    assert.match(err.message, /overflow/);
  });
});

describe("buildPayoutTree", () => {
  test("merges repeated accounts, proves every payout, totals exactly", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom(alice, bob, "0x90F79bf6EB2c4f870365E785982E1f101E93b906"),
            fc.bigInt({ min: 1n, max: 10n ** 30n }),
          ),
          {
            minLength: 1,
            maxLength: 12,
          },
        ),
        (entries) => {
          const tree = buildPayoutTree(entries.map(([account, amount]) => ({ account, amount })));
          assert.equal(
            tree.total,
            entries.reduce((s, [, a]) => s + a, 0n),
          );
          assert.equal(new Set(tree.payouts.map((p) => p.account)).size, tree.payouts.length);
          for (const p of tree.payouts) {
            const { amount, proof } = tree.proof(p.account.toLowerCase() as `0x${string}`);
            assert.equal(amount, p.amount);
            assert.ok(verify(proof, tree.root, tree.tree!.leaf(tree.payouts.indexOf(p))));
          }
        },
      ),
      { seed: 7, numRuns: 100 },
    );
  });

  test("no payouts means a zero root; bad amounts and unknown accounts are refused", () => {
    const empty = buildPayoutTree([]);
    assert.equal(empty.root, zeroHash);
    assert.equal(empty.total, 0n);
    assert.throws(() => empty.proof(alice), /no payout/);
    assert.throws(() => buildPayoutTree([{ account: alice, amount: 0n }]), /must be positive/);
    assert.throws(() => buildPayoutTree([{ account: "0x1234", amount: 1n }]), /Address/);
  });
});

describe("license ids", () => {
  test("SPDX ids round-trip through bytes32; bad ids are refused", () => {
    for (const id of ["MIT", "CC-BY-4.0", "Apache-2.0", "GPL-3.0+"])
      assert.equal(bytes32ToSpdx(spdxToBytes32(id)), id);
    assert.throws(() => spdxToBytes32(""), /SPDX/);
    assert.throws(() => spdxToBytes32("x".repeat(33)), /SPDX/);
    assert.throws(() => spdxToBytes32("MIT OR Apache"), /SPDX/);
  });
});

describe("protocolDeployTransactions", () => {
  test("nonces and CREATE addresses follow the deployer's nonce", () => {
    const deployer = alice;
    const plan = protocolDeployTransactions({ deployer, startNonce: 7 });
    plan.transactions.forEach((tx, i) => {
      assert.equal(tx.nonce, 7 + i);
      assert.equal(tx.from, getAddress(deployer));
      if (tx.kind === "deploy") {
        assert.equal(tx.to, null);
        assert.equal(tx.contractAddress, getContractAddress({ from: deployer, nonce: BigInt(7 + i) }));
      } else {
        assert.equal(tx.to, plan.addresses.staking);
      }
    });
    assert.equal(plan.addresses.token, plan.transactions[0].contractAddress);
  });

  test("a different admin adds hand-over steps; WrappedOpen has no admin to hand over", () => {
    const open = protocolDeployTransactions({ deployer: alice, params: { admin: bob } });
    assert.equal(open.transactions.filter((t) => t.label.includes("DEFAULT_ADMIN_ROLE")).length, 6);
    const wrapped = protocolDeployTransactions({ deployer: alice, params: { admin: bob, token: "wrapped" } });
    assert.equal(wrapped.transactions[0].label, "WrappedOpen");
    assert.equal(wrapped.transactions.filter((t) => t.label.includes("DEFAULT_ADMIN_ROLE")).length, 4);
    assert.throws(() => protocolDeployTransactions({ deployer: "0xnope" as `0x${string}` }), /Address/);
    const bridged = protocolDeployTransactions({ deployer: alice, params: { bridge: bob } });
    assert.equal(bridged.transactions.at(-1)!.label, "OpenToken.grantRole(BRIDGE_ROLE,bridge)");
    assert.equal(bridged.transactions.at(-1)!.to, bridged.addresses.token);
    assert.throws(
      () => protocolDeployTransactions({ deployer: alice, params: { bridge: bob, token: "wrapped" } }),
      /bridge role exists only on OpenToken/,
    );
  });
});

describe("buildRecordTree and buildDebitTree", () => {
  /** RecordTree.root in TypeScript: folds a proof up from a leaf by the bits of its index. */
  const fold = (
    leaf: { hash: `0x${string}`; sum: bigint },
    index: bigint,
    proof: readonly { hash: `0x${string}`; sum: bigint }[],
  ) =>
    proof.reduce((top, sibling, level) => {
      const [l, r] = (index >> BigInt(level)) & 1n ? [sibling, top] : [top, sibling];
      return {
        hash: keccak256(
          concat([l.hash, numberToHex(l.sum, { size: 32 }), r.hash, numberToHex(r.sum, { size: 32 })]),
        ),
        sum: l.sum + r.sum,
      };
    }, leaf);

  test("every record's proof folds to the root and its total; claims find every payout of an account", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.tuple(fc.constantFrom(alice, bob), fc.bigInt({ min: 0n, max: 10n ** 24n })), {
            maxLength: 3,
          }),
          {
            minLength: 1,
            maxLength: 9,
          },
        ),
        (raw) => {
          const records = raw.map((payouts, i) => ({
            attribution: numberToHex(i + 1, { size: 4 }),
            payouts: payouts.map(([account, amount]) => ({ account, amount })),
          }));
          const tree = buildRecordTree(records);
          assert.equal(
            tree.total,
            raw.flat().reduce((s, [, a]) => s + a, 0n),
          );
          for (let i = 0; i < records.length; i++) {
            const p = tree.proof(i);
            const leaf = {
              hash: keccak256(
                encodeAbiParameters(parseAbiParameters("bytes32, (address account, uint256 amount)[]"), [
                  p.attributionHash,
                  p.payouts,
                ]),
              ),
              sum: p.payouts.reduce((s, x) => s + x.amount, 0n),
            };
            assert.deepEqual(fold(leaf, p.index, p.proof), { hash: tree.root, sum: tree.total });
          }
          const claims = tree.claimsOf(alice);
          assert.equal(
            claims.reduce((s, c) => s + c.payouts[Number(c.entry)].amount, 0n),
            raw.flat().reduce((s, [who, a]) => (who === alice ? s + a : s), 0n),
          );
        },
      ),
      { seed: 18, numRuns: 60 },
    );
  });

  test("empty, oversized and unknown records are refused; the debits tree proves each debit", () => {
    assert.throws(() => buildRecordTree([]), /at least one record/);
    const many = Array.from({ length: 257 }, () => ({ account: alice as `0x${string}`, amount: 1n }));
    assert.throws(() => buildRecordTree([{ attribution: "0x01", payouts: many }]), /at most 256/);
    assert.throws(() => buildRecordTree([{ attribution: "0x01", payouts: [] }]).proof(1), /no record 1/);
    const debits = buildDebitTree([
      { account: alice, amount: 5n, spentAfter: 5n, voucherOnly: true },
      { account: bob, amount: 7n, spentAfter: 7n, voucherOnly: false },
      { account: alice, amount: 1n, spentAfter: 6n, voucherOnly: true },
    ]);
    assert.equal(debits.proofsOf(alice).length, 2);
    for (let i = 0; i < 3; i++) {
      const d = debits.proof(i);
      assert.ok(verify(d.proof, debits.root, debitLeaf(d)));
    }
    assert.equal(buildDebitTree([]).root, zeroHash);
  });
});
