import { type Address, type Client, encodeFunctionData, type Hex, parseEventLogs } from "viem";
import { readContract } from "viem/actions";
import { modelRegistryAbi as abi } from "./generated/abis.ts";
import { read, type Sent, transact, type WalletClientWithAccount } from "./transact.ts";

export interface ModelVersionInput {
  baseModelHash: Hex;
  adapterHash: Hex;
  adapterURI: string;
  /** Snapshots trained on; the model owner must hold a training license for every one. */
  snapshotIds: readonly bigint[];
  trainingConfigHash: Hex;
  pricePer1kTokens: bigint;
}

/** Registers a model (an owner and a metadata URI); versions carry the provenance. */
export async function registerModel(
  client: WalletClientWithAccount,
  params: { registry: Address; metadataURI: string; version?: ModelVersionInput },
): Promise<Sent & { modelId: bigint; version?: number }> {
  const data = encodeFunctionData({ abi, functionName: "registerModel", args: [params.metadataURI] });
  const sent = await transact(client, { to: params.registry, data, label: "ModelRegistry.registerModel" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "ModelRegistered" });
  const modelId = event.args.modelId;
  if (!params.version) return { ...sent, modelId };
  const published = await publishModelVersion(client, {
    registry: params.registry,
    modelId,
    ...params.version,
  });
  return { ...published, modelId, version: published.version };
}

/** Publishes the next version of a model with its provenance (owner only). */
export async function publishModelVersion(
  client: WalletClientWithAccount,
  params: { registry: Address; modelId: bigint } & ModelVersionInput,
): Promise<Sent & { version: number }> {
  const data = encodeFunctionData({
    abi,
    functionName: "publishVersion",
    args: [
      params.modelId,
      {
        baseModelHash: params.baseModelHash,
        adapterHash: params.adapterHash,
        adapterURI: params.adapterURI,
        snapshotIds: [...params.snapshotIds],
        trainingConfigHash: params.trainingConfigHash,
        pricePer1kTokens: params.pricePer1kTokens,
      },
    ],
  });
  const sent = await transact(client, { to: params.registry, data, label: "ModelRegistry.publishVersion" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "VersionPublished" });
  return { ...sent, version: event.args.version };
}

/** Retires a whole model (owner only), or one version when `version` is given. */
export function retireModel(
  client: WalletClientWithAccount,
  params: { registry: Address; modelId: bigint; version?: number },
): Promise<Sent> {
  const data =
    params.version === undefined
      ? encodeFunctionData({ abi, functionName: "retireModel", args: [params.modelId] })
      : encodeFunctionData({ abi, functionName: "retireVersion", args: [params.modelId, params.version] });
  const label = params.version === undefined ? "ModelRegistry.retireModel" : "ModelRegistry.retireVersion";
  return transact(client, { to: params.registry, data, label });
}

export function getModel(client: Client, params: { registry: Address; modelId: bigint }) {
  return read("ModelRegistry.getModel", () =>
    readContract(client, { address: params.registry, abi, functionName: "getModel", args: [params.modelId] }),
  );
}

export interface Provenance {
  modelId: bigint;
  version: number;
  owner: Address;
  baseModelHash: Hex;
  adapterHash: Hex;
  adapterURI: string;
  snapshotIds: bigint[];
  /** Chunk roots of the snapshots trained on, in the same order. */
  trainingRoots: Hex[];
  trainingConfigHash: Hex;
  pricePer1kTokens: bigint;
  publishedAt: bigint;
  retired: boolean;
}

/** A model version's provenance (latest version when `version` is omitted). */
export async function getProvenance(
  client: Client,
  params: { registry: Address; modelId: bigint; version?: number },
): Promise<Provenance> {
  const model = await getModel(client, params);
  const version = params.version ?? model.versionCount;
  const [v, roots] = await Promise.all([
    read("ModelRegistry.getVersion", () =>
      readContract(client, {
        address: params.registry,
        abi,
        functionName: "getVersion",
        args: [params.modelId, version],
      }),
    ),
    read("ModelRegistry.trainingRoots", () =>
      readContract(client, {
        address: params.registry,
        abi,
        functionName: "trainingRoots",
        args: [params.modelId, version],
      }),
    ),
  ]);
  return {
    modelId: params.modelId,
    version,
    owner: model.owner,
    baseModelHash: v.baseModelHash,
    adapterHash: v.adapterHash,
    adapterURI: v.adapterURI,
    snapshotIds: [...v.snapshotIds],
    trainingRoots: [...roots],
    trainingConfigHash: v.trainingConfigHash,
    pricePer1kTokens: v.pricePer1kTokens,
    publishedAt: v.publishedAt,
    retired: v.retired || model.retired,
  };
}

/** One version's record as stored (no training roots; see getProvenance for those). */
export function getModelVersion(
  client: Client,
  params: { registry: Address; modelId: bigint; version: number },
) {
  return read("ModelRegistry.getVersion", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "getVersion",
      args: [params.modelId, params.version],
    }),
  );
}

/** Sets a model's metadata URI (owner only). */
export function setModelMetadataURI(
  client: WalletClientWithAccount,
  params: { registry: Address; modelId: bigint; metadataURI: string },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "setMetadataURI",
    args: [params.modelId, params.metadataURI],
  });
  return transact(client, { to: params.registry, data, label: "ModelRegistry.setMetadataURI" });
}

/**
 * Every registered model id from `fromId` on. Ids are sequential and never reused, so the scan stops
 * at the first id without an owner.
 */
export async function listModelIds(
  client: Client,
  params: { registry: Address; fromId?: bigint },
): Promise<bigint[]> {
  const ids: bigint[] = [];
  for (let id = params.fromId ?? 1n; ; id++) {
    const model = await getModel(client, { registry: params.registry, modelId: id });
    if (model.owner === "0x0000000000000000000000000000000000000000") return ids;
    ids.push(id);
  }
}
