import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import { test } from "node:test";

const script = new URL("../scripts/build-kernels.mjs", import.meta.url).pathname;
const wasm = new URL("../build/kernels.wasm", import.meta.url).pathname;

function build(): string {
  const run = spawnSync(process.execPath, [script, "--verbose"], { encoding: "utf8" });
  assert.equal(run.status, 0, run.stderr);
  return run.stdout;
}

test("a second kernel build in a row does nothing", () => {
  build(); // builds only if the sources changed since the last build
  const before = statSync(wasm).mtimeMs;
  assert.match(build(), /up to date, nothing to build/);
  assert.equal(statSync(wasm).mtimeMs, before);
});
