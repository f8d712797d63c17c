import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { after, describe, test } from "node:test";
import { createPublicClient, http } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import {
  type Anvil,
  anvilBinaryPath,
  DEV_MNEMONIC,
  DevnetError,
  devAccounts,
  foundryBinaryPath,
  PortInUseError,
  portIsFree,
  startAnvil,
} from "../src/index.ts";

describe("devAccounts", () => {
  test("ten accounts of the well-known mnemonic, keys matching addresses", () => {
    assert.equal(DEV_MNEMONIC, "test test test test test test test test test test test junk");
    assert.equal(devAccounts.length, 10);
    assert.equal(devAccounts[0].address, "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266");
    assert.equal(
      devAccounts[0].privateKey,
      "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    );
    assert.equal(devAccounts[9].address, "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720");
    for (const a of devAccounts) assert.equal(privateKeyToAccount(a.privateKey).address, a.address);
    assert.throws(() => {
      (devAccounts as unknown as unknown[]).push({ index: 10 });
    });
  });
});

describe("startAnvil", () => {
  const started: Anvil[] = [];
  after(async () => {
    for (const a of started) await a.stop();
  });

  test("forge and cast resolve per platform too, and report failures with a non-zero exit", () => {
    for (const tool of ["forge", "cast"] as const) {
      const bin = foundryBinaryPath(tool);
      assert.match(bin, new RegExp(`@foundry-rs/${tool}-[a-z0-9]+-[a-z0-9]+/bin/${tool}`));
      // the platform binary itself, unlike the npm wrapper, exits non-zero on a bad subcommand
      const bad = spawnSync(bin, ["no-such-subcommand"], { encoding: "utf8" });
      assert.notEqual(bad.status, 0);
    }
    assert.throws(() => foundryBinaryPath("cast", "sunos", "ppc64"), {
      name: "DevnetError",
      message: /@foundry-rs\/cast-sunos-ppc64 is not installed/,
    });
  });

  test("the platform binary resolves", () => {
    assert.match(anvilBinaryPath(), /@foundry-rs\/anvil-[a-z0-9]+-[a-z0-9]+\/bin\/anvil/);
    assert.throws(() => anvilBinaryPath("sunos", "ppc64"), {
      name: "DevnetError",
      message: /@foundry-rs\/anvil-sunos-ppc64 is not installed.*npm ci/,
    });
  });

  test("starts on a free loopback port with the requested chain id and funded dev accounts", async () => {
    const anvil = await startAnvil({ chainId: 4242, accounts: 3 });
    started.push(anvil);
    assert.match(anvil.rpcUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(anvil.wsUrl, anvil.rpcUrl.replace("http", "ws"));
    const client = createPublicClient({ transport: http(anvil.rpcUrl) });
    assert.equal(await client.getChainId(), 4242);
    assert.equal(await client.getBalance({ address: devAccounts[2].address }), 10_000n * 10n ** 18n);
    assert.equal(await client.getBalance({ address: devAccounts[3].address }), 0n);
  });

  test("two chains run side by side; stop() frees the port and is idempotent", async () => {
    const a = await startAnvil();
    const b = await startAnvil();
    assert.notEqual(a.port, b.port);
    await a.stop();
    await a.stop();
    await b.stop();
    await assert.rejects(fetch(a.rpcUrl, { method: "POST", body: "{}" }));
    const again = await startAnvil({ port: a.port });
    started.push(again);
    assert.equal(again.port, a.port);
  });

  test("anvil dies with the process that started it, even without stop()", async () => {
    const script = `import { startAnvil } from ${JSON.stringify(new URL("../src/index.ts", import.meta.url).pathname)};
      const a = await startAnvil(); console.log(a.port); process.exit(0);`;
    const child = spawn(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    await new Promise((r) => child.on("close", r));
    const port = Number(out.trim());
    assert.ok(port > 0, `child printed ${out}`);
    // SIGKILL is delivered at exit; give the kernel a moment to release the socket
    let free = false;
    for (let i = 0; i < 50 && !free; i++) {
      free = await portIsFree(port);
      if (!free) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(free, true);
  });

  test("a taken port is a clear error", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as { port: number }).port;
    try {
      await assert.rejects(startAnvil({ port }), (err: unknown) => {
        assert.ok(err instanceof DevnetError);
        assert.match(err.message, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
        // shaped like Node's EADDRINUSE, so the CLI can name the flag that chose the port
        assert.ok(err instanceof PortInUseError);
        assert.equal(err.code, "EADDRINUSE");
        assert.equal(err.port, port);
        return true;
      });
    } finally {
      blocker.close();
    }
  });

  test("invalid options are rejected before spawning", async () => {
    await assert.rejects(startAnvil({ port: 70000 }), /port must be an integer/);
    await assert.rejects(startAnvil({ chainId: 0 }), /chainId must be an integer/);
    await assert.rejects(startAnvil({ blockTime: 1.5 }), /blockTime must be an integer/);
  });

  test("an anvil that refuses its arguments reports its own error", async () => {
    await assert.rejects(startAnvil({ extraArgs: ["--no-such-flag"] }), (err: unknown) => {
      assert.ok(err instanceof DevnetError);
      assert.match(err.message, /anvil exited before answering/);
      assert.match(err.message, /no-such-flag|unexpected argument/);
      return true;
    });
  });
});
