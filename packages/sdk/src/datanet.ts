import {
  type Address,
  type Client,
  encodeFunctionData,
  type Hex,
  hexToString,
  parseEventLogs,
  stringToHex,
} from "viem";
import { readContract } from "viem/actions";
import { OpenLedgerTransactionError } from "./errors.ts";
import { datanetRegistryAbi as abi } from "./generated/abis.ts";
import { read, type Sent, transact, type WalletClientWithAccount } from "./transact.ts";

// DatanetRegistry pulls bonds and license fees with transferFrom: approve (or permit) it first.

/** An SPDX license id (e.g. "CC-BY-4.0") as the bytes32 the registry stores. */
export function spdxToBytes32(spdx: string): Hex {
  if (!/^[A-Za-z0-9.+-]{1,32}$/.test(spdx)) {
    throw new OpenLedgerTransactionError(`"${spdx}" is not an SPDX license id of at most 32 characters`);
  }
  return stringToHex(spdx, { size: 32 });
}

/** The SPDX id stored as bytes32. */
export function bytes32ToSpdx(value: Hex): string {
  return hexToString(value, { size: 32 }).replace(/\0+$/, "");
}

export interface CreateDatanetParams {
  registry: Address;
  metadataURI: string;
  /** Training-license price per snapshot, in $OPEN wei. */
  licensePrice: bigint;
  /** Owner's share of each license fee in basis points; the rest goes to the snapshot's contributors. */
  ownerBps: number;
  /** Bond per contribution (refunded on accept, forfeited on reject); 0 for none. */
  bond?: bigint;
  /** Curators besides the owner; empty means owner-curated. */
  curators?: readonly Address[];
}

export async function createDatanet(
  client: WalletClientWithAccount,
  params: CreateDatanetParams,
): Promise<Sent & { datanetId: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "createDatanet",
    args: [
      params.metadataURI,
      params.licensePrice,
      params.ownerBps,
      params.bond ?? 0n,
      params.curators ?? [],
    ],
  });
  const sent = await transact(client, { to: params.registry, data, label: "DatanetRegistry.createDatanet" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "DatanetCreated" });
  return { ...sent, datanetId: event.args.datanetId };
}

export interface ContributionInput {
  /** keccak256 (or other 32-byte digest) of the content. */
  contentHash: Hex;
  byteSize: bigint;
  /** SPDX id as bytes32 (see spdxToBytes32). */
  license: Hex;
}

export async function contribute(
  client: WalletClientWithAccount,
  params: { registry: Address; datanetId: bigint } & ContributionInput,
): Promise<Sent & { contributionId: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "submitContribution",
    args: [params.datanetId, params.contentHash, params.byteSize, params.license],
  });
  const sent = await transact(client, {
    to: params.registry,
    data,
    label: "DatanetRegistry.submitContribution",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "ContributionSubmitted" });
  return { ...sent, contributionId: event.args.contributionId };
}

/** Submits many contributions in one transaction; returns their ids in input order. */
export async function contributeBatch(
  client: WalletClientWithAccount,
  params: { registry: Address; datanetId: bigint; contributions: readonly ContributionInput[] },
): Promise<Sent & { contributionIds: bigint[] }> {
  const c = params.contributions;
  const data = encodeFunctionData({
    abi,
    functionName: "submitContributions",
    args: [params.datanetId, c.map((x) => x.contentHash), c.map((x) => x.byteSize), c.map((x) => x.license)],
  });
  const sent = await transact(client, {
    to: params.registry,
    data,
    label: "DatanetRegistry.submitContributions",
  });
  const events = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "ContributionSubmitted" });
  return { ...sent, contributionIds: events.map((e) => e.args.contributionId) };
}

/** Accepts or rejects a pending contribution (owner or curator). */
export function curate(
  client: WalletClientWithAccount,
  params: { registry: Address; contributionId: bigint; accept: boolean },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "curate",
    args: [params.contributionId, params.accept],
  });
  return transact(client, { to: params.registry, data, label: "DatanetRegistry.curate" });
}

export function curateBatch(
  client: WalletClientWithAccount,
  params: { registry: Address; decisions: readonly { contributionId: bigint; accept: boolean }[] },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "curateBatch",
    args: [params.decisions.map((d) => d.contributionId), params.decisions.map((d) => d.accept)],
  });
  return transact(client, { to: params.registry, data, label: "DatanetRegistry.curateBatch" });
}

export function setCurator(
  client: WalletClientWithAccount,
  params: { registry: Address; datanetId: bigint; curator: Address; enabled: boolean },
): Promise<Sent> {
  const data = encodeFunctionData({
    abi,
    functionName: "setCurator",
    args: [params.datanetId, params.curator, params.enabled],
  });
  return transact(client, { to: params.registry, data, label: "DatanetRegistry.setCurator" });
}

export interface PublishSnapshotParams {
  registry: Address;
  datanetId: bigint;
  /** Merkle root over the accepted chunks (chunkLeaf from @openledger/merkle). */
  chunksRoot: Hex;
  chunkCount: number;
  contributionCount: number;
  /** Merkle root over (contributor, weight) leaves (settlementLeaf encoding); zero with totalWeight 0. */
  contributorsRoot: Hex;
  totalWeight: bigint;
  uri: string;
}

