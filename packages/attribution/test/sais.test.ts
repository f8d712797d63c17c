import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { suffixArray } from "../src/sais.ts";

function naive(s: Int32Array): number[] {
  const idx = [...s.keys()];
  return idx.sort((a, b) => {
    for (let d = 0; ; d++) {
      if (a + d >= s.length) return -1;
      if (b + d >= s.length) return 1;
      if (s[a + d] !== s[b + d]) return s[a + d] - s[b + d];
    }
  });
}

describe("SA-IS", () => {
  test("banana", () => {
    // b a n a n a $ with $=0, a=1, b=2, n=3
    const s = Int32Array.from([2, 1, 3, 1, 3, 1, 0]);
    assert.deepEqual([...suffixArray(s, 4)], [6, 5, 3, 1, 0, 4, 2]);
  });
  test("equals a naive sort on random strings (seeded)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 300 }), (body) => {
        const s = Int32Array.from([...body, 0]);
        assert.deepEqual([...suffixArray(s, 5)], naive(s));
      }),
      { seed: 42, numRuns: 400 },
    );
  });
  test("highly repetitive input", () => {
    const s = new Int32Array(2001).fill(1);
    s[2000] = 0;
    assert.deepEqual([...suffixArray(s, 2)], naive(s));
  });
});
