import {
  attributeSpanV2,
  type ChunkRef,
  checkChunkProofs,
  computeSpanV2,
  type EvidenceChunk,
  encodeSpanV2Challenge,
  encodeSpanV2PayoutsChallenge,
  nfcBytes,
  payoutsForCredits,
  type SpanChunk,
  SpanIndex,
  type SpanV2Result,
  spanChunkLeaf,
} from "@openledger/attribution";
import { MerkleTree } from "@openledger/merkle";
import {
  buildPayoutTree,
  challenge,
  datanetRegistryAbi,
  getBatch,
  getSnapshot,
  type RecordProof,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import {
  type Address,
  type Client,
  decodeAbiParameters,
  getAddress,
  type Hex,
  keccak256,
  parseAbiParameters,
} from "viem";
import { readContract } from "viem/actions";
import { trainingFromJson, uncreditedPayouts } from "./batch-builder.ts";
import type { TrainingSnapshotJson } from "./db.ts";
import { SettlementError } from "./errors.ts";
import { type StoredAttribution, witnessChunks } from "./evidence.ts";

/** A record as `GET /v1/settlement/batches/:id/records/:index` serves it. */
export interface PublishedRecord {
  batchId: string;
  index: number;
  attribution: Hex;
  attributionHash: Hex;
  payouts: { account: Address; amount: string }[];
  proof: { hash: Hex; sum: string }[];
  output: string | null;
  snapshotIds: string[];
  evidence: StoredAttribution | null;
  training?: TrainingSnapshotJson[];
}

/**
 * What checking a record found: `right` (recomputed and paid as its credits say), `wrong` with the
 * evidence that proves it on-chain, or `unchecked` (what was published does not let anyone check it:
 * ask the operator with requestEvidence; or an uncredited record, whose payouts only the off-chain rule
 * constrains).
 */
export type RecordVerdict =
  | { index: number; verdict: "right" }
  | { index: number; verdict: "wrong"; reason: string; evidence: Hex }
  | { index: number; verdict: "unchecked"; reason: string }
  /** breaks the off-chain rule for uncredited records, which no on-chain challenge can prove */
  | { index: number; verdict: "disputed"; reason: string };

const ATTRIBUTION = parseAbiParameters(
  "(bytes32 outputHash, bytes32 commitment, uint256[] snapshotIds, (uint256 contributionId, uint32 chunkIndex, bytes32 textHash)[] witnesses)",
);

/** Published snapshots a checker recomputes answers over: span indexes and proven chunks by snapshot id. */
export interface SnapshotSource {
  index(snapshotId: bigint): SpanIndex | undefined;
  /** the chunk with its Merkle proof against the snapshot's chunks root */
  chunk(snapshotId: bigint, ref: ChunkRef): EvidenceChunk | undefined;
}

/**
 * A snapshot source over whole snapshots (e.g. Datanet snapshot exports: chunks in leaf order). Each
 * snapshot's chunks must rebuild its root, or it is refused.
 */
export function snapshotSource(
  snapshots: readonly { snapshotId: bigint; root: Hex; chunks: SpanChunk[] }[],
): SnapshotSource {
  const by = new Map<bigint, { index: SpanIndex; tree: MerkleTree; chunks: SpanChunk[] }>();
  for (const s of snapshots) {
    const tree = MerkleTree.build(s.chunks.map(spanChunkLeaf));
    if (tree.root.toLowerCase() !== s.root.toLowerCase())
      throw new SettlementError(
        `snapshot ${s.snapshotId}: its chunks rebuild root ${tree.root}, not ${s.root} (not this snapshot, or not in leaf order)`,
      );
    by.set(s.snapshotId, { index: SpanIndex.build(s.chunks, s.root), tree, chunks: s.chunks });
  }
  return {
    index: (id) => by.get(id)?.index,
    chunk(id, ref) {
      const s = by.get(id);
      const leaf = s?.chunks.findIndex(
        (c) => c.contributionId === ref.contributionId && c.chunkIndex === ref.chunkIndex,
      );
      if (!s || leaf === undefined || leaf < 0) return undefined;
      return { ...s.chunks[leaf]!, snapshotId: id, proof: s.tree.proof(leaf) };
    },
  };
}

/** The record with its sum-tree proof, as `challenge` / `requestEvidence` send it. */
export function recordProofOf(r: PublishedRecord): RecordProof {
  return {
    index: BigInt(r.index),
    attribution: r.attribution,
    attributionHash: keccak256(r.attribution),
    payouts: r.payouts.map((p) => ({ account: getAddress(p.account), amount: BigInt(p.amount) })),
    proof: r.proof.map((n) => ({ hash: n.hash, sum: BigInt(n.sum) })),
  };
}

/**
 * Checks one published span-v2 record against the chain: its snapshots exist, its witnesses are
 * proven against their on-chain chunk roots with the texts it commits to, span-v2 recomputed over
 * them gives its commitment, and its payouts are exactly what its credits pay (the verifier's rule).
 * With `snapshots` holding every snapshot it names, span-v2 is also recomputed over the whole
 * snapshots: a record that left out a chunk that matters (paying a later copy instead of the original)
 * is wrong, and the evidence adds the missing chunks with their proofs. With `modelOwner` (the batch's,
 * from the chain) an uncredited record's payouts are checked against the uncredited rule over the
 * training snapshots the operator published (their contributors must be the on-chain contributors
 * roots; the training tokens are the operator's word): a mismatch is `disputed`.
 */
export async function checkRecord(
  client: Client,
  o: { datanetRegistry: Address; snapshots?: SnapshotSource; modelOwner?: Address },
  r: PublishedRecord,
): Promise<RecordVerdict> {
  const index = r.index;
  // a record whose attribution does not decode, or names an unpublished snapshot, is wrong whatever
  // the evidence: the verifier rules on the record alone
  const anyEvidence = encodeSpanV2Challenge({ output: "", chunks: [] });
  let a: {
    outputHash: Hex;
    commitment: Hex;
    snapshotIds: readonly bigint[];
    witnesses: readonly { contributionId: bigint; chunkIndex: number; textHash: Hex }[];
  };
  try {
    [a] = decodeAbiParameters(ATTRIBUTION, r.attribution);
  } catch {
    return { index, verdict: "wrong", reason: "its attribution bytes do not decode", evidence: anyEvidence };
  }
  const roots: Hex[] = [];
  for (const id of a.snapshotIds) {
    const exists = await readContract(client, {
      address: o.datanetRegistry,
      abi: datanetRegistryAbi,
      functionName: "snapshotExists",
      args: [id],
    });
    if (!exists)
      return {
        index,
        verdict: "wrong",
        reason: `it names snapshot ${id}, never published`,
        evidence: anyEvidence,
      };
    roots.push(
      await readContract(client, {
        address: o.datanetRegistry,
        abi: datanetRegistryAbi,
        functionName: "snapshotChunksRoot",
        args: [id],
      }),
    );
  }
  if (r.output === null || keccak256(nfcBytes(r.output, "output")) !== a.outputHash)
    return {
      index,
      verdict: "unchecked",
      reason: "the operator did not publish the answer this record hashes",
    };
  if (!r.evidence) {
    if (a.witnesses.length > 0)
      return { index, verdict: "unchecked", reason: "the operator did not publish the witness chunks" };
  }
  const chunks = r.evidence ? witnessChunks(r.evidence) : [];
  const proven = a.witnesses.every((w) =>
    chunks.some(
      (c) =>
        c.contributionId === w.contributionId &&
        c.chunkIndex === w.chunkIndex &&
        keccak256(nfcBytes(c.text, "witness")) === w.textHash,
    ),
  );
  try {
    const rootOf = new Map(a.snapshotIds.map((id, k) => [id, roots[k]!]));
    checkChunkProofs(
      chunks.map((c) => ({ ...c, root: rootOf.get(c.snapshotId) ?? `0x${"00".repeat(32)}` })),
      roots,
    );
  } catch (err) {
    return {
      index,
      verdict: "unchecked",
      reason: `the published witnesses are not proven: ${(err as Error).message}`,
    };
  }
  if (!proven)
    return { index, verdict: "unchecked", reason: "the published chunks do not include every witness" };
  const recompute = encodeSpanV2Challenge({ output: r.output, chunks });
  let result: SpanV2Result;
  try {
    result = computeSpanV2(r.output, chunks, roots);
  } catch (err) {
    return {
      index,
      verdict: "wrong",
      reason: `span-v2 cannot take it: ${(err as Error).message}`,
      evidence: recompute,
    };
  }
  if (result.commitment !== a.commitment)
    return {
      index,
      verdict: "wrong",
      reason: `span-v2 over its witnesses gives commitment ${result.commitment}, not the recorded ${a.commitment}`,
      evidence: recompute,
    };
  const indexes = a.snapshotIds.map((id) => o.snapshots?.index(id));
  if (o.snapshots && indexes.every((x) => x !== undefined)) {
    const full = attributeSpanV2(r.output, indexes as SpanIndex[]);
    if (full.commitment !== a.commitment) {
      const added = full.witnesses
        .filter(
          (w) => !chunks.some((c) => c.contributionId === w.contributionId && c.chunkIndex === w.chunkIndex),
        )
        .map((w) => a.snapshotIds.map((id) => o.snapshots!.chunk(id, w)).find((c) => c !== undefined))
        .filter((c): c is EvidenceChunk => c !== undefined);
      const credited = (x: SpanV2Result) =>
        x.credits.map((c) => `${c.contributionId}:${c.share}`).join(", ") || "nobody";
      return {
        index,
        verdict: "wrong",
        reason: `span-v2 over the whole snapshots credits ${credited(full)}; the record credits ${credited(result)} (it leaves out ${added.length} chunk(s) that matter)`,
        evidence: encodeSpanV2Challenge({ output: r.output, chunks: [...chunks, ...added] }),
      };
    }
  }
  if (result.credits.length === 0) return checkUncredited(client, o, r);
  const ids = result.credits.map((c) => c.contributionId);
  const owners = await Promise.all(
    ids.map((id) =>
      readContract(client, {
        address: o.datanetRegistry,
        abi: datanetRegistryAbi,
        functionName: "contributorOf",
        args: [id],
      }),
    ),
  );
  const total = r.payouts.reduce((s, p) => s + BigInt(p.amount), 0n);
  const expected = payoutsForCredits(result.credits, total, (id) => owners[ids.indexOf(id)]!);
  const same = samePayouts(expected, r.payouts);
  if (!same)
    return {
      index,
      verdict: "wrong",
      reason: `its payouts differ from what its credits pay (${expected.map((p) => `${p.amount} to ${p.account}`).join(", ")})`,
      evidence: encodeSpanV2PayoutsChallenge(result),
    };
  return { index, verdict: "right" };
}

async function checkUncredited(
  client: Client,
  o: { datanetRegistry: Address; modelOwner?: Address },
  r: PublishedRecord,
): Promise<RecordVerdict> {
  const index = r.index;
  if (!o.modelOwner) return { index, verdict: "right" };
  const training = trainingFromJson(r.training ?? []);
  for (const s of training) {
    const snap = await getSnapshot(client, { registry: o.datanetRegistry, snapshotId: s.snapshotId });
    let root: Hex;
    try {
      root = buildPayoutTree(s.contributors.map((c) => ({ account: c.account, amount: c.weight }))).root;
    } catch {
      root = `0x${"00".repeat(32)}`;
    }
    if (root !== snap.contributorsRoot || s.totalWeight !== snap.totalWeight)
      return {
        index,
        verdict: "disputed",
        reason: `the contributors it publishes for snapshot ${s.snapshotId} are not the snapshot's on-chain contributors root and total weight`,
      };
  }
  const total = r.payouts.reduce((sum, p) => sum + BigInt(p.amount), 0n);
  const expected = uncreditedPayouts(total, training, o.modelOwner);
  const same = samePayouts(expected, r.payouts);
  return same
    ? { index, verdict: "right" }
    : {
        index,
        verdict: "disputed",
        reason: `it credits no span, but its payouts are not the uncredited rule's over the training snapshots (${expected.map((p) => `${p.amount} to ${p.account}`).join(", ") || "model owner"})`,
      };
}

async function getJson<T>(url: string): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch {
    throw new SettlementError(`cannot reach ${url}`);
  }
  const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
  if (!res.ok) throw new SettlementError(`${url}: ${body?.error?.message ?? `HTTP ${res.status}`}`);
  return body as T;
}

