// CLI start-up: how long `openledger` takes from process start to its answer, beside Foundry's cast
// (the command-line a user would otherwise reach for) answering the same balance query, on a local
// anvil. Median of RUNS runs each, every run a fresh process. `npm run bench -- cli`.
// Env: CLI_BENCH_RUNS (default 7).
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { devAccounts } from "@openledger/common";
import { foundryBinaryPath, startAnvil } from "@openledger/devnet";

const RUNS = Number(process.env.CLI_BENCH_RUNS ?? 7);
const BIN = fileURLToPath(new URL("../packages/cli/bin/openledger.js", import.meta.url));
const CAST = foundryBinaryPath("cast");
const cwd = mkdtempSync(join(tmpdir(), "cli-bench-"));

function medianMs(command: string, args: string[]): number {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const start = process.hrtime.bigint();
    const run = spawnSync(command, args, { cwd, encoding: "utf8" });
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (run.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${run.stderr}`);
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

const anvil = await startAnvil();
try {
  const who = devAccounts[1].address;
  const rows: [string, number, number | undefined][] = [
    ["node -e 0 (floor)", medianMs(process.execPath, ["-e", "0"]), undefined],
    ["openledger --help", medianMs(process.execPath, [BIN, "--help"]), undefined],
    ["openledger accounts", medianMs(process.execPath, [BIN, "accounts"]), undefined],
    [
      "balance of an address",
      medianMs(process.execPath, [BIN, "balance", who, "--rpc", anvil.rpcUrl]),
      medianMs(CAST, ["balance", who, "--rpc-url", anvil.rpcUrl]),
    ],
  ];
  console.log(`cli: median of ${RUNS} fresh processes each (ratio > 1: openledger slower than cast)`);
  console.log(
    `${"".padEnd(26)}${"openledger ms".padStart(14)}${"cast ms".padStart(10)}${"ratio".padStart(8)}`,
  );
  for (const [name, ours, peer] of rows) {
    console.log(
      `${name.padEnd(26)}${ours.toFixed(0).padStart(14)}${(peer?.toFixed(0) ?? "").padStart(10)}${(peer ? (ours / peer).toFixed(1) : "").padStart(8)}`,
    );
  }
} finally {
  await anvil.stop();
}