/** Publishes the next snapshot version (owner only). */
export async function publishSnapshot(
  client: WalletClientWithAccount,
  params: PublishSnapshotParams,
): Promise<Sent & { snapshotId: bigint; version: number }> {
  const data = encodeFunctionData({
    abi,
    functionName: "publishSnapshot",
    args: [
      params.datanetId,
      params.chunksRoot,
      params.chunkCount,
      params.contributionCount,
      params.contributorsRoot,
      params.totalWeight,
      params.uri,
    ],
  });
  const sent = await transact(client, {
    to: params.registry,
    data,
    label: "DatanetRegistry.publishSnapshot",
  });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "SnapshotPublished" });
  return { ...sent, snapshotId: event.args.snapshotId, version: event.args.version };
}

/** Buys a training license for a snapshot (paid by the sender, for `licensee`, default the sender). */
export async function buyLicense(
  client: WalletClientWithAccount,
  params: { registry: Address; snapshotId: bigint; licensee?: Address },
): Promise<Sent & { price: bigint; ownerShare: bigint; contributorsShare: bigint }> {
  const licensee = params.licensee ?? client.account.address;
  const data = encodeFunctionData({ abi, functionName: "buyLicense", args: [params.snapshotId, licensee] });
  const sent = await transact(client, { to: params.registry, data, label: "DatanetRegistry.buyLicense" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "LicensePurchased" });
  return {
    ...sent,
    price: event.args.price,
    ownerShare: event.args.ownerShare,
    contributorsShare: event.args.contributorsShare,
  };
}

/** Pays a contributor its accrued royalties from a snapshot (proof of its (account, weight) leaf). */
export async function claimRoyalty(
  client: WalletClientWithAccount,
  params: { registry: Address; snapshotId: bigint; account: Address; weight: bigint; proof: readonly Hex[] },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "claimRoyalty",
    args: [params.snapshotId, params.account, params.weight, params.proof],
  });
  const sent = await transact(client, { to: params.registry, data, label: "DatanetRegistry.claimRoyalty" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "RoyaltyClaimed" });
  return { ...sent, amount: event.args.amount };
}

/** Withdraws the sender's claimable balance (owner license shares, refunded bonds) to `to`. */
export async function claimDatanetEarnings(
  client: WalletClientWithAccount,
  params: { registry: Address; to?: Address },
): Promise<Sent & { amount: bigint }> {
  const data = encodeFunctionData({
    abi,
    functionName: "claim",
    args: [params.to ?? client.account.address],
  });
  const sent = await transact(client, { to: params.registry, data, label: "DatanetRegistry.claim" });
  const [event] = parseEventLogs({ abi, logs: sent.receipt.logs, eventName: "Claimed" });
  return { ...sent, amount: event.args.amount };
}

export function hasLicense(
  client: Client,
  params: { registry: Address; snapshotId: bigint; account: Address },
): Promise<boolean> {
  return read("DatanetRegistry.hasLicense", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "hasLicense",
      args: [params.snapshotId, params.account],
    }),
  );
}

export function getDatanet(client: Client, params: { registry: Address; datanetId: bigint }) {
  return read("DatanetRegistry.getDatanet", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "getDatanet",
      args: [params.datanetId],
    }),
  );
}

export function getContribution(client: Client, params: { registry: Address; contributionId: bigint }) {
  return read("DatanetRegistry.getContribution", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "getContribution",
      args: [params.contributionId],
    }),
  );
}

export function getSnapshot(client: Client, params: { registry: Address; snapshotId: bigint }) {
  return read("DatanetRegistry.getSnapshot", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "getSnapshot",
      args: [params.snapshotId],
    }),
  );
}

export function datanetClaimable(
  client: Client,
  params: { registry: Address; account: Address },
): Promise<bigint> {
  return read("DatanetRegistry.claimable", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "claimable",
      args: [params.account],
    }),
  );
}

/** The contribution id of a content hash in a Datanet (0n when absent). */
export function contributionIdOf(
  client: Client,
  params: { registry: Address; datanetId: bigint; contentHash: Hex },
) {
  return read("DatanetRegistry.contributionIdOf", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "contributionIdOf",
      args: [params.datanetId, params.contentHash],
    }),
  );
}

/** The snapshot id of a Datanet's version (0n when absent). */
export function snapshotIdOf(
  client: Client,
  params: { registry: Address; datanetId: bigint; version: number },
) {
  return read("DatanetRegistry.snapshotIdOf", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "snapshotIdOf",
      args: [params.datanetId, params.version],
    }),
  );
}

/** Whether `account` may curate the Datanet (its owner or a curator). */
export function isCurator(
  client: Client,
  params: { registry: Address; datanetId: bigint; account: Address },
) {
  return read("DatanetRegistry.isCurator", () =>
    readContract(client, {
      address: params.registry,
      abi,
      functionName: "isCurator",
      args: [params.datanetId, params.account],
    }),
  );
}