/** A batch's summary and records from an operator's API (`api` like http://127.0.0.1:8080). */
export async function fetchBatchRecords(
  api: string,
  batchId: bigint,
): Promise<{ batch: { id: string; status: string; records: number }; records: PublishedRecord[] }> {
  const base = `${api.replace(/\/+$/, "")}/v1/settlement/batches/${batchId}`;
  const batch = await getJson<{ id: string; status: string; records: number }>(base);
  const records: PublishedRecord[] = [];
  for (let i = 0; i < batch.records; i++)
    records.push(await getJson<PublishedRecord>(`${base}/records/${i}`));
  return { batch, records };
}

/** The ids of an operator's published batches, newest first. */
export async function listBatches(api: string, limit = 100): Promise<bigint[]> {
  const list = await getJson<{ data: { id: string }[] }>(
    `${api.replace(/\/+$/, "")}/v1/settlement/batches?limit=${limit}`,
  );
  return list.data.map((b) => BigInt(b.id));
}

export interface ChallengeOutcome {
  batchId: bigint;
  verdicts: RecordVerdict[];
  /** set when a wrong record was challenged on-chain (the batch reverted) */
  challenged?: { index: number; hash: Hex; reward: bigint };
}

/**
 * Checks every record of a batch; with `wallet`, challenges the first wrong one on-chain while the
 * batch is still pending (a proven challenge reverts the batch and pays the challenger's reward).
 */
