// The model catalogue as published in ModelRegistry: metadata JSON blobs in the content store, the
// read API the serving layer uses (resolveModel, listPublishedModels) and `models add-base`.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import type { BlobStore } from "@openledger/datanet";
import { convertHfToGguf, GgufFile, llamaConfigFromGguf } from "@openledger/ml";
import {
  getModel,
  getModelVersion,
  listModelIds,
  registerModel,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import { CID } from "multiformats/cid";
import type { Address, Client, Hex } from "viem";
import { checkBaseLogits } from "./base-check.ts";
import { sha256Hex } from "./canonical.ts";
import { ConflictError, InvalidRequestError, NotFoundError } from "./errors.ts";

/** The JSON blob a model's `metadataURI` points at (agreed with OpenLoRA). */
export interface ModelMetadata {
  name: string;
  kind: "adapter" | "base";
  baseModel: { name: string; hash: Hex; uri: string };
  tokenizer: string;
  chatTemplate?: string;
  manifest?: string;
}

/** What servers need to load a model (agreed with OpenLoRA). */
export interface PublishedModel {
  modelId: bigint;
  version: number;
  name: string;
  owner: Address;
  pricePer1kTokens: bigint;
  baseModel: { name: string; hash: Hex; cid: string };
  tokenizerCid: string;
  adapter?: { hash: Hex; cid: string };
  snapshotIds: bigint[];
  chatTemplate?: string;
}

/** Where the catalogue lives: the chain's ModelRegistry and the content store. */
export interface RegistryContext {
  client: Client;
  modelRegistry: Address;
  blobs: BlobStore;
}

export const ipfsUri = (cid: string) => `ipfs://${cid}`;

/** The CID of an `ipfs://<cid>` URI; throws on anything else. */
export function cidOfUri(uri: string): string {
  const m = /^ipfs:\/\/([a-z2-7]+)$/.exec(uri);
  if (!m) throw new InvalidRequestError("invalid_uri", `'${uri}' is not an ipfs://<CIDv1> URI`);
  return m[1];
}

/** The sha256 digest inside a CIDv1 (raw, sha2-256) as bytes32 hex. */
export function digestOfCid(cid: string): Hex {
  return `0x${Buffer.from(CID.parse(cid).multihash.digest).toString("hex")}`;
}

const metadataCache = new Map<string, ModelMetadata | null>();

/** Reads and checks a metadata blob; null when it is missing or not this format. */
export async function readMetadata(blobs: BlobStore, uri: string): Promise<ModelMetadata | null> {
  let cid: string;
  try {
    cid = cidOfUri(uri);
  } catch {
    return null;
  }
  if (metadataCache.has(cid)) return metadataCache.get(cid)!;
  let parsed: ModelMetadata | null = null;
  try {
    const json = JSON.parse(Buffer.from(await blobs.get(cid)).toString("utf8")) as ModelMetadata;
    if (
      typeof json.name === "string" &&
      (json.kind === "adapter" || json.kind === "base") &&
      typeof json.baseModel?.hash === "string" &&
      typeof json.tokenizer === "string"
    )
      parsed = json;
  } catch {
    return null; // not in this store (yet): not cached, it may arrive later
  }
  metadataCache.set(cid, parsed);
  return parsed;
}

/** A registered model with its metadata, the on-chain record and its latest live version. */
export interface ModelRecord {
  published: PublishedModel;
  metadata: ModelMetadata;
  metadataCid: string;
  retired: boolean;
}

async function recordOf(ctx: RegistryContext, modelId: bigint): Promise<ModelRecord | null> {
  const model = await getModel(ctx.client, { registry: ctx.modelRegistry, modelId });
  const metadata = await readMetadata(ctx.blobs, model.metadataURI);
  if (!metadata) return null;
  const base = {
    name: metadata.baseModel.name,
    hash: metadata.baseModel.hash,
    cid: cidOfUri(metadata.baseModel.uri),
  };
  const common = {
    modelId,
    name: metadata.name,
    owner: model.owner,
    baseModel: base,
    tokenizerCid: cidOfUri(metadata.tokenizer),
    ...(metadata.chatTemplate ? { chatTemplate: metadata.chatTemplate } : {}),
  };
  const metadataCid = cidOfUri(model.metadataURI);
  if (metadata.kind === "base") {
    return {
      published: { ...common, version: 0, pricePer1kTokens: 0n, snapshotIds: [] },
      metadata,
      metadataCid,
      retired: model.retired,
    };
  }
  // an adapter model is visible only once a version is published (registration alone is not a model)
  for (let v = model.versionCount; v >= 1; v--) {
    const version = await getModelVersion(ctx.client, { registry: ctx.modelRegistry, modelId, version: v });
    if (version.retired) continue;
    return {
      published: {
        ...common,
        version: v,
        pricePer1kTokens: version.pricePer1kTokens,
        adapter: { hash: version.adapterHash, cid: cidOfUri(version.adapterURI) },
        snapshotIds: [...version.snapshotIds],
      },
      metadata,
      metadataCid,
      retired: model.retired,
    };
  }
  return null;
}

/** Every model (all kinds) with readable metadata, oldest first; retired ones included when asked. */
export async function listModelRecords(
  ctx: RegistryContext,
  opts: { includeRetired?: boolean } = {},
): Promise<ModelRecord[]> {
  const ids = await listModelIds(ctx.client, { registry: ctx.modelRegistry });
  const records: ModelRecord[] = [];
  for (const id of ids) {
    const r = await recordOf(ctx, id);
    if (r && (opts.includeRetired || !r.retired)) records.push(r);
  }
  return records;
}

/** Live models (bases and adapters with a published version), oldest first. */
export async function listPublishedModels(ctx: RegistryContext): Promise<PublishedModel[]> {
  return (await listModelRecords(ctx)).map((r) => r.published);
}

/** A model by id (`"7"`, `7n`) or name (the newest of that name); NotFoundError when unknown. */
export async function resolveModelRecord(
  ctx: RegistryContext,
  nameOrId: string | bigint,
): Promise<ModelRecord> {
  const text = String(nameOrId);
  if (/^\d+$/.test(text)) {
    const r = await recordOf(ctx, BigInt(text));
    if (r) return r;
  } else {
    const all = await listModelRecords(ctx);
    const hit = all.filter((r) => r.published.name === text).at(-1);
    if (hit) return hit;
  }
  throw new NotFoundError(
    "model_not_found",
    `no published model '${text}'; list them with \`openledger models list\` or add a base with \`openledger models add-base FILE\``,
    "model",
  );
}

export async function resolveModel(ctx: RegistryContext, nameOrId: string | bigint): Promise<PublishedModel> {
  return (await resolveModelRecord(ctx, nameOrId)).published;
}

export async function putJson(blobs: BlobStore, value: unknown): Promise<string> {
  return (await blobs.put(Buffer.from(`${JSON.stringify(value, null, 2)}\n`))).cid;
}

/**
 * Registers a base model: a LLaMA/Qwen2 GGUF file, or a Hugging Face folder (config.json,
 * safetensors, tokenizer.json) converted to GGUF first. The file and tokenizer.json go into the
 * content store; the model is registered with metadata of kind "base". Adding the same file under
 * the same name again returns the existing model.
 */
export async function addBaseModel(
  ctx: RegistryContext,
  wallet: WalletClientWithAccount,
  input: { path: string; name?: string; tokenizerPath?: string; chatTemplate?: string },
): Promise<{ record: ModelRecord; created: boolean }> {
  if (!existsSync(input.path))
    throw new InvalidRequestError("file_not_found", `${input.path} does not exist`);
  let ggufPath = input.path;
  let tmp: string | null = null;
  let tokenizerPath = input.tokenizerPath ?? join(dirname(input.path), "tokenizer.json");
  if (statSync(input.path).isDirectory()) {
    tmp = mkdtempSync(join(tmpdir(), "openledger-base-"));
    ggufPath = join(tmp, "model.gguf");
    convertHfToGguf(input.path, ggufPath, { name: input.name ?? basename(input.path) });
    tokenizerPath = input.tokenizerPath ?? join(input.path, "tokenizer.json");
  }
  try {
    const file = GgufFile.open(ggufPath);
    try {
      llamaConfigFromGguf(file);
    } finally {
      file.close();
    }
    if (!existsSync(tokenizerPath)) {
      throw new InvalidRequestError(
        "tokenizer_not_found",
        `no tokenizer.json at ${tokenizerPath}; pass --tokenizer PATH`,
      );
    }
    const name = input.name ?? basename(input.path).replace(/\.gguf$/i, "");
    await checkBaseLogits(ggufPath, readFileSync(tokenizerPath, "utf8"), name);
    const bytes = readFileSync(ggufPath);
    const hash = sha256Hex(bytes);
    const existing = (await listModelRecords(ctx)).filter((r) => r.published.name === name);
    for (const r of existing) {
      if (r.metadata.kind === "base" && r.published.baseModel.hash === hash)
        return { record: r, created: false };
    }
    if (existing.length > 0) {
      throw new ConflictError(
        "model_name_taken",
        `a model named '${name}' is already registered with other weights`,
      );
    }
    const { cid } = await ctx.blobs.put(bytes);
    const tokenizer = await ctx.blobs.put(readFileSync(tokenizerPath));
    const metadata: ModelMetadata = {
      name,
      kind: "base",
      baseModel: { name, hash, uri: ipfsUri(cid) },
      tokenizer: ipfsUri(tokenizer.cid),
      ...(input.chatTemplate ? { chatTemplate: input.chatTemplate } : {}),
    };
    const metadataCid = await putJson(ctx.blobs, metadata);
    const { modelId } = await registerModel(wallet, {
      registry: ctx.modelRegistry,
      metadataURI: ipfsUri(metadataCid),
    });
    return { record: (await recordOf(ctx, modelId))!, created: true };
  } finally {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
