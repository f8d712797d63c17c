#!/usr/bin/env node
// Entry shim: the CLI is written in TypeScript and run through tsx's loader, so no build step
// stands between a source change and `npx openledger`. What the sources need generated (the
// compiled contracts, the sdk's typed ABIs and the WebAssembly kernels, all git-ignored) is built
// here on the first run after `npm ci`, so every command works without a separate `npm run build`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const generated = [
  "contracts/out/artifacts.json",
  "packages/sdk/src/generated/abis.ts",
  "packages/ml/build/kernels.wasm",
];
const onlyHelp = process.argv.slice(2).some((a) => ["-h", "--help", "-V", "--version"].includes(a));

if (!onlyHelp && generated.some((file) => !existsSync(root + file))) {
  process.stderr.write(
    "openledger: first run after install: compiling the contracts, the sdk's ABIs and the WebAssembly kernels (once; about a minute)\n",
  );
  // build output goes to stderr so that a command's stdout (e.g. --json) stays clean
  const steps = ["contracts", "packages/sdk", "packages/ml"];
  const build = spawnSync(process.execPath, [`${root}scripts/build.mjs`, ...steps], {
    cwd: root,
    stdio: ["ignore", 2, 2],
  });
  if (build.status !== 0 || generated.some((file) => !existsSync(root + file))) {
    process.stderr.write(
      "error: the first-run build failed; run `npm run build` in the repository root and fix what it reports\n",
    );
    process.exit(1);
  }
}

register();
await import("../src/main.ts");
