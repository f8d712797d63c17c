import { statSync } from "node:fs";
import { basename } from "node:path";
// Types only at the top: the modules behind them load when a command runs, so help stays fast.
import type { DatanetService, SeedSummary } from "@openledger/datanet";
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
  json: boolean;
}

/** The options of `datanet contribute` itself, the same with or without `--api`. */
export interface ContributeOptions {
  datanet: bigint;
  license: string;
  format?: string;
  field?: string;
  column?: string;
  source: string;
}

/** One JSON document on stdout (ids as numbers, other bigints as decimal strings), for scripts. */
async function printJson(print: (line: string) => void, value: unknown): Promise<void> {
  const { toWireJson } = await import("@openledger/datanet");
  print(toWireJson(value, 2));
}

/** A page of a list fetched with one row more than `limit` (which says whether another page follows). */
function page<T extends { id: bigint }>(rows: T[], limit: number) {
  const data = rows.slice(0, limit);
  const hasMore = rows.length > limit;
  return { data, has_more: hasMore, next_after: hasMore ? data[data.length - 1].id : null };
}

function pageSize(value: string): number {
  const n = positiveInt(value);
  if (n > 1000) throw new InvalidArgumentError("expected 1..1000");
  return n;
}

function afterId(value: string): bigint {
  if (!/^(0|[1-9]\d*)$/.test(value)) throw new InvalidArgumentError("expected an id (0 or more)");
  return BigInt(value);
}

function positiveInt(value: string): number {
  if (!/^[1-9]\d*$/.test(value) || !Number.isSafeInteger(Number(value)))
    throw new InvalidArgumentError("expected a positive integer");
  return Number(value);
}

/** A Datanet, contribution or snapshot id. */
function idArg(value: string): bigint {
  return BigInt(positiveInt(value));
}

function idList(value: string, previous: bigint[] = []): bigint[] {
  return [...previous, ...value.split(",").map((v) => idArg(v.trim()))];
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

/**
 * For commands that only read: the index as of the chain's head, or, while another process (such as
 * `openledger up`) holds the data directory and keeps it up to date, that index read-only.
 */
async function withReader<T extends DatanetOptions>(
  command: Command,
  fn: (ctx: ReturnType<typeof commandContext<T>>, service: DatanetService) => Promise<void>,
): Promise<void> {
  const ctx = commandContext<T>(command);
  const { DataDirInUseError, DatanetService } = await import("@openledger/datanet");
  let service: DatanetService;
  try {
    service = (await open(ctx.options)).service;
  } catch (err) {
    if (!(err instanceof DataDirInUseError)) throw err;
    ctx.log.debug("data directory in use; reading its index", { dataDir: ctx.options.dataDir });
    service = new DatanetService({ dataDir: ctx.options.dataDir });
  }
  try {
    await fn(ctx, service);
  } finally {
    service.close();
  }
}

/** The shared flags of `datanet` and `contribution`. */
function serviceOptions(command: Command): Command {
  return command
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
    )
    .option("--json", "print results as JSON (one document on stdout)", false);
}

