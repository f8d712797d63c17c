// `models verify`: re-hash every artefact of a published model and hold it against the chain.
import { BlobIntegrityError, type BlobStore, NotFoundError } from "@openledger/datanet";
import { datanetRegistryAbi, getProvenance, modelRegistryAbi } from "@openledger/sdk";
import { type Address, type Hex, parseEventLogs } from "viem";
import { getTransactionReceipt, readContract } from "viem/actions";
import { canonicalHash, sha256Hex } from "./canonical.ts";
import {
  type DatasetRecord,
  type DatasetSource,
  datasetHash,
  datasetJsonl,
  datasetRecords,
} from "./dataset.ts";
import type { TrainingManifest } from "./manifest.ts";
import { cidOfUri, digestOfCid, type RegistryContext, resolveModelRecord } from "./models.ts";

export interface VerifyCheck {
  what: string;
  ok: boolean;
  detail: string;
  /** not checked (what it needs is not reachable here); `ok` stays true and `detail` says why */
  skipped?: boolean;
}

export interface VerifyOptions {
  /** the Datanets whose chunks re-derive the dataset hash; without them that check is skipped */
  datanets?: DatasetSource | null;
  /** why `datanets` is absent, for the skipped check's detail */
  datanetsUnavailable?: string;
}

export interface VerifyResult {
  modelId: bigint;
  version: number;
  name: string;
  ok: boolean;
  checks: VerifyCheck[];
}

async function hashBlob(
  blobs: BlobStore,
  cid: string,
): Promise<{ hash: Hex | null; error?: string; bytes?: Uint8Array }> {
  try {
    const bytes = await blobs.get(cid);
    return { hash: sha256Hex(bytes), bytes };
  } catch (err) {
    if (err instanceof BlobIntegrityError)
      return { hash: null, error: "the stored bytes do not match the CID (corrupted)" };
    return { hash: null, error: (err as Error).message };
  }
}

export async function verifyModel(
  ctx: RegistryContext,
  nameOrId: string | bigint,
  opts: VerifyOptions = {},
): Promise<VerifyResult> {
  const record = await resolveModelRecord(ctx, nameOrId);
  const p = record.published;
  const checks: VerifyCheck[] = [];
  const check = (what: string, ok: boolean, detail: string) => checks.push({ what, ok, detail });
  const blob = async (what: string, cid: string, expected: Hex | null, against: string) => {
    const h = await hashBlob(ctx.blobs, cid);
    if (h.hash === null) check(what, false, `${cid}: ${h.error}`);
    else if (expected !== null && h.hash !== expected)
      check(what, false, `sha256 ${h.hash} differs from ${against} ${expected}`);
    else check(what, true, `sha256 ${h.hash}${expected ? ` = ${against}` : ""}`);
    return h;
  };

  await blob("metadata", record.metadataCid, null, "");
  await blob("tokenizer", p.tokenizerCid, null, "");
  if (record.metadata.kind === "base") {
    await blob("base model file", p.baseModel.cid, p.baseModel.hash, "the registered hash");
    check(
      "base model CID",
      digestOfCid(p.baseModel.cid) === p.baseModel.hash,
      `CID digest ${digestOfCid(p.baseModel.cid)}`,
    );
    return { modelId: p.modelId, version: 0, name: p.name, ok: checks.every((c) => c.ok), checks };
  }

  const chain = await getProvenance(ctx.client, {
    registry: ctx.modelRegistry,
    modelId: p.modelId,
    version: p.version,
  });
  await blob("base model file", p.baseModel.cid, chain.baseModelHash, "on-chain baseModelHash");
  check(
    "base model in metadata",
    record.metadata.baseModel.hash === chain.baseModelHash,
    `metadata ${record.metadata.baseModel.hash}, chain ${chain.baseModelHash}`,
  );
  const adapterCid = cidOfUri(chain.adapterURI);
  await blob("adapter GGUF", adapterCid, chain.adapterHash, "on-chain adapterHash");
  check(
    "adapter URI",
    digestOfCid(adapterCid) === chain.adapterHash,
    `CID digest ${digestOfCid(adapterCid)} vs adapterHash ${chain.adapterHash}`,
  );

  if (!record.metadata.manifest) {
    check("training manifest", false, "the metadata names no training manifest");
    return { modelId: p.modelId, version: p.version, name: p.name, ok: false, checks };
  }
  const m = await blob("training manifest", cidOfUri(record.metadata.manifest), null, "");
  if (!m.bytes) return { modelId: p.modelId, version: p.version, name: p.name, ok: false, checks };
  const manifest = JSON.parse(Buffer.from(m.bytes).toString("utf8")) as TrainingManifest;
  const configHash = canonicalHash(manifest.config);
  check(
    "training config",
    configHash === chain.trainingConfigHash && manifest.configHash === chain.trainingConfigHash,
    `keccak256(canonical config) ${configHash}, on-chain trainingConfigHash ${chain.trainingConfigHash}`,
  );
  const ids = manifest.snapshots.map((s) => BigInt(s.id));
  check(
    "snapshots",
    ids.length === chain.snapshotIds.length && ids.every((id, i) => id === chain.snapshotIds[i]),
    `manifest [${ids.join(", ")}], chain [${chain.snapshotIds.join(", ")}]`,
  );
  const roots = manifest.snapshots.map((s) => s.root.toLowerCase());
  check(
    "snapshot roots",
    roots.length === chain.trainingRoots.length &&
      roots.every((r, i) => r === chain.trainingRoots[i].toLowerCase()),
    `manifest [${roots.join(", ")}], chain [${chain.trainingRoots.join(", ")}]`,
  );
  check(
    "manifest adapter hash",
    manifest.adapter.gguf.hash === chain.adapterHash,
    `manifest ${manifest.adapter.gguf.hash}, chain ${chain.adapterHash}`,
  );
  check(
    "manifest base hash",
    manifest.baseModel.hash === chain.baseModelHash,
    `manifest ${manifest.baseModel.hash}, chain ${chain.baseModelHash}`,
  );
  check(
    "manifest owner",
    manifest.owner.toLowerCase() === p.owner.toLowerCase(),
    `manifest ${manifest.owner}, on-chain model owner ${p.owner}`,
  );
  await checkLicences(ctx, manifest, check);
  checks.push(await checkDatasetHash(opts.datanets ?? null, manifest, opts.datanetsUnavailable));
  await blob(
    "PEFT adapter_config.json",
    cidOfUri(manifest.adapter.peftConfig.uri),
    manifest.adapter.peftConfig.hash,
    "the manifest's hash",
  );
  await blob(
    "PEFT adapter_model.safetensors",
    cidOfUri(manifest.adapter.peftWeights.uri),
    manifest.adapter.peftWeights.hash,
    "the manifest's hash",
  );
  await blob(
    "grad-v1 gradient store",
    cidOfUri(manifest.gradients.uri),
    manifest.gradients.hash,
    "the manifest's hash",
  );
  return { modelId: p.modelId, version: p.version, name: p.name, ok: checks.every((c) => c.ok), checks };
}

