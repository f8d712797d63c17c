// Everything checked before a job is queued: the request's shape, the base model (registered, file
// present, hash matching), the snapshots (known, licensed on-chain to the owner) and the parameters.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobIntegrityError, type DatanetService } from "@openledger/datanet";
import { type Address, getAddress, isAddress } from "viem";
import { checkBaseLogits } from "./base-check.ts";
import { canonicalHash, sha256Hex } from "./canonical.ts";
import { resolveSnapshot, type SnapshotRef } from "./dataset.ts";
import { FactoryError, InvalidRequestError, PermissionError } from "./errors.ts";
import { parseHyperparameters } from "./hyperparameters.ts";
import type { JobSpec } from "./job-store.ts";
import { type PublishedModel, type RegistryContext, resolveModelRecord } from "./models.ts";

export const MAX_SNAPSHOTS = 32;

export interface CreateJobContext extends RegistryContext {
  datanets: DatanetService;
  /** accounts this service can publish for; the first is the default owner */
  accounts: Address[];
}

/** The request body of `POST /v1/fine_tuning/jobs`, checked field by field. */
interface ParsedRequest {
  model: string;
  snapshotNames: string[];
  suffix: string | null;
  owner: Address;
  name: string | null;
  publish: { pricePer1kTokens: string } | null;
  metadata: Record<string, string>;
  hyperparameters: unknown;
  seed: unknown;
}

