import assert from "node:assert/strict";
import { test } from "node:test";
// @ts-expect-error: a plain .mjs script without type declarations
import { checkLayers } from "../../../scripts/check-layers.mjs";

test("the workspaces import each other through entry points, down the layer map, without a cycle", () => {
  const { problems } = checkLayers() as { problems: string[] };
  assert.deepEqual(problems, [], "see docs/ARCHITECTURE.md for the layer map");
});
