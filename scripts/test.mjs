// Runs every test suite: the Solidity suites (forge, through the contracts workspace) and then all
// TypeScript tests under packages/*/test with node's test runner.
// `node scripts/test.mjs packages/chain` limits the TypeScript run to the given folders.
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);

function testFiles(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (name === "node_modules" || name === "fixtures") continue;
    if (statSync(path).isDirectory()) found.push(...testFiles(path));
    else if (name.endsWith(".test.ts")) found.push(path);
  }
  return found;
}

if (only.length === 0) {
  const contracts = JSON.parse(readFileSync(join(root, "contracts/package.json"), "utf8"));
  if (contracts.scripts?.test) {
    const forge = spawnSync("npm", ["run", "test", "--silent", "--workspace", "contracts"], {
      stdio: "inherit",
    });
    if (forge.status !== 0) {
      console.error(`contract tests failed (exit ${forge.status})`);
      process.exit(1);
    }
  }
}

const dirs = only.length ? only : readdirSync(join(root, "packages")).map((p) => join("packages", p));
const files = dirs.flatMap((d) => {
  const testDir = join(root, d, "test");
  try {
    return testFiles(testDir);
  } catch {
    return [];
  }
});
if (files.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const node = spawnSync(
  process.execPath,
  ["--import", "tsx", "--test", "--test-concurrency=2", "--test-timeout=600000", ...files],
  { stdio: "inherit", cwd: root },
);
process.exit(node.status ?? 1);