export async function checkBatch(
  client: Client,
  o: {
    api: string;
    settlement: Address;
    datanetRegistry: Address;
    snapshots?: SnapshotSource;
    wallet?: WalletClientWithAccount;
  },
  batchId: bigint,
): Promise<ChallengeOutcome> {
  const { records } = await fetchBatchRecords(o.api, batchId);
  const onChain = await getBatch(client, { settlement: o.settlement, batchId });
  const verdicts: RecordVerdict[] = [];
  for (const r of records)
    verdicts.push(await checkRecord(client, { ...o, modelOwner: onChain.modelOwner }, r));
  const wrong = verdicts.find(
    (v): v is Extract<RecordVerdict, { verdict: "wrong" }> => v.verdict === "wrong",
  );
  if (!wrong || !o.wallet || onChain.status !== 1) return { batchId, verdicts };
  const sent = await challenge(o.wallet, {
    settlement: o.settlement,
    batchId,
    record: recordProofOf(records[wrong.index]!),
    evidence: wrong.evidence,
  });
  return { batchId, verdicts, challenged: { index: wrong.index, hash: sent.hash, reward: sent.reward } };
}

/** Whether a record's published payouts are exactly `expected`, in order (addresses in any case). */
function samePayouts(
  expected: readonly { account: Address; amount: bigint }[],
  published: PublishedRecord["payouts"],
): boolean {
  return (
    expected.length === published.length &&
    expected.every(
      (p, i) =>
        getAddress(p.account) === getAddress(published[i]!.account) &&
        p.amount === BigInt(published[i]!.amount),
    )
  );
}