/**
 * The dataset hash, re-derived the way training formed it: every chunk of the manifest's snapshots in
 * leaf order as JSONL. Skipped (and said so) when those chunks are not reachable from here.
 */
async function checkDatasetHash(
  datanets: DatasetSource | null,
  manifest: TrainingManifest,
  why?: string,
): Promise<VerifyCheck> {
  const what = "dataset hash";
  if (!datanets) {
    const detail = `skipped: the Datanets' chunks are not reachable here${why ? ` (${why})` : ""}`;
    return { what, ok: true, skipped: true, detail };
  }
  let records: DatasetRecord[];
  try {
    records = await datasetRecords(
      datanets,
      manifest.snapshots.map((s) => s.id),
    );
  } catch (err) {
    // Only absence skips the check; chunks that are here but fail their own hash are a finding.
    if (!(err instanceof NotFoundError)) {
      return { what, ok: false, detail: `the snapshots' chunks cannot be read: ${(err as Error).message}` };
    }
    return {
      what,
      ok: true,
      skipped: true,
      detail: `skipped: the snapshots' chunks are not reachable here (${err.message})`,
    };
  }
  const hash = datasetHash(datasetJsonl(records));
  return {
    what,
    ok: hash === manifest.dataset.hash,
    detail:
      hash === manifest.dataset.hash
        ? `sha256 of the ${records.length} snapshot chunks ${hash} = the manifest's`
        : `the ${records.length} snapshot chunks hash to ${hash}, the manifest says ${manifest.dataset.hash}`,
  };
}

/**
 * Each snapshot's licence transaction named in the manifest must be on this chain and hold a
 * LicensePurchased of that snapshot to the owner, emitted by the DatanetRegistry ModelRegistry trusts
 * (so a look-alike event from another contract does not count).
 */
async function checkLicences(
  ctx: RegistryContext,
  manifest: TrainingManifest,
  check: (what: string, ok: boolean, detail: string) => void,
): Promise<void> {
  const registry = (await readContract(ctx.client, {
    address: ctx.modelRegistry,
    abi: modelRegistryAbi,
    functionName: "datanets",
  })) as Address;
  for (const s of manifest.snapshots) {
    const what = `licence of snapshot ${s.id}`;
    const licence = manifest.licences.find((l) => l.snapshotId === s.id);
    if (!licence?.transactionHash) {
      check(what, false, "the manifest names no licence transaction for it");
      continue;
    }
    const tx = licence.transactionHash;
    const receipt = await getTransactionReceipt(ctx.client, { hash: tx }).catch(() => null);
    if (receipt?.status !== "success") {
      check(what, false, `transaction ${tx} is not a successful transaction on this chain`);
      continue;
    }
    const bought = parseEventLogs({
      abi: datanetRegistryAbi,
      eventName: "LicensePurchased",
      logs: receipt.logs.filter((l) => l.address.toLowerCase() === registry.toLowerCase()),
    }).some(
      (e) =>
        e.args.snapshotId === BigInt(s.id) && e.args.licensee.toLowerCase() === manifest.owner.toLowerCase(),
    );
    check(
      what,
      bought,
      bought
        ? `LicensePurchased to ${manifest.owner} in ${tx}`
        : `transaction ${tx} holds no LicensePurchased of snapshot ${s.id} to ${manifest.owner}`,
    );
  }
}
