import type { Command } from "commander";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { addWalletOptions } from "../options.ts";
import type { WalletOptions } from "../wallet.ts";

interface ChallengeOptions extends WalletOptions {
  api: string;
  watch: boolean;
  interval: number;
  checkOnly: boolean;
  json: boolean;
  snapshot: string[];
}

function parseBatchId(value: string): bigint {
  if (!/^(0|[1-9][0-9]{0,76})$/.test(value))
    throw new CliError(`batch id '${value}' must be a decimal integer`);
  return BigInt(value);
}

function parseInterval(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 100)
    throw new CliError("--interval must be an integer of at least 100 (ms)");
  return n;
}

/** Snapshot exports as a source for the checker (each must rebuild its manifest's root). */
async function readSnapshots(dirs: string[]) {
  const { readFileSync } = await import("node:fs");
  const { join } = await import("node:path");
  const { readSnapshotExport } = await import("@openledger/attribution");
  const { snapshotSource } = await import("@openledger/payments");
  return snapshotSource(
    dirs.map((dir) => {
      const { root, chunks } = readSnapshotExport(dir);
      let manifest: { snapshotId?: unknown };
      try {
        manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
      } catch (err) {
        throw new CliError(`${dir}/manifest.json: ${(err as Error).message}`);
      }
      if (typeof manifest.snapshotId !== "number" && typeof manifest.snapshotId !== "string")
        throw new CliError(`${dir}/manifest.json names no snapshotId`);
      return { snapshotId: BigInt(manifest.snapshotId), root, chunks };
    }),
  );
}

export function registerChallengeCommand(program: Command): void {
  addWalletOptions(
    program
      .command("challenge")
      .description(
        "check an operator's settlement batch (span-v2 recomputed over the published witnesses, payouts against credits) and challenge a wrong record on-chain; --watch checks every new batch",
      )
      .argument("[batch]", "batch id (omit with --watch)", parseBatchId)
      .option(
        "--api <url>",
        "the operator's HTTP API (serves /v1/settlement/batches)",
        "http://127.0.0.1:8080",
      )
      .option("--watch", "keep checking every batch the operator publishes", false)
      .option("--interval <ms>", "how often --watch looks for new batches", parseInterval, 2000)
      .option(
        "--snapshot <dir>",
        "a snapshot export (manifest.json + dataset.jsonl, `datanet snapshot --export`) to recompute span-v2 over whole snapshots; repeatable",
        (v: string, prev: string[]) => [...prev, v],
        [] as string[],
      )
      .option("--check-only", "report wrong records without sending a challenge", false)
      .option("--json", "print one JSON object per batch", false),
  ).action(async (batch: bigint | undefined, _opts, command: Command) => {
    const { options, print, log } = commandContext<ChallengeOptions>(command);
    if (batch === undefined && !options.watch) throw new CliError("name a batch id, or use --watch");
    const { settlementWallet } = await import("./escrow.ts");
    const { checkBatch, listBatches } = await import("@openledger/payments");
    const { readDeployment } = await import("@openledger/sdk");
    const w = await settlementWallet(options);
    const datanetRegistry = readDeployment(options.deployments, w.chainId)?.addresses.datanetRegistry;
    if (!datanetRegistry)
      throw new CliError(`no DatanetRegistry in ${options.deployments}/${w.chainId}.json`);
    const snapshots = options.snapshot.length ? await readSnapshots(options.snapshot) : undefined;
    const check = async (id: bigint) => {
      const out = await checkBatch(
        w.publicClient,
        {
          api: options.api,
          settlement: w.settlement,
          datanetRegistry,
          ...(snapshots ? { snapshots } : {}),
          ...(options.checkOnly ? {} : { wallet: w.walletClient }),
        },
        id,
      );
      if (options.json) {
        print(JSON.stringify(out, (_k, v) => (typeof v === "bigint" ? v.toString() : v)));
        return out;
      }
      const right = out.verdicts.filter((v) => v.verdict === "right").length;
      print(`batch ${id}: ${right} of ${out.verdicts.length} records right`);
      for (const v of out.verdicts)
        if (v.verdict !== "right") print(`  record ${v.index} ${v.verdict}: ${v.reason}`);
      if (out.challenged)
        print(
          `  challenged record ${out.challenged.index}: batch ${id} reverted, reward ${out.challenged.reward} wei (tx ${out.challenged.hash})`,
        );
      return out;
    };
    if (batch !== undefined) {
      await check(batch);
      if (!options.watch) return;
    }
    const seen = new Set<bigint>(batch === undefined ? [] : [batch]);
    let stop = false;
    const quit = () => {
      stop = true;
    };
    process.once("SIGINT", quit);
    process.once("SIGTERM", quit);
    while (!stop) {
      try {
        for (const id of (await listBatches(options.api)).reverse()) {
          if (seen.has(id)) continue;
          await check(id);
          seen.add(id);
        }
      } catch (err) {
        // the watcher keeps going: an unreachable API or a failed send is retried next round
        log.warn(`challenge --watch: ${(err as Error).message}`);
      }
      await new Promise((r) => setTimeout(r, options.interval));
    }
  });
}