function parseRequest(body: unknown, accounts: Address[]): ParsedRequest {
  if (!body || typeof body !== "object" || Array.isArray(body)) {
    throw new InvalidRequestError("invalid_body", "the request body must be a JSON object");
  }
  const b = body as Record<string, unknown>;
  if (typeof b.model !== "string" || b.model.length === 0 || b.model.length > 200) {
    throw new InvalidRequestError("invalid_model", "model must name a registered base model", "model");
  }
  if (b.validation_file !== undefined && b.validation_file !== null) {
    throw new InvalidRequestError(
      "unsupported_parameter",
      "validation_file is not supported: the held-out set is a seeded split of the snapshots (hyperparameters.eval_fraction)",
      "validation_file",
    );
  }
  const ext = (b.openledger ?? {}) as Record<string, unknown>;
  if (typeof ext !== "object" || Array.isArray(ext)) {
    throw new InvalidRequestError("invalid_body", "openledger must be an object", "openledger");
  }
  const names: string[] = [];
  if (b.training_file !== undefined && b.training_file !== null) {
    if (typeof b.training_file !== "string") {
      throw new InvalidRequestError(
        "invalid_training_file",
        "training_file must be a snapshot name",
        "training_file",
      );
    }
    names.push(b.training_file);
  }
  if (ext.snapshots !== undefined) {
    if (!Array.isArray(ext.snapshots) || !ext.snapshots.every((s) => typeof s === "string")) {
      throw new InvalidRequestError(
        "invalid_training_file",
        "openledger.snapshots must be an array of snapshot names",
        "openledger.snapshots",
      );
    }
    names.push(...(ext.snapshots as string[]));
  }
  const unique = [...new Set(names)];
  if (unique.length === 0) {
    throw new InvalidRequestError(
      "missing_training_file",
      "training_file must name a Datanet snapshot, e.g. wordnet-noun.animal@1",
      "training_file",
    );
  }
  if (unique.length > MAX_SNAPSHOTS) {
    throw new InvalidRequestError(
      "too_many_snapshots",
      `at most ${MAX_SNAPSHOTS} snapshots per job, got ${unique.length}`,
      "openledger.snapshots",
    );
  }
  let suffix: string | null = null;
  if (b.suffix !== undefined && b.suffix !== null) {
    if (typeof b.suffix !== "string" || !/^[A-Za-z0-9._-]{1,64}$/.test(b.suffix)) {
      throw new InvalidRequestError(
        "invalid_suffix",
        "suffix must be 1-64 letters, digits, '.', '_' or '-'",
        "suffix",
      );
    }
    suffix = b.suffix;
  }
  let name: string | null = null;
  if (ext.name !== undefined) {
    if (typeof ext.name !== "string" || !/^[A-Za-z0-9._:-]{1,96}$/.test(ext.name)) {
      throw new InvalidRequestError(
        "invalid_name",
        "openledger.name must be 1-96 letters, digits, '.', ':', '_' or '-'",
        "openledger.name",
      );
    }
    name = ext.name;
  }
  let owner = accounts[0];
  if (ext.owner !== undefined) {
    if (typeof ext.owner !== "string" || !isAddress(ext.owner)) {
      throw new InvalidRequestError(
        "invalid_owner",
        "openledger.owner must be an address",
        "openledger.owner",
      );
    }
    owner = getAddress(ext.owner);
  }
  if (!owner || !accounts.includes(owner)) {
    throw new PermissionError(
      "unknown_owner",
      `this server holds no key for ${owner ?? "any account"}; the owner must be one of ${accounts.join(", ") || "(none configured)"}`,
      "openledger.owner",
    );
  }
  let publish: ParsedRequest["publish"] = { pricePer1kTokens: "0" };
  if (ext.publish === false) publish = null;
  else if (ext.publish !== undefined && ext.publish !== true) {
    throw new InvalidRequestError(
      "invalid_publish",
      "openledger.publish must be true or false",
      "openledger.publish",
    );
  }
  if (ext.price_per_1k_tokens !== undefined) {
    const p = ext.price_per_1k_tokens;
    if (
      !(typeof p === "string" && /^\d{1,40}$/.test(p)) &&
      !(typeof p === "number" && Number.isSafeInteger(p) && p >= 0)
    ) {
      throw new InvalidRequestError(
        "invalid_price",
        "openledger.price_per_1k_tokens must be a whole number of OPEN wei (a decimal string)",
        "openledger.price_per_1k_tokens",
      );
    }
    if (publish) publish = { pricePer1kTokens: BigInt(p).toString() };
  }
  const metadata: Record<string, string> = {};
  if (b.metadata !== undefined && b.metadata !== null) {
    if (typeof b.metadata !== "object" || Array.isArray(b.metadata)) {
      throw new InvalidRequestError("invalid_metadata", "metadata must be an object of strings", "metadata");
    }
    const entries = Object.entries(b.metadata as Record<string, unknown>);
    if (
      entries.length > 16 ||
      entries.some(([k, v]) => typeof v !== "string" || k.length > 64 || v.length > 512)
    ) {
      throw new InvalidRequestError(
        "invalid_metadata",
        "metadata holds at most 16 string pairs (keys up to 64, values up to 512 characters)",
        "metadata",
      );
    }
    for (const [k, v] of entries) metadata[k] = v as string;
  }
  return {
    model: b.model,
    snapshotNames: unique,
    suffix,
    owner,
    name,
    publish,
    metadata,
    hyperparameters: b.hyperparameters,
    seed: b.seed,
  };
}

/**
 * Checks a create request and returns the job spec to queue; each refusal is a FactoryError with an
 * OpenAI-shaped body. Cheap checks first, chain reads last.
 */
