#!/usr/bin/env node
// Entry shim: the CLI is written in TypeScript and run through tsx's loader, so no build step
// stands between a source change and `npx openledger`. What the sources need generated (the
// compiled contracts and the sdk's typed ABIs, both git-ignored) is built here on the first run
// after `npm ci`, so every command works without a separate `npm run build`.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const generated = ["contracts/out/artifacts.json", "packages/sdk/src/generated/abis.ts"];
const onlyHelp = process.argv.slice(2).some((a) => ["-h", "--help", "-V", "--version"].includes(a));

if (!onlyHelp && generated.some((file) => !existsSync(root + file))) {
  process.stderr.write(
    "openledger: first run after install: compiling the contracts and generating the sdk's ABIs (once; about a minute)\n",
  );
  // build output goes to stderr so that a command's stdout (e.g. --json) stays clean
  const build = spawnSync(process.execPath, [`${root}scripts/build.mjs`, "contracts", "packages/sdk"], {
    cwd: root,
    stdio: ["ignore", 2, 2],
  });
  if (build.status !== 0 || generated.some((file) => !existsSync(root + file))) {
    process.stderr.write(
      "error: building the contracts failed; run `npm run build` in the repository root and fix what it reports\n",
    );
    process.exit(1);
  }
}

register();
await import("../src/main.ts");
