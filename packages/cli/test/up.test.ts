// `openledger up` (what `npm start` runs) as a subprocess: the L2 node with the protocol in genesis,
// the WordNet demo Datanets seeded, the HTTP API serving Datanets and attribution; Ctrl-C stops it.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createPublicClient, http } from "viem";
import { assertOneLineError, BIN, runCli } from "./helpers.ts";

test("openledger up: node + protocol in genesis + seeded Datanets + attribution API; SIGINT stops it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "openledger-up-"));
  const child = spawn(
    process.execPath,
    [
      BIN,
      "up",
      "--datadir",
      join(dir, "data"),
      "--deployments",
      join(dir, "deployments"),
      "--port",
      "0",
      "--api-port",
      "0",
      "--automine",
      "--domains",
      "noun.food,verb.motion",
      "--per-domain",
      "4",
    ],
    { cwd: dir, env: { ...process.env, OPENLEDGER_LOG_FORMAT: "text" } },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => (stdout += d));
  child.stderr.on("data", (d) => (stderr += d));
  const exited = new Promise<number | null>((done) => child.on("close", (code) => done(code)));
  try {
    await new Promise<void>((ready, fail) => {
      const timer = setInterval(() => {
        if (stdout.includes("Ready.")) {
          clearInterval(timer);
          ready();
        }
      }, 100);
      exited.then((code) => {
        clearInterval(timer);
        fail(new Error(`up exited early (${code}):\n${stderr}`));
      });
    });
    const rpc = /^RPC\s+(\S+)/m.exec(stdout)?.[1];
    const api = /^API\s+(\S+)/m.exec(stdout)?.[1];
    assert.ok(rpc && api, stdout);

    const deployment = JSON.parse(readFileSync(join(dir, "deployments", "1337.json"), "utf8"));
    const client = createPublicClient({ transport: http(rpc) });
    for (const address of Object.values(deployment.addresses) as `0x${string}`[]) {
      const code = await client.getCode({ address });
      assert.ok(code && code.length > 2, `contract code at ${address}`);
    }

    // `openledger deploy` (no key: 1337 is a local dev chain) finds the genesis deployment and deploys nothing.
    const redeploy = await runCli(["deploy", "--rpc", rpc, "--deployments", join(dir, "deployments")], {
      cwd: dir,
    });
    assert.equal(redeploy.code, 0, redeploy.stderr);
    assert.doesNotMatch(redeploy.stderr, /info\s+deployed contract=/);
    assert.match(redeploy.stderr, /everything was already deployed/);
    assert.match(redeploy.stdout, new RegExp(deployment.addresses.datanetRegistry));

    const datanets = (await (await fetch(`${api}/v1/datanets`)).json()) as {
      data: { id: number; name: string }[];
    };
    assert.deepEqual(datanets.data.map((d) => d.name).sort(), ["WordNet noun.food", "WordNet verb.motion"]);

    // An output that copies a seeded contribution is credited to it.
    const food = datanets.data.find((d) => d.name === "WordNet noun.food")!;
    const contributions = (await (await fetch(`${api}/v1/datanets/${food.id}/contributions`)).json()) as {
      data: { id: number }[];
    };
    const first = (await (
      await fetch(`${api}/v1/contributions/${contributions.data[0].id}?chunks=true`)
    ).json()) as { chunks: { text: string }[] };
    const text = first.chunks[0].text;
    const attributed = await fetch(`${api}/v1/attribution`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text, snapshots: ["wordnet-noun.food@1"] }),
    });
    assert.equal(attributed.status, 200);
    const result = (await attributed.json()) as { credits: { contributionId: string; share: number }[] };
    assert.ok(result.credits.length > 0, `credits for ${text}`);
    assert.equal(
      result.credits.map((c) => c.share).reduce((a, b) => a + b),
      1_000_000,
    );

    // Payable inference: the operator is dev account 9 (not a payer), no batch yet; a hostile batch id
    // is a 400 in the OpenAI error shape.
    assert.match(stdout, /^Payments\s+operator 0xa0Ee7A142d267C1f36714E4a8F75612F20a79720/m);
    const payments = (await (await fetch(`${api}/v1/payments`)).json()) as {
      operator: string;
      chainId: number;
    };
    assert.deepEqual(payments, {
      chainId: 1337,
      settlement: deployment.addresses.inferenceSettlement,
      operator: "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720",
    });
    const batches = (await (await fetch(`${api}/v1/settlement/batches`)).json()) as { data: unknown[] };
    assert.deepEqual(batches.data, []);
    const hostile = await fetch(`${api}/v1/settlement/batches/1%20OR%201=1`);
    assert.equal(hostile.status, 400);
    assert.ok(((await hostile.json()) as { error: { code: string } }).error.code);

    // `datanet contribute --api` goes through the running server (its store is locked to `up`); a
    // Datanet that does not exist is one error line naming the server's answer.
    const passage = join(dir, "passage.txt");
    writeFileSync(passage, "a passage for no Datanet\n");
    const orphan = await runCli(
      ["datanet", "contribute", passage, "--datanet", "999", "--license", "CC0-1.0", "--account", "1"].concat(
        ["--api", api, "--rpc", rpc, "--deployments", join(dir, "deployments")],
      ),
      { cwd: dir },
    );
    assertOneLineError(orphan, /answered 404/);

    // Unknown snapshot names and routes get OpenAI-style errors, not stack traces.
    const unknown = await fetch(`${api}/v1/attribution`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "x", snapshots: ["nope@1"] }),
    });
    assert.equal(unknown.status, 404);
    assert.ok(((await unknown.json()) as { error: { message: string } }).error.message);
    const missing = await fetch(`${api}/v2/nothing`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { code: string } }).error.code, "not_found");
  } finally {
    child.kill("SIGINT");
  }
  assert.equal(await exited, 0, stderr);
});