export function registerDatanetCommand(program: Command): void {
  const datanet = serviceOptions(
    program
      .command("datanet")
      .description(
        "Datanets: create, contribute, list, show, review, snapshot, export, license, seed the WordNet demo",
      ),
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
        if (options.json) await printJson(print, d);
        else print(`datanet ${d.id}  ${d.name}  owner ${d.owner}`);
      }),
    );

  datanet
    .command("contribute")
    .argument("<file>", "the file to contribute", existingFile)
    .description(
      "sign, upload and submit a file (text, markdown, jsonl, csv) to a Datanet as the acting account",
    )
    .requiredOption("--datanet <id>", "Datanet id", idArg)
    .requiredOption("--license <spdx>", "SPDX license id of the content, e.g. CC-BY-4.0")
    .option("--format <format>", "text | markdown | jsonl | csv (default: from the file extension)")
    .option("--field <name>", "JSONL: the text field (default: messages for chat records, else text)")
    .option("--column <name>", "CSV: the text column (default: text)")
    .option("--source <note>", "where the content comes from", "")
    .option("--api <url>", "upload through this server's HTTP API (while `openledger up` holds the store)")
    .action(async (file: string, _o, command: Command) =>
      command.opts().api
        ? (await import("../datanet-api.ts")).contributeCommandThroughApi(file, command)
        : withService<DatanetOptions & ContributeOptions>(
            command,
            async ({ options, log, print }, service, me) => {
              const { readFile, stat } = await import("node:fs/promises");
              const { createReadStream } = await import("node:fs");
              const {
                contentHashOf,
                contributionTypedData,
                countingStream,
                formatFromFileName,
                parseFormat,
              } = await import("@openledger/datanet");
              const format = options.format ? parseFormat(options.format) : formatFromFileName(file);
              const extract = { field: options.field, column: options.column };
              const size = (await stat(file)).size;
              const contentHash = contentHashOf(await readFile(file), format, extract);
              const domain = {
                chainId: service.registry.chainId,
                verifyingContract: service.registry.address,
              };
              const signature = await me.signTypedData(
                contributionTypedData(domain, options.datanet, contentHash),
              );
              const { multiProgress } = await import("../progress.ts");
              const label = `upload ${basename(file)}`;
              const bar = multiProgress([label], { log });
              const row = await service.contribute({
                datanetId: options.datanet,
                contributor: me.address,
                signature,
                contentHash, // declared first: the signature is checked before the file is read
                license: options.license,
                source: options.source,
                format,
                extract,
                content: countingStream(createReadStream(file), (n) => bar.update(label, n, size)),
              });
              bar.update(label, size, size);
              bar.finish();
              if (options.json) await printJson(print, row);
              else print(`contribution ${row.id}  ${row.status}  ${row.chunkCount} chunks  ${row.cid}`);
            },
          ),
    );

  datanet
    .command("list")
    .description("list Datanets, or the contributions of one (a page at a time)")
    .option("--datanet <id>", "list this Datanet's contributions", idArg)
    .option("--status <status>", "pending | accepted | rejected")
    .option("--limit <n>", "page size (1..1000)", pageSize, 100)
    .addOption(
      new Option("--after <id>", "start after this id (the previous page's next_after)")
        .argParser(afterId)
        .default(0n, "0"),
    )
    .action(async (_o, command: Command) =>
      withReader<
        DatanetOptions & {
          datanet?: bigint;
          status?: "pending" | "accepted" | "rejected";
          limit: number;
          after: bigint;
        }
      >(command, async ({ options, print }, service) => {
        const range = { limit: options.limit + 1, afterId: options.after };
        if (options.datanet === undefined) {
          const datanets = page(service.listDatanets(range), options.limit);
          const rows = datanets.data.map((d) => ({ ...d, ...service.getDatanet(d.id) }));
          if (options.json) return printJson(print, { ...datanets, data: rows });
          for (const v of rows) {
            print(
              `${String(v.id).padStart(4)}  ${v.name.padEnd(32)} pending ${v.counts.pending}  accepted ${v.counts.accepted}  rejected ${v.counts.rejected}  snapshots ${v.snapshots.length}`,
            );
          }
          if (datanets.has_more) print(`more: --after ${datanets.next_after}`);
          return;
        }
        const contributions = page(
          service.listContributions(options.datanet, { status: options.status, ...range }),
          options.limit,
        );
        if (options.json) return printJson(print, contributions);
        for (const c of contributions.data) {
          print(
            `${String(c.id).padStart(6)}  ${c.status.padEnd(8)}  ${c.contributor}  ${c.chunkCount} chunks  ${c.license}  ${c.cid}`,
          );
        }
        if (contributions.has_more) print(`more: --after ${contributions.next_after}`);
      }),
    );

  datanet
    .command("show")
    .argument("<id>", "Datanet id", idArg)
    .description("one Datanet: owner, licence price, contribution counts, snapshots")
    .action(async (id: bigint, _o, command: Command) =>
      withReader<DatanetOptions>(command, async ({ options, print }, service) => {
        const d = service.getDatanet(id);
        if (options.json) return printJson(print, d);
        print(`datanet ${d.id}  ${d.name}`);
        print(`owner          ${d.owner}`);
        if (d.description) print(`description    ${d.description.replace(/\s+/g, " ")}`);
        print(`licence price  ${d.licensePrice} wei`);
        print(`metadata       ${d.metadataUri}`);
        print(
          `contributions  pending ${d.counts.pending}  accepted ${d.counts.accepted}  rejected ${d.counts.rejected}`,
        );
        if (d.snapshots.length === 0) print("snapshots      none");
        for (const s of d.snapshots) {
          print(
            `snapshot ${s.id}  version ${s.version}  ${s.contributionCount} contributions  ${s.chunkCount} chunks  root ${s.root}`,
          );
        }
      }),
    );

  datanet
    .command("review")
    .description("show pending contributions, or accept/reject them on-chain as curator")
    .requiredOption("--datanet <id>", "Datanet id", idArg)
    .option("--accept <ids>", "contribution ids to accept (comma-separated, repeatable)", idList)
    .option("--reject <ids>", "contribution ids to reject (comma-separated, repeatable)", idList)
    .option("--accept-all", "accept every pending contribution", false)
    .action(async (_o, command: Command) =>
      withService<
        DatanetOptions & { datanet: bigint; accept?: bigint[]; reject?: bigint[]; acceptAll: boolean }
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
          const shown = pending.map((c) => {
            const chunks = service.getContribution(c.id, { chunks: true }).chunks ?? [];
            return { ...c, preview: chunks[0]?.text.slice(0, 80).replace(/\s+/g, " ") ?? "" };
          });
          if (options.json) return printJson(print, { pending: shown });
          for (const c of shown) print(`${c.id}  ${c.contributor}  ${c.license}  ${c.preview}`);
          if (pending.length === 0) print("nothing pending");
          return;
        }
        const rows = await service.curate(me.address, decisions, { datanetId: options.datanet });
        if (options.json) return printJson(print, { curated: rows });
        for (const row of rows) print(`${row.id}  ${row.status}`);
      }),
    );

  datanet
    .command("snapshot")
    .description("freeze the accepted contributions into a new snapshot and publish its root on-chain")
    .requiredOption("--datanet <id>", "Datanet id", idArg)
    .option("--export <dir>", "also write dataset.jsonl and manifest.json there")
    .action(async (_o, command: Command) =>
      withService<DatanetOptions & { datanet: bigint; export?: string }>(
        command,
        async ({ options, log, print }, service, me) => {
          const { multiProgress } = await import("../progress.ts");
          const bar = multiProgress(["snapshot"], { log });
          const snap = await service.snapshot(me.address, options.datanet, (d, t) =>
            bar.update("snapshot", d, t),
          );
          bar.finish();
          const exported = options.export
            ? await exportSnapshot(service, snap.id, options.export, log)
            : undefined;
          if (options.json) return printJson(print, { snapshot: snap, export: exported });
          print(`snapshot ${snap.id}  version ${snap.version}  ${snap.chunkCount} chunks  root ${snap.root}`);
          if (exported) print(exportedLine(exported));
        },
      ),
    );

  datanet
    .command("export")
    .argument("<dir>", "folder for dataset.jsonl and manifest.json")
    .description("write a published snapshot's dataset.jsonl and manifest.json (publishes nothing)")
    .option("--snapshot <id>", "snapshot id", idArg)
    .option("--datanet <id>", "the latest snapshot of this Datanet (instead of --snapshot)", idArg)
    .action(async (dir: string, _o, command: Command) =>
      withReader<DatanetOptions & { snapshot?: bigint; datanet?: bigint }>(
        command,
        async ({ options, log, print }, service) => {
          if ((options.snapshot === undefined) === (options.datanet === undefined)) {
            throw new CliError("give --snapshot <id> or --datanet <id> (its latest snapshot)");
          }
          let snapshotId = options.snapshot;
          if (snapshotId === undefined) {
            const snapshots = service.getDatanet(options.datanet!).snapshots;
            const latest = snapshots.at(-1);
            if (!latest) {
              throw new CliError(
                `Datanet ${options.datanet} has no snapshot yet; publish one with \`openledger datanet snapshot --datanet ${options.datanet}\``,
              );
            }
            snapshotId = latest.id;
          }
          const snap = service.getSnapshot(snapshotId);
          const exported = await exportSnapshot(service, snap.id, dir, log);
          if (options.json) return printJson(print, { snapshot: snap, export: exported });
          print(exportedLine(exported));
        },
      ),
    );

  datanet
    .command("license")
    .description("buy a training license for a snapshot as the acting account, or check one")
    .requiredOption("--snapshot <id>", "snapshot id", idArg)
    .option("--check <address>", "only report whether this address holds a license")
    .option("--licensee <address>", "who holds the bought license (default: the acting account)")
    .action(async (_o, command: Command) =>
      withService<DatanetOptions & { snapshot: bigint; check?: string; licensee?: string }>(
        command,
        async ({ options, print }, service, me) => {
          if (options.check) {
            const has = await service.hasLicense(options.snapshot, options.check);
            if (options.json) {
              await printJson(print, {
                snapshotId: options.snapshot,
                account: options.check,
                hasLicense: has,
              });
            } else {
              print(
                `${options.check} ${has ? "holds" : "does not hold"} a license for snapshot ${options.snapshot}`,
              );
            }
            if (!has) process.exitCode = 2;
            return;
          }
          const licensee = options.licensee ?? me.address;
          const { price } = await service.buyLicense(me.address, options.snapshot, options.licensee);
          if (options.json) return printJson(print, { snapshotId: options.snapshot, licensee, price });
          print(`licensed snapshot ${options.snapshot} for ${licensee}, paid ${price} wei`);
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
          const result = await seedWordnetDemoRun(service, me, {
            perDomain: options.perDomain,
            domains: options.domains?.split(",").map((d) => d.trim()),
          });
          if (options.json) await printJson(print, result.summary ?? { skipped: result.text });
          else print(result.text);
        },
      ),
    );

  const contribution = serviceOptions(
    program.command("contribution").description("Datanet contributions: show one"),
  );
  contribution
    .command("show")
    .argument("<id>", "contribution id", idArg)
    .description("one contribution: Datanet, contributor, status, licence, content hash (and its chunks)")
    .option("--chunks", "also print its chunks' text", false)
    .action(async (id: bigint, _o, command: Command) =>
      withReader<DatanetOptions & { chunks: boolean }>(command, async ({ options, print }, service) => {
        const c = service.getContribution(id, { chunks: options.chunks });
        if (options.json) return printJson(print, c);
        print(`contribution ${c.id}  Datanet ${c.datanetId}  ${c.status}`);
        print(`contributor   ${c.contributor}`);
        print(`licence       ${c.license}${c.source ? `  source ${c.source.replace(/\s+/g, " ")}` : ""}`);
        print(`content       ${c.contentHash}  ${c.byteSize} bytes  ${c.chunkCount} chunks  ${c.cid}`);
        if (c.contentState === "missing")
          print("content       missing here (submitted on-chain without an upload)");
        print(`submitted     block ${c.block}  tx ${c.txHash}`);
        for (const chunk of c.chunks ?? []) print(`[${chunk.index}] ${chunk.text}`);
      }),
    );
}

