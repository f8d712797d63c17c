// payoutsForCredits: the verifiers' payout rule (SpanVerifier._payoutsMatch); the span-v2 node e2e test
// checks a record paid by it against SpanV2Verifier on the chain.
import assert from "node:assert/strict";
import { test } from "node:test";
import { payoutsForCredits } from "../src/index.ts";

const account = (id: bigint) => `0x${id.toString(16).padStart(40, "0")}` as const;

test("one payout per credit, floor of the share, the rounding dust to the first credit", () => {
  const credits = [
    { contributionId: 2n, share: 333_334 },
    { contributionId: 5n, share: 333_333 },
    { contributionId: 9n, share: 333_333 },
  ];
  const payouts = payoutsForCredits(credits, 100n, account);
  assert.deepEqual(payouts, [
    { account: account(2n), amount: 34n },
    { account: account(5n), amount: 33n },
    { account: account(9n), amount: 33n },
  ]);
  assert.equal(
    payouts.reduce((a, p) => a + p.amount, 0n),
    100n,
  );
});

test("two credits of one contributor stay two payouts; large totals are exact", () => {
  const total = 10n ** 30n + 7n;
  const payouts = payoutsForCredits(
    [
      { contributionId: 1n, share: 1 },
      { contributionId: 3n, share: 999_999 },
    ],
    total,
    () => account(7n),
  );
  assert.equal(payouts.length, 2);
  assert.equal(payouts[1].amount, (total * 999_999n) / 1_000_000n);
  assert.equal(payouts[0].amount + payouts[1].amount, total);
});

test("no credits pay nothing; a negative total is refused", () => {
  assert.deepEqual(payoutsForCredits([], 100n, account), []);
  assert.throws(
    () => payoutsForCredits([{ contributionId: 1n, share: 1_000_000 }], -1n, account),
    RangeError,
  );
});
