import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import {
  GradientError,
  GradientStore,
  GradientStoreBuilder,
  gradV1,
  IndexFormatError,
  quantizeGradient,
} from "../src/index.ts";

function handStore(): Uint8Array {
  const b = new GradientStoreBuilder({
    dims: 2,
    learningRates: [0.5, 0.25],
    contributionIds: [1n, 2n, 1n, 3n],
  });
  const grads = [
    [
      [1, 0],
      [-1, 0],
      [0.5, 0.5],
      [0, 2],
    ],
    [
      [0, 1],
      [0, -1],
      [0, 0],
      [1, 1],
    ],
  ];
  for (const [c, perExample] of grads.entries()) for (const [e, g] of perExample.entries()) b.set(c, e, g);
  return b.toBuffer();
}

describe("grad-v1", () => {
  test("hand-computed TracIn influence, clipping and shares", () => {
    const r = gradV1(
      [
        [1, 1],
        [1, 2],
      ],
      GradientStore.load(handStore()),
    );
    // contribution 1: (0.5*1 + 0.25*2) + (0.5*1 + 0) = 1.5; 2: -1 (clipped); 3: 0.5*2 + 0.25*3 = 1.75
    const ONE = 1n << 64n;
    assert.deepEqual(
      r.credits.map((c) => [c.contributionId, c.influence, c.share]),
      [
        [1n, (3n * ONE) / 2n, 461538],
        [3n, (7n * ONE) / 4n, 538462],
      ],
    );
    assert.deepEqual(
      r.signed.map((x) => x.influence),
      [(3n * ONE) / 2n, -ONE, (7n * ONE) / 4n],
    );
  });

  test("nothing positive: no credits", () => {
    const r = gradV1(
      [
        [-1, -1],
        [-1, -2],
      ],
      GradientStore.load(handStore()),
    );
    // contribution 2 is now positive (1.0), 1 and 3 negative
    assert.deepEqual(
      r.credits.map((c) => [c.contributionId, c.share]),
      [[2n, 1_000_000]],
    );
    assert.deepEqual(
      gradV1(
        [
          [0, 0],
          [0, 0],
        ],
        GradientStore.load(handStore()),
      ).credits,
      [],
    );
  });

  test("deterministic and the commitment binds query and store", () => {
    const store = GradientStore.load(handStore());
    const a = gradV1(
      [
        [1, 1],
        [1, 2],
      ],
      store,
    );
    assert.deepEqual(
      a,
      gradV1(
        [
          [1, 1],
          [1, 2],
        ],
        GradientStore.load(handStore().slice()),
      ),
    );
    assert.notEqual(
      a.commitment,
      gradV1(
        [
          [1, 1],
          [1, 2.5],
        ],
        store,
      ).commitment,
    );
  });

  test("exact integer dot products agree with BigInt arithmetic on random int32 gradients (seeded)", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }).chain((dims) =>
          fc.tuple(
            fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), {
              minLength: dims,
              maxLength: dims,
            }),
            fc.array(fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), {
              minLength: dims,
              maxLength: dims,
            }),
          ),
        ),
        ([q, g]) => {
          const dims = q.length;
          const b = new GradientStoreBuilder({ dims, learningRates: [1], contributionIds: [7n] });
          b.set(
            0,
            0,
            g.map((x) => x / 2 ** 16),
          );
          const r = gradV1([q.map((x) => x / 2 ** 16)], GradientStore.load(b.toBuffer()));
          const expected = q.reduce((acc, x, d) => acc + BigInt(x) * BigInt(g[d]), 0n) * (1n << 32n);
          if (expected > 0n) assert.equal(r.credits[0].influence, expected);
          else assert.deepEqual(r.credits, []);
        },
      ),
      { seed: 99, numRuns: 300 },
    );
  });

  test("hostile input is rejected", () => {
    assert.throws(() => quantizeGradient(Number.NaN), GradientError);
    assert.throws(() => quantizeGradient(40_000), /overflows int32/);
    const b = new GradientStoreBuilder({ dims: 2, learningRates: [0.1], contributionIds: [1n] });
    assert.throws(() => b.set(0, 0, [1]), /1 components/);
    assert.throws(() => b.toBuffer(), /no gradient for example 0 at checkpoint 0/);
    assert.throws(
      () => new GradientStoreBuilder({ dims: 2, learningRates: [-1], contributionIds: [1n] }),
      /learning rate/,
    );
    const file = handStore();
    assert.throws(() => GradientStore.load(file.subarray(0, file.length - 4)), IndexFormatError);
    assert.throws(() => gradV1([[1, 1]], GradientStore.load(file)), /one query gradient per checkpoint/);
    assert.throws(() => gradV1([[1, 1], [1]], GradientStore.load(file)), /1 components/);
  });
});
