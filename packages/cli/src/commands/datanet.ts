import { statSync } from "node:fs";
import { basename } from "node:path";
// Types only at the top: the modules behind them load when a command runs, so help stays fast.
import type { DatanetService } from "@openledger/datanet";
import { type Command, InvalidArgumentError, Option } from "commander";
import type { Address, Hex, LocalAccount } from "viem";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { parseAccountIndex, parsePrivateKey, parseRpcUrl, parseWei } from "../options.ts";
import type { ProgressStream } from "../progress.ts";

interface DatanetOptions {
  rpc: string;
  dataDir: string;
  deployments: string;
  privateKey?: Hex;
  account: number;
}

function positiveInt(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1)
    throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
}

function idList(value: string, previous: number[] = []): number[] {
  return [...previous, ...value.split(",").map((v) => positiveInt(v.trim()))];
}

/** commander parser for a file argument: it must exist and be a regular file. */
function existingFile(path: string): string {
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new InvalidArgumentError(`no such file: ${path}`);
  }
  if (!isFile) throw new InvalidArgumentError(`${path} is not a regular file (a directory?)`);
  return path;
}

/** Opens the service for the chain at --rpc; the acting account is --private-key or dev account --account. */
async function open(opts: DatanetOptions): Promise<{ service: DatanetService; me: LocalAccount }> {
  const [{ readDeployment }, { openDatanetService }, { devAccounts }, { privateKeyToAccount }] =
    await Promise.all([
      import("@openledger/sdk"),
      import("@openledger/datanet"),
      import("@openledger/common/dev-accounts"),
      import("viem/accounts"),
    ]);
  const { isLocalDevChain } = await import("../deploy-protocol.ts");
  const { connectRpc } = await import("../rpc.ts");
  const { chain } = await connectRpc(opts.rpc);
  const deployment = readDeployment(opts.deployments, chain.id);
  const registry = deployment?.addresses.datanetRegistry;
  if (!registry) {
    throw new CliError(
      `no DatanetRegistry deployment for chain ${chain.id} in ${opts.deployments}/; run \`openledger deploy --rpc ${opts.rpc}\` first`,
    );
  }
  let keys: Hex[];
  let me: LocalAccount;
  if (opts.privateKey) {
    keys = [opts.privateKey];
    me = privateKeyToAccount(opts.privateKey);
  } else {
    if (!isLocalDevChain(chain.id)) {
      throw new CliError(`chain ${chain.id} is not the local dev chain: pass --private-key`);
    }
    const dev = devAccounts[opts.account];
    if (!dev) throw new CliError(`there is no dev account ${opts.account} (0..${devAccounts.length - 1})`);
    keys = devAccounts.map((a) => a.privateKey);
    me = privateKeyToAccount(dev.privateKey);
  }
  const service = await openDatanetService({
    dataDir: opts.dataDir,
    rpcUrl: opts.rpc,
    registry,
    token: deployment.addresses.token,
    privateKeys: keys,
  });
  return { service, me };
}

async function withService<T extends DatanetOptions>(
  command: Command,
  fn: (ctx: ReturnType<typeof commandContext<T>>, service: DatanetService, me: LocalAccount) => Promise<void>,
): Promise<void> {
  const ctx = commandContext<T>(command);
  const { service, me } = await open(ctx.options);
  try {
    await fn(ctx, service, me);
  } finally {
    service.close();
  }
}

