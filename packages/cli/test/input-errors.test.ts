// Bad input to the CLI gets one `error:` line naming what to fix, and a non-zero exit (issue 12).
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { oneLine } from "../src/errors.ts";
import { assertOneLineError, runCli } from "./helpers.ts";

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error("expected a throw");
}

/** A loopback port with a real listener on it, until `close()`. */
async function takenPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return { port, close: () => new Promise((r) => server.close(() => r())) };
}

describe("CLI input errors", () => {
  test("datanet create --help prints help (its bigint default no longer crashes it)", async () => {
    const help = await runCli(["datanet", "create", "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /--license-price <wei>.*\n?.*\(default: 0/);
    assert.equal(help.stderr, "");
  });

  test("--account must be a dev account index", async () => {
    assertOneLineError(await runCli(["datanet", "--account", "abc", "list"]), /--account.*0\.\.9/);
    assertOneLineError(await runCli(["datanet", "--account", "10", "list"]), /--account.*0\.\.9/);
    assertOneLineError(await runCli(["balance", "--account", "-1"]), /--account|unknown option/);
  });

  test("a missing file or a directory is one clear line", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
    mkdirSync(join(cwd, "folder"));
    const base = ["datanet", "contribute", "--datanet", "1", "--license", "MIT"];
    assertOneLineError(await runCli([...base, "missing.txt"], { cwd }), /no such file: missing\.txt/);
    assertOneLineError(await runCli([...base, "folder"], { cwd }), /folder is not a regular file/);
    // system errors from deeper down become one line naming the path, not "ENOENT: ..., open"
    const missing = join(cwd, "nothing-here");
    assert.equal(oneLine(catchError(() => readFileSync(missing))), `no such file or directory: ${missing}`);
    assert.match(
      oneLine(catchError(() => readFileSync(join(cwd, "folder")))),
      /directory; expected a file|expected a file/,
    );
  });

  test("amounts and addresses are checked before anything runs", async () => {
    assertOneLineError(await runCli(["wrap", "1.2.3"]), /amount of OPEN/);
    assertOneLineError(await runCli(["wrap", "0"]), /above 0/);
    assertOneLineError(await runCli(["balance", "0x1234"]), /0x address/);
    const huge = (2n ** 256n).toString();
    assertOneLineError(await runCli(["datanet", "create", "--name", "x", "--license-price", huge]), /2\^256/);
  });

  test("deploy --rpc at a server that is not a JSON-RPC node says so", async () => {
    // an HTTP server answering like the project's API does for an unknown route
    const api = createHttpServer((_req, res) => {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(
        JSON.stringify({ error: { message: "no route", type: "invalid_request_error", code: "not_found" } }),
      );
    });
    await new Promise<void>((r) => api.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(api.address() as { port: number }).port}`;
    try {
      assertOneLineError(
        await runCli(["deploy", "--rpc", url]),
        /is not a JSON-RPC endpoint: it answered HTTP 404 .*--rpc/,
      );
    } finally {
      await new Promise((r) => api.close(r));
    }
  });

  test("node --gas-limit: a malformed value, and one too small for the protocol's deploys, before anything starts", async () => {
    const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
    const node = (limit: string) =>
      runCli(["node", "--datadir", join(cwd, "chain"), "--port", "18546", "--gas-limit", limit], { cwd });
    assertOneLineError(await node("2e9"), /--gas-limit.*expected a whole number of gas/);
    assertOneLineError(await node("20999"), /--gas-limit.*from 21000 to 9223372036854775807/);
    assertOneLineError(
      await node("100000"),
      /--gas-limit 100000 is below 30000000, which the protocol's deploy transactions in block 1 need/,
    );
  });

  test("a taken port names the flag that chose it", async () => {
    const taken = await takenPort();
    const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
    try {
      const run = await runCli(
        ["node", "--datadir", join(cwd, "chain"), "--port", String(taken.port), "--no-predeploy"],
        { cwd },
      );
      assertOneLineError(
        run,
        new RegExp(`port ${taken.port} on 127\\.0\\.0\\.1 is already in use \\(--port\\)`),
      );
      // up has two ports: the error names the one that is taken
      const up = await runCli(
        [
          "--quiet",
          "up",
          "--datadir",
          join(cwd, "up"),
          "--deployments",
          join(cwd, "deployments"),
          "--port",
          "0",
          "--api-port",
          String(taken.port),
          "--no-seed",
          "--automine",
        ],
        { cwd },
      );
      assertOneLineError(up, new RegExp(`port ${taken.port} .*already in use \\(--api-port\\)`));
    } finally {
      await taken.close();
    }
  });
});

test("a config file that is a directory is one clear line", async () => {
  const cwd = mkdtempSync(join(tmpdir(), "openledger-cli-"));
  mkdirSync(join(cwd, "conf.json"));
  writeFileSync(join(cwd, "unused.txt"), "");
  assertOneLineError(await runCli(["--config", "conf.json", "accounts"], { cwd }), /conf\.json.*directory/);
});
