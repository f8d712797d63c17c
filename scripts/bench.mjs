// Runs every benchmark under bench/ (files named *.bench.ts), one after another, each in its own
// process. `npm run bench -- chain` runs only the benchmarks whose file name contains "chain".
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const benchDir = new URL("../bench", import.meta.url).pathname;
const filter = process.argv[2] ?? "";
const files = readdirSync(benchDir)
  .filter((f) => f.endsWith(".bench.ts") && f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches "${filter}"`);
  process.exit(1);
}
let failed = 0;
for (const file of files) {
  console.log(`\n=== ${file} ===`);
  const run = spawnSync(process.execPath, ["--import", "tsx", join(benchDir, file)], { stdio: "inherit" });
  if (run.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
