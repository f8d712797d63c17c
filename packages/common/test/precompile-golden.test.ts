import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { GOLDEN_FILE, goldenSolidity } from "./precompile-golden.ts";

test("the Solidity precompile-address test is what the TypeScript addresses generate", () => {
  assert.equal(
    readFileSync(GOLDEN_FILE, "utf8"),
    goldenSolidity(),
    "regenerate with: node --import tsx packages/common/test/precompile-golden.ts",
  );
});
