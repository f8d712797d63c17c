import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { NodeArgsError, parseNodeArgs } from "../src/nodeArgs.ts";
import { rpc, tempDir } from "./helpers.ts";

const BIN = fileURLToPath(new URL("../src/bin.ts", import.meta.url));

test("parseNodeArgs: defaults and every option", () => {
  assert.deepEqual(parseNodeArgs(["--datadir", "d"]), {
    datadir: "d",
    port: 8545,
    host: "127.0.0.1",
    blockTime: 1,
    automine: false,
    chainId: undefined,
    blockGasLimit: undefined,
    recoveryThreads: undefined,
    rebuildState: false,
  });
  const all = parseNodeArgs(
    "--datadir d --port 0 --block-time 0.2 --automine --chain-id 42 --gas-limit 1000000000 --recovery-threads 0 --rebuild-state".split(
      " ",
    ),
  );
  assert.equal(all.port, 0);
  assert.equal(all.blockTime, 0.2);
  assert.equal(all.chainId, 42n);
  assert.equal(all.blockGasLimit, 1_000_000_000n);
  assert.equal(all.recoveryThreads, 0);
  assert.equal(all.automine && all.rebuildState, true);
});

test("parseNodeArgs: malformed or out-of-range values name the option", () => {
  const bad: [string[], RegExp][] = [
    [[], /--datadir is required/],
    [["--gas-limit", "1e9"], /--gas-limit must be a decimal integer, got "1e9"/],
    [["--gas-limit", "-5"], /--gas-limit/],
    [["--gas-limit", "0x10"], /--gas-limit must be a decimal integer/],
    [["--gas-limit", "20999"], /--gas-limit must be between 21000 and 9223372036854775807, got 20999/],
    [["--gas-limit", "9223372036854775808"], /--gas-limit must be between/],
    [["--gas-limit", "9".repeat(400)], /--gas-limit must be a decimal integer/],
    [["--port", "65536"], /--port must be between 0 and 65535/],
    [["--port", "80x"], /--port must be a decimal integer/],
    [["--block-time", "abc"], /--block-time must be a non-negative number of seconds/],
    [["--block-time", "100000"], /--block-time must be at most 86400/],
    [["--chain-id", "0"], /--chain-id must be between 1/],
    [["--recovery-threads", "1.5"], /--recovery-threads must be a decimal integer/],
    [["--bogus"], /Unknown option '--bogus'/],
  ];
  for (const [argv, message] of bad) {
    const withDir = argv.length === 0 ? argv : ["--datadir", "d", ...argv];
    assert.throws(
      () => parseNodeArgs(withDir),
      (err: unknown) => err instanceof NodeArgsError && message.test(err.message),
      argv.join(" "),
    );
  }
});

/** Runs bin.ts to its first output line (or its exit); returns the line, stderr and the exit code. */
async function runBin(args: string[]) {
  const child = spawn(process.execPath, ["--import", "tsx", BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c) => {
    stderr += c;
  });
  const line = await new Promise<string | undefined>((resolve) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    child.once("exit", () => resolve(undefined));
  });
  return { child, line, stderr: () => stderr };
}

test("bin.ts: a bad --gas-limit is one error line and exit code 2; a good one sets every block's limit, and the data dir keeps it", async () => {
  const tmp = tempDir("ol-args-");
  try {
    const bad = await runBin(["--datadir", tmp.dir, "--gas-limit", "lots"]);
    const code = bad.child.exitCode ?? (await new Promise((r) => bad.child.once("exit", r)));
    assert.equal(code, 2);
    assert.equal(bad.line, undefined);
    assert.equal(bad.stderr(), 'error: --gas-limit must be a decimal integer, got "lots"\n');

    const good = await runBin([
      "--datadir",
      tmp.dir,
      "--port",
      "0",
      "--automine",
      "--gas-limit",
      "1000000000",
    ]);
    try {
      assert.ok(good.line, good.stderr());
      const url = JSON.parse(good.line).url as string;
      for (const tag of ["0x0", "latest"]) {
        const { result } = await rpc(url, "eth_getBlockByNumber", [tag, false]);
        assert.equal(BigInt((result as { gasLimit: string }).gasLimit), 1_000_000_000n, tag);
      }
    } finally {
      good.child.kill("SIGTERM");
      await new Promise((r) => good.child.once("exit", r));
    }

    // The data dir keeps the chain's limit: a restart without the option keeps it, another is refused.
    const again = await runBin(["--datadir", tmp.dir, "--port", "0", "--automine"]);
    try {
      assert.ok(again.line, again.stderr());
      const url = JSON.parse(again.line).url as string;
      await rpc(url, "evm_mine", []);
      const { result } = await rpc(url, "eth_getBlockByNumber", ["latest", false]);
      assert.notEqual((result as { number: string }).number, "0x0");
      assert.equal(BigInt((result as { gasLimit: string }).gasLimit), 1_000_000_000n);
    } finally {
      again.child.kill("SIGTERM");
      await new Promise((r) => again.child.once("exit", r));
    }
    const other = await runBin(["--datadir", tmp.dir, "--port", "0", "--gas-limit", "30000000"]);
    const otherCode = other.child.exitCode ?? (await new Promise((r) => other.child.once("exit", r)));
    assert.equal(otherCode, 1);
    assert.equal(other.line, undefined);
    assert.match(
      other.stderr(),
      /^error: datadir .* holds a chain whose blocks have a gas limit of 1000000000, not 30000000; a chain keeps the limit it was created with/,
    );
  } finally {
    tmp.remove();
  }
});
