// The package's public surface is a curated list, and other code reaches ml only through it.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import * as ml from "../src/index.ts";

const root = new URL("../../../", import.meta.url).pathname;

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...sources(path));
    else if (/\.(ts|mts|mjs|js)$/.test(name)) out.push(path);
  }
  return out;
}

test("index.ts names what it exports (no export * of internals)", () => {
  const index = readFileSync(new URL("../src/index.ts", import.meta.url), "utf8");
  assert.doesNotMatch(index, /export \*/);
  for (const internal of [
    "forwardPass",
    "freeState",
    "linearForward",
    "permuteRowsForGguf",
    "TARGET_FIELD",
  ]) {
    assert.ok(!(internal in ml), `${internal} is internal`);
  }
  for (const name of ["LlamaModel", "KVCache", "Trainer", "LoraAdapter", "loadLlamaGguf", "readGgufLora"]) {
    assert.ok(name in ml, `${name} is public`);
  }
});

test("other packages and the benchmarks import @openledger/ml, not its files", () => {
  const offenders: string[] = [];
  const dirs = [
    ...readdirSync(join(root, "packages"))
      .filter((p) => p !== "ml")
      .map((p) => join(root, "packages", p)),
    join(root, "bench"),
  ];
  for (const dir of dirs) {
    for (const file of sources(dir)) {
      if (/from\s+["'][^"']*(packages\/ml\/|\.\.\/ml\/)/.test(readFileSync(file, "utf8")))
        offenders.push(file);
    }
  }
  assert.deepEqual(offenders, []);
});
