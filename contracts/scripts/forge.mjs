// Runs Foundry's forge for this platform with the given arguments and exits with its status. The
// binary is found as @openledger/devnet finds anvil (the npm wrapper node_modules/.bin/forge exits 0
// even when forge fails, so a failing test run would pass).
import { spawnSync } from "node:child_process";
import { register } from "tsx/esm/api";

register();
const { foundryBinaryPath } = await import("@openledger/devnet");
let forge;
try {
  forge = foundryBinaryPath("forge");
} catch (err) {
  console.error(`error: ${err.message}`);
  process.exit(1);
}
const run = spawnSync(forge, process.argv.slice(2), { stdio: "inherit" });
if (run.error) {
  console.error(`error: could not run ${forge}: ${run.error.message}`);
  process.exit(1);
}
process.exit(run.status ?? 1);