export async function validateJobRequest(
  ctx: CreateJobContext,
  body: unknown,
  takenNames: (name: string) => boolean,
): Promise<JobSpec> {
  const req = parseRequest(body, ctx.accounts);
  const config = parseHyperparameters(req.hyperparameters, req.seed);
  const snapshots: SnapshotRef[] = req.snapshotNames.map((n) => resolveSnapshot(ctx.datanets, n));
  const base = await resolveModelRecord(ctx, req.model);
  if (base.metadata.kind !== "base") {
    throw new InvalidRequestError(
      "not_a_base_model",
      `'${req.model}' is a fine-tuned adapter; fine-tune a base model (kind "base")`,
      "model",
    );
  }
  let bytes: Uint8Array;
  try {
    bytes = await ctx.blobs.get(base.published.baseModel.cid);
  } catch (err) {
    if (err instanceof BlobIntegrityError) {
      throw new InvalidRequestError(
        "base_model_hash_mismatch",
        `the stored file of base model '${base.published.name}' does not match its content hash (${base.published.baseModel.cid}); add it again with \`openledger models add-base\``,
        "model",
      );
    }
    throw new InvalidRequestError(
      "base_model_unavailable",
      `the file of base model '${base.published.name}' (${base.published.baseModel.cid}) is not in this server's content store`,
      "model",
    );
  }
  const actual = sha256Hex(bytes);
  if (actual !== base.published.baseModel.hash) {
    throw new InvalidRequestError(
      "base_model_hash_mismatch",
      `base model '${base.published.name}' is registered with hash ${base.published.baseModel.hash} but its file hashes to ${actual}`,
      "model",
    );
  }
  await probeBaseOnce(ctx, base.published, bytes);
  for (const s of snapshots) {
    if (!(await ctx.datanets.hasLicense(BigInt(s.id), req.owner))) {
      throw new PermissionError(
        "missing_license",
        `${req.owner} holds no training licence for snapshot ${s.name} (id ${s.id}); buy one first (\`openledger datanet license --snapshot ${s.id}\`, or POST /v1/snapshots/${s.id}/license)`,
        "training_file",
      );
    }
  }
  const name =
    req.name ?? `ft:${base.published.name}:${req.suffix ?? snapshots.map((s) => s.name).join("+")}`;
  if (takenNames(name) || (await nameIsPublished(ctx, name))) {
    throw new InvalidRequestError(
      "model_name_taken",
      `a model or pending job is already named '${name}'; pass another suffix or openledger.name`,
      "suffix",
    );
  }
  return {
    owner: req.owner,
    baseModel: {
      name: base.published.name,
      modelId: base.published.modelId.toString(),
      hash: base.published.baseModel.hash,
      cid: base.published.baseModel.cid,
      tokenizerCid: base.published.tokenizerCid,
      ...(base.published.chatTemplate ? { chatTemplate: base.published.chatTemplate } : {}),
    },
    snapshots,
    config,
    configHash: canonicalHash(config),
    name,
    suffix: req.suffix,
    publish: req.publish,
    trainingFile: snapshots.map((s) => s.name).join(","),
    metadata: req.metadata,
  };
}

async function nameIsPublished(ctx: RegistryContext, name: string): Promise<boolean> {
  try {
    await resolveModelRecord(ctx, name);
    return true;
  } catch {
    return false;
  }
}

/** Base files (by hash) whose logits this process has already found finite: probed once, not per job. */
const finiteBases = new Set<string>();

/** The base's short forward pass (see checkBaseLogits), for bases registered before it existed or elsewhere. */
async function probeBaseOnce(ctx: RegistryContext, base: PublishedModel, bytes: Uint8Array): Promise<void> {
  if (finiteBases.has(base.baseModel.hash)) return;
  let tokenizer: string;
  try {
    tokenizer = Buffer.from(await ctx.blobs.get(base.tokenizerCid)).toString("utf8");
  } catch {
    throw new InvalidRequestError(
      "base_model_unavailable",
      `the tokenizer of base model '${base.name}' (${base.tokenizerCid}) is not in this server's content store`,
      "model",
    );
  }
  const dir = mkdtempSync(join(tmpdir(), "openledger-probe-"));
  try {
    const path = join(dir, "base.gguf");
    writeFileSync(path, bytes);
    await checkBaseLogits(path, tokenizer, base.name).catch((err: Error) => {
      if (err instanceof FactoryError) throw err;
      // the engine cannot load it (too large, unsupported): no job could train it either
      throw new InvalidRequestError(
        "base_model_unloadable",
        `base model '${base.name}' cannot be loaded by the training engine: ${err.message}`,
        "model",
      );
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  finiteBases.add(base.baseModel.hash);
}
