// Builds the WebAssembly kernels (plain SIMD and relaxed SIMD) with AssemblyScript, only when something
// that goes into them changed: the sources under assembly/, the compiler version or the flags. A stamp
// file next to the outputs records the hash of those inputs; `--force` rebuilds anyway.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const build = join(root, "build");
const stampPath = join(build, "kernels.stamp.json");
const common = [
  "assembly/index.ts",
  "-O3",
  "--runtime",
  "stub",
  "--noAssert",
  "--importMemory",
  "--sharedMemory",
  "--memoryBase",
  "16384",
  "--initialMemory",
  "1",
  "--maximumMemory",
  "65536",
  "--enable",
  "simd",
  "--enable",
  "threads",
];
const targets = [
  { out: "build/kernels.wasm", flags: [] },
  { out: "build/kernels-relaxed.wasm", flags: ["--enable", "relaxed-simd"] },
];

const require = createRequire(import.meta.url);
const ascPackage = require.resolve("assemblyscript/package.json");
const ascVersion = JSON.parse(readFileSync(ascPackage, "utf8")).version;
const asc = join(dirname(ascPackage), "bin", "asc.js");

const hash = createHash("sha256");
hash.update(`asc ${ascVersion}\n${JSON.stringify({ common, targets })}\n`);
const sources = readdirSync(join(root, "assembly"))
  .filter((f) => f.endsWith(".ts"))
  .sort();
for (const f of sources) {
  hash.update(`${f}\n`);
  hash.update(readFileSync(join(root, "assembly", f)));
}
const inputs = hash.digest("hex");

let stamp = null;
try {
  stamp = JSON.parse(readFileSync(stampPath, "utf8"));
} catch {
  // no stamp yet: build
}
const upToDate =
  !process.argv.includes("--force") &&
  stamp?.inputs === inputs &&
  targets.every((t) => existsSync(join(root, t.out)));
if (upToDate) {
  if (process.argv.includes("--verbose")) console.log("ml kernels: up to date, nothing to build");
  process.exit(0);
}

mkdirSync(build, { recursive: true });
for (const t of targets) {
  const run = spawnSync(process.execPath, [asc, ...common, ...t.flags, "--outFile", t.out], {
    cwd: root,
    stdio: "inherit",
  });
  if (run.status !== 0) {
    console.error(`ml kernels: asc failed for ${t.out} (exit ${run.status})`);
    process.exit(1);
  }
}
writeFileSync(stampPath, `${JSON.stringify({ inputs, asc: ascVersion }, null, 2)}\n`);
console.log(`ml kernels: built ${targets.map((t) => t.out).join(", ")}`);
