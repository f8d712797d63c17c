// Runs the real `openledger` binary as a subprocess.
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type Anvil, devAccounts, portIsFree, startAnvil } from "@openledger/devnet";
import { assertOneLineError, BIN, cleanEnv, lines, runCli } from "./helpers.ts";

describe("openledger CLI", () => {
  let anvil: Anvil;
  let otherChain: Anvil;

  before(async () => {
    [anvil, otherChain] = await Promise.all([startAnvil(), startAnvil({ chainId: 4242 })]);
  });
  after(async () => {
    await anvil?.stop();
    await otherChain?.stop();
  });

  test("--help lists the commands; each command has help", async () => {
    const help = await runCli(["--help"]);
    assert.equal(help.code, 0);
    for (const cmd of ["deploy", "start", "accounts", "--log-format", "--config", "--verbose"]) {
      assert.ok(help.stdout.includes(cmd), `help mentions ${cmd}`);
    }
    const deploy = await runCli(["deploy", "--help"]);
    assert.equal(deploy.code, 0);
    assert.match(deploy.stdout, /--rpc <url>/);
    assert.match(deploy.stdout, /OPENLEDGER_PRIVATE_KEY/);
  });

  test("bad flags and bad values exit non-zero with one line", async () => {
    assertOneLineError(
      await runCli(["deploy", "--rpc", anvil.rpcUrl, "--bogus"]),
      /unknown option '--bogus'/,
    );
    assertOneLineError(await runCli(["no-such-command"]), /unknown command/);
    assertOneLineError(await runCli(["deploy", "--rpc", "not a url"]), /--rpc/);
    assertOneLineError(
      await runCli(["deploy", "--rpc", anvil.rpcUrl, "--private-key", "0x1234"]),
      /--private-key.*64 hex digits/,
    );
    assertOneLineError(await runCli(["--log-format", "xml", "accounts"]), /xml/);
  });

  test("an unreachable RPC is one line without a stack trace; --verbose adds it", async () => {
    const server = createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    await new Promise((r) => server.close(r));
    const rpc = `http://127.0.0.1:${port}`;
    const plain = await runCli(["deploy", "--rpc", rpc]);
    assertOneLineError(plain, /cannot reach the RPC at/);
    assert.doesNotMatch(plain.stderr, /\n\s+at /);
    const verbose = await runCli(["--verbose", "deploy", "--rpc", rpc]);
    assert.notEqual(verbose.code, 0);
    assert.match(verbose.stderr, /^error: cannot reach the RPC/m);
    assert.match(verbose.stderr, /\n\s+at /);
  });

  test("deploy against anvil twice is idempotent and writes deployments/<chainId>.json", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
    const first = await runCli(["deploy", "--rpc", anvil.rpcUrl], { cwd });
    assert.equal(first.code, 0, first.stderr);
    const addresses = lines(first.stdout);
    assert.deepEqual(
      addresses.map((l) => l.split(/\s+/)[0]),
      ["OpenToken", "Staking", "DatanetRegistry", "ModelRegistry", "InferenceSettlement", "SpanV2Verifier"],
    );
    for (const l of addresses) assert.match(l, /0x[0-9a-fA-F]{40}$/);
    assert.match(first.stderr, /deployed contract=OpenToken/);

    const second = await runCli(["--log-format", "json", "deploy", "--rpc", anvil.rpcUrl], { cwd });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout);
    const logs = lines(second.stderr).map((l) => JSON.parse(l));
    assert.ok(logs.every((l) => l.level && l.msg && l.time));
    assert.equal(logs.filter((l) => l.msg === "found").length, 6);
    assert.ok(logs.some((l) => l.msg === "everything was already deployed"));

    const file = JSON.parse(readFileSync(join(cwd, "deployments/31337.json"), "utf8"));
    assert.equal(file.chainId, 31337);
    assert.equal(file.deployer, devAccounts[0].address);
    assert.equal(file.addresses.token, addresses[0].split(/\s+/)[1]);

    const quiet = await runCli(["--quiet", "deploy", "--rpc", anvil.rpcUrl, "--json"], { cwd });
    assert.equal(quiet.code, 0);
    assert.equal(quiet.stderr, "");
    assert.deepEqual(JSON.parse(quiet.stdout).addresses, file.addresses);
  });

  test("other chains need an explicit key", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
    assertOneLineError(
      await runCli(["deploy", "--rpc", otherChain.rpcUrl], { cwd }),
      /chain 4242 .*--private-key/,
    );
    const ok = await runCli(["deploy", "--rpc", otherChain.rpcUrl], {
      cwd,
      env: { OPENLEDGER_PRIVATE_KEY: devAccounts[1].privateKey },
    });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      JSON.parse(readFileSync(join(cwd, "deployments/4242.json"), "utf8")).deployer,
      devAccounts[1].address,
    );
  });

  test("configuration precedence: flags > env > config file > defaults", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
    const bad = "http://127.0.0.1:1";
    // the file alone (default ./openledger.json): rpc and a per-command section
    writeFileSync(
      join(cwd, "openledger.json"),
      JSON.stringify({ rpc: anvil.rpcUrl, deploy: { json: true } }),
    );
    const fromFile = await runCli(["--quiet", "deploy"], { cwd });
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.equal(JSON.parse(fromFile.stdout).chainId, 31337);
    // env beats the file
    assertOneLineError(await runCli(["deploy"], { cwd, env: { OPENLEDGER_RPC: bad } }), /127\.0\.0\.1:1\b/);
    // the flag beats env
    const fromFlag = await runCli(["--quiet", "deploy", "--rpc", anvil.rpcUrl], {
      cwd,
      env: { OPENLEDGER_RPC: bad },
    });
    assert.equal(fromFlag.code, 0, fromFlag.stderr);
    // --config names another file; a missing or broken one is one clear line
    writeFileSync(join(cwd, "other.json"), JSON.stringify({ rpc: bad }));
    assertOneLineError(await runCli(["--config", "other.json", "deploy"], { cwd }), /127\.0\.0\.1:1\b/);
    assertOneLineError(
      await runCli(["--config", "missing.json", "deploy"], { cwd }),
      /config file not found/,
    );
    writeFileSync(join(cwd, "openledger.json"), "{ broken");
    assertOneLineError(await runCli(["deploy"], { cwd }), /not valid JSON/);
    writeFileSync(join(cwd, "openledger.json"), JSON.stringify({ rpc: "ftp://x" }));
    assertOneLineError(await runCli(["deploy"], { cwd }), /config file value for "rpc"/);
  });

  test("accounts lists the dev accounts, with balances given --rpc", async () => {
    const plain = await runCli(["accounts"]);
    assert.equal(plain.code, 0);
    assert.equal(lines(plain.stdout).length, 11);
    assert.ok(plain.stdout.includes(devAccounts[9].privateKey));
    const json = await runCli(["accounts", "--json", "--rpc", anvil.rpcUrl]);
    assert.equal(json.code, 0, json.stderr);
    const parsed = JSON.parse(json.stdout);
    assert.equal(parsed.accounts.length, 10);
    assert.match(parsed.accounts[3].native, /^\d/);
    // anvil's native currency is ETH; on the OpenLedger L2 it is OPEN (l2-wallet.test.ts)
    assert.equal(parsed.accounts[3].nativeSymbol, "ETH");
  });
});

describe("openledger start", () => {
  test("starts a chain, deploys, prints addresses and accounts; Ctrl-C stops it cleanly", async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
    const child: ChildProcess = spawn(process.execPath, [BIN, "start", "--port", String(port)], {
      cwd,
      env: cleanEnv(),
    });
    let stdout = "";
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on("close", r));
    await new Promise<void>((ready, fail) => {
      child.stdout!.on("data", (d) => {
        stdout += d;
        if (stdout.includes("Press Ctrl-C")) ready();
      });
      child.on("close", () => fail(new Error(`start exited early: ${stderr}`)));
    });
    assert.match(stdout, new RegExp(`RPC\\s+http://127\\.0\\.0\\.1:${port}`));
    assert.match(stdout, /InferenceSettlement\s+0x[0-9a-fA-F]{40}/);
    assert.ok(stdout.includes(devAccounts[0].address));
    assert.match(stdout, /OPEN/);
    assert.equal(await portIsFree(port), false);

    // a second start on the same port fails clearly
    const clash = await runCli(["start", "--port", String(port)]);
    assertOneLineError(clash, new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use \\(--port\\)`));

    child.kill("SIGINT");
    assert.equal(await exited, 0, stderr);
    assert.equal(await portIsFree(port), true);
  });
});