export function registerDatanetCommand(program: Command): void {
  const datanet = program
    .command("datanet")
    .description("Datanets: create, contribute, review, snapshot, license, seed the WordNet demo")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseRpcUrl, "http://127.0.0.1:8545")
    .option("--data-dir <dir>", "Datanet store (SQLite index, blobs)", ".openledger/datanet")
    .option("--deployments <dir>", "folder of deployments/<chainId>.json", "deployments")
    .option(
      "--private-key <hex>",
      "key of the acting account (default: a dev account on a local dev chain, 31337 or 1337)",
      parsePrivateKey,
    )
    .option(
      "--account <index>",
      "dev account index to act as on the local chain (0..9)",
      parseAccountIndex,
      0,
    );

  datanet
    .command("create")
    .description("create a Datanet owned by the acting account")
    .requiredOption("--name <name>", "display name")
    .option("--description <text>", "what the Datanet collects", "")
    .addOption(
      new Option("--license-price <wei>", "training-license price per snapshot in $OPEN wei")
        .argParser(parseWei)
        // commander prints defaults with JSON.stringify, which cannot print a bigint
        .default(0n, "0"),
    )
    .option("--owner-bps <bps>", "owner's share of license fees in basis points", (v) => Number(v), 2000)
    .option("--curator <address>", "a curator besides the owner (repeatable)", (v, p: string[] = []) => [
      ...p,
      v,
    ])
    .action(async (_o, command: Command) =>
      withService<
        DatanetOptions & {
          name: string;
          description: string;
          licensePrice: bigint;
          ownerBps: number;
          curator?: string[];
        }
      >(command, async ({ options, print }, service, me) => {
        const d = await service.createDatanet({
          owner: me.address,
          name: options.name,
          description: options.description,
          licensePrice: options.licensePrice,
          ownerBps: options.ownerBps,
          curators: (options.curator ?? []) as Address[],
        });
        print(`datanet ${d.id}  ${d.name}  owner ${d.owner}`);
      }),
    );

  datanet
    .command("contribute")
    .argument("<file>", "the file to contribute", existingFile)
    .description(
      "sign, upload and submit a file (text, markdown, jsonl, csv) to a Datanet as the acting account",
    )
    .requiredOption("--datanet <id>", "Datanet id", positiveInt)
    .requiredOption("--license <spdx>", "SPDX license id of the content, e.g. CC-BY-4.0")
    .option("--format <format>", "text | markdown | jsonl | csv (default: from the file extension)")
    .option("--field <name>", "JSONL: the text field (default: messages for chat records, else text)")
    .option("--column <name>", "CSV: the text column (default: text)")
    .option("--source <note>", "where the content comes from", "")
    .action(async (file: string, _o, command: Command) =>
      withService<
        DatanetOptions & {
          datanet: number;
          license: string;
          format?: string;
          field?: string;
          column?: string;
          source: string;
        }
      >(command, async ({ options, log, print }, service, me) => {
        const { readFile, stat } = await import("node:fs/promises");
        const { createReadStream } = await import("node:fs");
        const { contentHashOf, contributionTypedData, countingStream, formatFromFileName, parseFormat } =
          await import("@openledger/datanet");
        const format = options.format ? parseFormat(options.format) : formatFromFileName(file);
        const extract = { field: options.field, column: options.column };
        const size = (await stat(file)).size;
        const contentHash = contentHashOf(await readFile(file), format, extract);
        const domain = { chainId: service.registry.chainId, verifyingContract: service.registry.address };
        const signature = await me.signTypedData(
          contributionTypedData(domain, BigInt(options.datanet), contentHash),
        );
        const { multiProgress } = await import("../progress.ts");
        const label = `upload ${basename(file)}`;
        const bar = multiProgress([label], { log });
        const row = await service.contribute({
          datanetId: options.datanet,
          contributor: me.address,
          signature,
          license: options.license,
          source: options.source,
          format,
          extract,
          content: countingStream(createReadStream(file), (n) => bar.update(label, n, size)),
        });
        bar.update(label, size, size);
        bar.finish();
        print(`contribution ${row.id}  ${row.status}  ${row.chunkCount} chunks  ${row.cid}`);
      }),
    );

  datanet
    .command("list")
    .description("list Datanets, or the contributions of one")
    .option("--datanet <id>", "list this Datanet's contributions", positiveInt)
    .option("--status <status>", "pending | accepted | rejected")
    .action(async (_o, command: Command) =>
      withService<DatanetOptions & { datanet?: number; status?: "pending" | "accepted" | "rejected" }>(
        command,
        async ({ options, print }, service) => {
          if (options.datanet === undefined) {
            for (const d of service.listDatanets()) {
              const v = service.getDatanet(d.id);
              print(
                `${String(d.id).padStart(4)}  ${d.name.padEnd(32)} pending ${v.counts.pending}  accepted ${v.counts.accepted}  rejected ${v.counts.rejected}  snapshots ${v.snapshots.length}`,
              );
            }
            return;
          }
          for (const c of service.listContributions(options.datanet, { status: options.status })) {
            print(
              `${String(c.id).padStart(6)}  ${c.status.padEnd(8)}  ${c.contributor}  ${c.chunkCount} chunks  ${c.license}  ${c.cid}`,
            );
          }
        },
      ),
    );

  datanet
    .command("review")
    .description("show pending contributions, or accept/reject them on-chain as curator")
    .requiredOption("--datanet <id>", "Datanet id", positiveInt)
    .option("--accept <ids>", "contribution ids to accept (comma-separated, repeatable)", idList)
    .option("--reject <ids>", "contribution ids to reject (comma-separated, repeatable)", idList)
    .option("--accept-all", "accept every pending contribution", false)
    .action(async (_o, command: Command) =>
      withService<
        DatanetOptions & { datanet: number; accept?: number[]; reject?: number[]; acceptAll: boolean }
      >(command, async ({ options, print }, service, me) => {
        const pending = service.listContributions(options.datanet, { status: "pending" });
        const decisions = [
          ...(options.acceptAll ? pending.map((c) => c.id) : (options.accept ?? [])).map((id) => ({
            contributionId: id,
            accept: true,
          })),
          ...(options.reject ?? []).map((id) => ({ contributionId: id, accept: false })),
        ];
        if (decisions.length === 0) {
          for (const c of pending) {
            const chunks = service.getContribution(c.id, { chunks: true }).chunks ?? [];
            print(
              `${c.id}  ${c.contributor}  ${c.license}  ${chunks[0]?.text.slice(0, 80).replace(/\s+/g, " ") ?? ""}`,
            );
          }
          if (pending.length === 0) print("nothing pending");
          return;
        }
        for (const row of await service.curate(me.address, decisions)) print(`${row.id}  ${row.status}`);
      }),
    );

  datanet
    .command("snapshot")
    .description("freeze the accepted contributions into a new snapshot and publish its root on-chain")
    .requiredOption("--datanet <id>", "Datanet id", positiveInt)
    .option("--export <dir>", "also write dataset.jsonl and manifest.json there")
    .action(async (_o, command: Command) =>
      withService<DatanetOptions & { datanet: number; export?: string }>(
        command,
        async ({ options, log, print }, service, me) => {
          const { multiProgress } = await import("../progress.ts");
          const bar = multiProgress(["snapshot"], { log });
          const snap = await service.snapshot(me.address, options.datanet, (d, t) =>
            bar.update("snapshot", d, t),
          );
          bar.finish();
          print(`snapshot ${snap.id}  version ${snap.version}  ${snap.chunkCount} chunks  root ${snap.root}`);
          if (options.export) {
            const out = multiProgress(["export"], { log });
            const r = await service.snapshots.exportDataset(snap.id, options.export, (d, t) =>
              out.update("export", d, t),
            );
            out.update("export", r.lines, r.lines);
            out.finish();
            print(`exported ${r.lines} chunks to ${r.datasetPath} (manifest ${r.manifestPath})`);
          }
        },
      ),
    );

  datanet
    .command("license")
    .description("buy a training license for a snapshot as the acting account, or check one")
    .requiredOption("--snapshot <id>", "snapshot id", positiveInt)
    .option("--check <address>", "only report whether this address holds a license")
    .option("--licensee <address>", "who holds the bought license (default: the acting account)")
    .action(async (_o, command: Command) =>
      withService<DatanetOptions & { snapshot: number; check?: string; licensee?: string }>(
        command,
        async ({ options, print }, service, me) => {
          if (options.check) {
            const has = await service.hasLicense(options.snapshot, options.check);
            print(
              `${options.check} ${has ? "holds" : "does not hold"} a license for snapshot ${options.snapshot}`,
            );
            if (!has) process.exitCode = 2;
            return;
          }
          const { price } = await service.buyLicense(me.address, options.snapshot, options.licensee);
          print(
            `licensed snapshot ${options.snapshot} for ${options.licensee ?? me.address}, paid ${price} wei`,
          );
        },
      ),
    );

  datanet
    .command("seed-wordnet")
    .description(
      "demo: one Datanet per WordNet lexicographer domain, synsets from several dev accounts, curated and snapshotted",
    )
    .option("--per-domain <n>", "synsets per domain", positiveInt, 60)
    .option("--domains <list>", "only these domains, comma-separated (e.g. noun.food,verb.motion)")
    .action(async (_o, command: Command) =>
      withService<DatanetOptions & { perDomain: number; domains?: string }>(
        command,
        async ({ options, print }, service, me) => {
          print(
            await seedWordnetDemo(service, me, {
              perDomain: options.perDomain,
              domains: options.domains?.split(",").map((d) => d.trim()),
            }),
          );
        },
      ),
    );
}

