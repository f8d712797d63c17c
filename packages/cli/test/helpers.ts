// Runs the real `openledger` binary as a subprocess, as a user would, and starts the dev L2 it talks to.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { RunningNode } from "@openledger/chain";

export const BIN = resolve(fileURLToPath(import.meta.url), "../../bin/openledger.js");
export const REPO_ROOT = resolve(fileURLToPath(import.meta.url), "../../../..");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without OPENLEDGER_* variables (so a developer's settings do not leak in). */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("OPENLEDGER_")) env[k] = v;
  return { ...env, ...extra };
}

/** Runs the binary with `args`; `stdin`, when given, is written to it and closed. */
export function runCli(
  args: string[],
  options: { env?: Record<string, string>; cwd?: string; stdin?: string } = {},
): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? mkdtempSync(join(tmpdir(), "openledger-cli-")),
      env: cleanEnv(options.env),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
    if (options.stdin !== undefined) child.stdin.end(options.stdin);
  });
}

/** The L2 node as `openledger up --automine` runs it, in `dir`: protocol predeployed, deployments in dir/deployments. */
export async function startDevL2(dir: string): Promise<RunningNode> {
  // loaded here, so the tests that only run the binary do not load the chain
  const { startL2Node } = await import("../src/genesis.ts");
  const { createLogger } = await import("../src/log.ts");
  return startL2Node({
    datadir: join(dir, "chain"),
    port: 0,
    host: "127.0.0.1",
    blockTime: 0,
    automine: true,
    chainId: 1337n,
    deployments: join(dir, "deployments"),
    predeploy: true,
    log: createLogger({ quiet: true }),
  });
}

export const lines = (text: string) => text.split("\n").filter((l) => l.trim());

/** A failed run: non-zero exit, exactly one stderr line starting with "error: ", matching `pattern`. */
export function assertOneLineError(run: Run, pattern: RegExp): void {
  assert.notEqual(run.code, 0, `expected failure, got exit 0: ${run.stdout}`);
  const errLines = lines(run.stderr);
  assert.equal(errLines.length, 1, `expected one stderr line, got:\n${run.stderr}`);
  assert.match(errLines[0], /^error: /);
  assert.match(errLines[0], pattern);
}
