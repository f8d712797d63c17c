import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { PayloadTooLargeError, RateLimitError } from "../src/errors.ts";
import { RateLimiter } from "../src/limits.ts";

describe("per-contributor limits", () => {
  const limits = {
    maxUploadBytes: 1000,
    maxContributionsPerWindow: 3,
    maxBytesPerWindow: 2500,
    windowMs: 60_000,
  };

  test("count, bytes and single-upload size limits, per contributor, within a sliding window", () => {
    let now = 1_000_000;
    const limiter = new RateLimiter(limits, () => now);
    assert.throws(() => limiter.check("0xA", 1001), PayloadTooLargeError);
    for (let i = 0; i < 3; i++) {
      limiter.check("0xA", 100);
      limiter.record("0xA", 100);
    }
    assert.throws(
      () => limiter.check("0xA", 100),
      (e: unknown) => e instanceof RateLimitError && /3 contributions/.test(e.message),
    );
    limiter.check("0xB", 100); // another contributor is unaffected
    now += 60_001;
    limiter.check("0xa", 100); // window slid; addresses compare case-insensitively
    limiter.record("0xA", 900);
    limiter.record("0xA", 900);
    assert.throws(
      () => limiter.check("0xA", 900),
      (e: unknown) => e instanceof RateLimitError && /2500 bytes/.test(e.message),
    );
  });
});