type Exported = { datasetPath: string; manifestPath: string; lines: number };

async function exportSnapshot(
  service: DatanetService,
  snapshotId: bigint,
  dir: string,
  log: ReturnType<typeof commandContext>["log"],
): Promise<Exported> {
  const { multiProgress } = await import("../progress.ts");
  const out = multiProgress(["export"], { log });
  const r = await service.snapshots.exportDataset(snapshotId, dir, (d, t) => out.update("export", d, t));
  out.update("export", r.lines, r.lines);
  out.finish();
  return r;
}

const exportedLine = (r: Exported) =>
  `exported ${r.lines} chunks to ${r.datasetPath} (manifest ${r.manifestPath})`;

/**
 * Seeds the WordNet demo Datanets (owner `owner`, contributors dev accounts 1..5) unless this data
 * directory already has them; returns a one-line summary. `openledger start` can call it after deploying:
 * `seedWordnetDemo(await openDatanetService({ dataDir, rpcUrl, registry, privateKeys: devKeys }), devAccount0)`.
 */
export async function seedWordnetDemo(
  service: DatanetService,
  owner: LocalAccount,
  opts: SeedDemoOptions = {},
): Promise<string> {
  return (await seedWordnetDemoRun(service, owner, opts)).text;
}

type SeedDemoOptions = {
  perDomain?: number;
  domains?: string[];
  progress?: boolean;
  progressStream?: ProgressStream;
};

