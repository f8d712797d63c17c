// Builds the workspaces that have a build step, in dependency order: the contracts first
// (their ABIs feed the sdk's generated code), then the sdk, then the WebAssembly kernels.
// `node scripts/build.mjs contracts packages/sdk` builds only the named workspaces (still in order).
// Each step skips what is up to date.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

const order = [
  "contracts",
  "packages/sdk",
  "packages/ml",
  "packages/chain",
  "packages/datanet",
  "packages/attribution",
  "packages/cli",
];
const only = process.argv.slice(2);
const unknown = only.filter((dir) => !order.includes(dir));
if (unknown.length > 0) {
  console.error(`build: unknown workspace ${unknown.join(", ")} (one of ${order.join(", ")})`);
  process.exit(1);
}

for (const dir of order) {
  if (only.length > 0 && !only.includes(dir)) continue;
  const pkg = JSON.parse(readFileSync(new URL(`../${dir}/package.json`, import.meta.url), "utf8"));
  if (!pkg.scripts?.build) continue;
  const run = spawnSync("npm", ["run", "build", "--silent", "--workspace", dir], { stdio: "inherit" });
  if (run.status !== 0) {
    console.error(`build failed in ${dir} (exit ${run.status})`);
    process.exit(1);
  }
}