/**
 * Seeds the WordNet demo Datanets (owner `owner`, contributors dev accounts 1..5) unless this data
 * directory already has them; returns a one-line summary. `openledger start` can call it after deploying:
 * `seedWordnetDemo(await openDatanetService({ dataDir, rpcUrl, registry, privateKeys: devKeys }), devAccount0)`.
 */
export async function seedWordnetDemo(
  service: DatanetService,
  owner: LocalAccount,
  opts: { perDomain?: number; domains?: string[]; progress?: boolean; progressStream?: ProgressStream } = {},
): Promise<string> {
  const { seedWordnet, wordnetSeedUnfinished } = await import("@openledger/datanet");
  // An interrupted seed resumes; a finished one is not repeated.
  if (!wordnetSeedUnfinished(service) && service.listDatanets().some((d) => d.name.startsWith("WordNet "))) {
    return "WordNet Datanets already exist here; nothing to do";
  }
  const { devAccounts } = await import("@openledger/common/dev-accounts");
  const { privateKeyToAccount } = await import("viem/accounts");
  const { multiProgress } = await import("../progress.ts");
  const contributors = devAccounts.slice(1, 6).map((a) => privateKeyToAccount(a.privateKey));
  // both phases advance at once (domains run in parallel): one line shows the two
  const labels: Record<string, string> = { stage: "contributions", snapshot: "snapshots" };
  const { activeLogger } = await import("../context.ts");
  const progress = multiProgress(Object.values(labels), { stream: opts.progressStream, log: activeLogger() });
  let summary: Awaited<ReturnType<typeof seedWordnet>>;
  try {
    summary = await seedWordnet(service, {
      owner,
      contributors,
      perDomain: opts.perDomain,
      domains: opts.domains,
      onProgress:
        opts.progress === false
          ? undefined
          : (phase, done, total) => labels[phase] && progress.update(labels[phase], done, total),
    });
  } finally {
    progress.finish();
  }
  return `${summary.datanets} Datanets, ${summary.contributions} contributions (${summary.accepted} accepted, ${summary.rejected} rejected, ${summary.skippedDuplicates} duplicates skipped), ${summary.snapshots.length} snapshots`;
}
