// The README's tour, run as written: its ```sh blocks are read out of README.md (so they cannot drift)
// and pasted, block by block, into one bash against a fresh `openledger up`; then every party's $OPEN
// (WOPEN) balance and the payer's escrow must have changed by exactly its share of the settled fees.
// Only the ports differ from what a user runs (the test's `up` listens on free ones), and `up` gets
// short batch and challenge windows.
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { devAccounts } from "@openledger/devnet";
import {
  currentParams,
  escrowOf,
  inferenceSettlementAbi,
  readDeployment,
  splitFee,
  tokenBalance,
} from "@openledger/sdk";
import { type Address, createPublicClient, http } from "viem";
import { getContractEvents } from "viem/actions";
import { BIN, cleanEnv, REPO_ROOT } from "./helpers.ts";

const TOUR_HEADING = "## Tour: a passage earns $OPEN";

/** The tour's shell blocks, in order. */
function tourBlocks(): string[] {
  const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
  const start = readme.indexOf(TOUR_HEADING);
  assert.ok(start >= 0, `README.md has no "${TOUR_HEADING}" section`);
  const end = readme.indexOf("\n## ", start + TOUR_HEADING.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** One bash, fed block after block, as a user pastes them; stops at the first failing command. */
class Shell {
  private readonly sh: ChildProcessWithoutNullStreams;
  private out = "";
  private err = "";
  private step = 0;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.sh = spawn("bash", ["--noprofile", "--norc"], { cwd, env });
    this.sh.stdout.on("data", (d) => (this.out += d));
    this.sh.stderr.on("data", (d) => (this.err += d));
    this.sh.stdin.write("set -eo pipefail\n");
  }

  /** Runs `block`; resolves with its stdout once it finished. */
  run(block: string): Promise<string> {
    const marker = `__tour_step_${++this.step}__`;
    this.out = "";
    this.err = "";
    this.sh.stdin.write(`${block}\necho ${marker}\n`);
    return new Promise((done, fail) => {
      const timer = setInterval(() => {
        const at = this.out.indexOf(marker);
        if (at >= 0) {
          clearInterval(timer);
          done(this.out.slice(0, at));
        } else if (this.sh.exitCode !== null) {
          clearInterval(timer);
          fail(new Error(`tour step failed:\n${block}\nstdout:\n${this.out}\nstderr:\n${this.err}`));
        }
      }, 100);
    });
  }

  close(): void {
    this.sh.stdin.end();
    this.sh.kill();
  }
}

test("the README tour: a contributed passage earns $OPEN, every party's balance moves by its exact share", async (t) => {
  const t0 = Date.now();
  const blocks = tourBlocks();
  assert.ok(blocks.length >= 8, `the tour has ${blocks.length} shell blocks`);
  // under the repository, so `npx openledger` and `import "openai"` resolve as at the root
  mkdirSync(join(REPO_ROOT, ".tmp"), { recursive: true });
  const cwd = mkdtempSync(join(REPO_ROOT, ".tmp", "tour-"));
  const up = spawn(
    process.execPath,
    [
      BIN,
      "up",
      "--port",
      "0",
      "--api-port",
      "0",
      "--domains",
      "noun.food",
      "--per-domain",
      "4",
      "--batch-age",
      "2",
      "--challenge-window",
      "4",
      "--block-time",
      "0.25",
    ],
    { cwd, env: cleanEnv({ OPENLEDGER_LOG_FORMAT: "text" }) },
  );
  let upOut = "";
  let upErr = "";
  up.stdout.on("data", (d) => (upOut += d));
  up.stderr.on("data", (d) => (upErr += d));
  const exited = new Promise<number | null>((done) => up.on("close", (code) => done(code)));
  let shell: Shell | undefined;
  try {
    // ready, and the demo adapter published (demo-base registered, account 0 done with its licence)
    await new Promise<void>((ready, fail) => {
      const timer = setInterval(() => {
        if (upOut.includes("Ready.") && /demo-noun\.food published as model/.test(upErr)) {
          clearInterval(timer);
          ready();
        }
      }, 200);
      exited.then((code) => {
        clearInterval(timer);
        fail(new Error(`up exited early (${code}):\n${upErr}`));
      });
    });
    t.diagnostic(`up ready with the demo adapter after ${Date.now() - t0} ms`);
    const rpc = /^RPC\s+(\S+)/m.exec(upOut)![1]!;
    const api = /^API\s+(\S+)/m.exec(upOut)![1]!;
    // OpenLoRA serves the published demo adapter at /v1 (priced at 0: free, moves no balance)
    const demo = await fetch(`${api}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-noun.food", prompt: "apple:", max_tokens: 8, temperature: 0 }),
    });
    const demoAnswer = (await demo.json()) as { model?: string; usage?: { completion_tokens: number } };
    assert.equal(demo.status, 200, JSON.stringify(demoAnswer));
    assert.equal(demoAnswer.model, "demo-noun.food");
    assert.ok(demoAnswer.usage!.completion_tokens > 0);
    const deployment = readDeployment(join(cwd, "deployments"), 1337)!;
    const { token, inferenceSettlement: settlement } = deployment.addresses;
    const client = createPublicClient({ transport: http(rpc) });
    const account = (i: number) => devAccounts[i]!.address as Address;
    const parties = [0, 1, 2, 3, 4, 9];
    const balances = async () =>
      Object.fromEntries(
        await Promise.all(
          parties.map(async (i) => [i, await tokenBalance(client, { token: token!, account: account(i) })]),
        ),
      ) as Record<number, bigint>;
    const before = await balances();
    const escrowBefore = await escrowOf(client, { settlement: settlement!, account: account(4) });
    const fromBlock = await client.getBlockNumber();

    shell = new Shell(cwd, cleanEnv({ OPENLEDGER_RPC: rpc, OPENLEDGER_API: api }));
    const outputs: string[] = [];
    for (const block of blocks) {
      const ported = block.replaceAll("http://127.0.0.1:8080", api).replaceAll("http://127.0.0.1:8545", rpc);
      const t1 = Date.now();
      outputs.push(await shell.run(ported));
      t.diagnostic(`step ${outputs.length}: ${Date.now() - t1} ms`);
    }
    const tour = outputs.join("");

    // the answers credit the contributed passage with the whole share
    const contribution = (await shell.run('echo "$CONTRIBUTION"')).trim();
    assert.match(contribution, /^\d+$/);
    assert.match(tour, new RegExp(`contributionId: '${contribution}'[^}]*share: 1000000`));

    // what the chain settled: the tour's batches, their fees split by the settlement's parameters
    const posted = await getContractEvents(client, {
      address: settlement!,
      abi: inferenceSettlementAbi,
      eventName: "BatchPosted",
      fromBlock,
      strict: true,
    });
    assert.ok(posted.length >= 1, "the tour's answers were batched");
    const share = { platform: 0n, modelOwner: 0n, stakers: 0n, contributors: 0n };
    let fees = 0n;
    for (const e of posted) {
      fees += e.args.fee;
      const s = await splitFee(client, { settlement: settlement!, fee: e.args.fee });
      for (const k of Object.keys(share) as (keyof typeof share)[]) share[k] += s[k];
    }
    const params = await currentParams(client, { settlement: settlement! });
    assert.equal(params.treasury, account(0), "the platform treasury is dev account 0");
    assert.ok(fees > 0n);

    const after = await balances();
    const escrowAfter = await escrowOf(client, { settlement: settlement!, account: account(4) });
    const delta = (i: number) => after[i]! - before[i]!;
    // payer: 10 wrapped and deposited, the fees debited from the escrow
    assert.equal(delta(4), 0n, "payer WOPEN");
    assert.equal(escrowAfter - escrowBefore, 10n ** 19n - fees, "payer escrow");
    // contributor: the contributors' share of every answer
    assert.equal(delta(1), share.contributors, "contributor");
    // model owner: 1 wrapped and paid for the licence, then its share
    assert.equal(delta(3), share.modelOwner, "model owner");
    // operator, the only staker: the stakers' share
    assert.equal(delta(9), share.stakers, "operator / stakers");
    assert.equal(delta(0), share.platform, "platform treasury");
    // the Datanet owner's licence share stays claimable in the registry
    assert.equal(delta(2), 0n, "Datanet owner");
    assert.equal(share.platform + share.modelOwner + share.stakers + share.contributors, fees);
  } finally {
    shell?.close();
    up.kill("SIGINT");
    await exited;
    rmSync(cwd, { recursive: true, force: true });
  }
});