/** seedWordnetDemo, with the summary (undefined when the Datanets already exist). */
async function seedWordnetDemoRun(
  service: DatanetService,
  owner: LocalAccount,
  opts: SeedDemoOptions,
): Promise<{ text: string; summary?: SeedSummary }> {
  const { seedWordnet, wordnetSeedUnfinished } = await import("@openledger/datanet");
  // An interrupted seed resumes; a finished one is not repeated.
  if (!wordnetSeedUnfinished(service) && service.listDatanets().some((d) => d.name.startsWith("WordNet "))) {
    return { text: "WordNet Datanets already exist here; nothing to do" };
  }
  const { devAccounts } = await import("@openledger/common/dev-accounts");
  const { privateKeyToAccount } = await import("viem/accounts");
  const { multiProgress } = await import("../progress.ts");
  const contributors = devAccounts.slice(1, 6).map((a) => privateKeyToAccount(a.privateKey));
  // both phases advance at once (domains run in parallel): one line shows the two
  const labels: Record<string, string> = { stage: "contributions", snapshot: "snapshots" };
  const { activeLogger } = await import("../context.ts");
  const progress = multiProgress(Object.values(labels), { stream: opts.progressStream, log: activeLogger() });
  let summary: SeedSummary;
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
  return {
    summary,
    text: `${summary.datanets} Datanets, ${summary.contributions} contributions (${summary.accepted} accepted, ${summary.rejected} rejected, ${summary.skippedDuplicates} duplicates skipped), ${summary.snapshots.length} snapshots`,
  };
}
