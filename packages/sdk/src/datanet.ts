import {
  type Address,
  type Client,
  type ContractFunctionName,
  type Hex,
  hexToString,
  type ParseEventLogsReturnType,
  stringToHex,
} from "viem";
import { readContract } from "viem/actions";
import { OpenLedgerTransactionError } from "./errors.ts";
import { datanetRegistryAbi as abi } from "./generated/abis.ts";
import {
  type ContractWrite,
  callOf,
  read,
  type Sent,
  sendCall,
  type WalletClientWithAccount,
  waitForWrite,
} from "./transact.ts";

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

type RegistryAbi = typeof abi;
/** A typed DatanetRegistry write (see `sendWrite` / `SendQueue.sendWrite`). */
export type DatanetRegistryWrite<name extends ContractFunctionName<RegistryAbi, "nonpayable">> =
  ContractWrite<RegistryAbi, name>;

// Each write comes as a builder (`…Write(params)`: the typed call, for a SendQueue or sendWrite) and an
// action (send, wait, decode the event). The argument order of each function lives only in its builder.

async function sendAndWait<name extends ContractFunctionName<RegistryAbi, "nonpayable">>(
  client: WalletClientWithAccount,
  write: DatanetRegistryWrite<name>,
) {
  const call = callOf(write as ContractWrite);
  const hash = await sendCall(client, call);
  return waitForWrite(client, { hash, label: call.label, abi });
}

export function createDatanetWrite(params: CreateDatanetParams): DatanetRegistryWrite<"createDatanet"> {
  return {
    address: params.registry,
    abi,
    functionName: "createDatanet",
    args: [
      params.metadataURI,
      params.licensePrice,
      params.ownerBps,
      params.bond ?? 0n,
      params.curators ?? [],
    ],
    label: "DatanetRegistry.createDatanet",
  };
}

export async function createDatanet(
  client: WalletClientWithAccount,
  params: CreateDatanetParams,
): Promise<Sent & { datanetId: bigint }> {
  const { hash, receipt, events } = await sendAndWait(client, createDatanetWrite(params));
  return { hash, receipt, datanetId: eventOf(events, "DatanetCreated").args.datanetId };
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
  const { hash, receipt, events } = await sendAndWait(client, {
    address: params.registry,
    abi,
    functionName: "submitContribution",
    args: [params.datanetId, params.contentHash, params.byteSize, params.license],
    label: "DatanetRegistry.submitContribution",
  });
  return { hash, receipt, contributionId: eventOf(events, "ContributionSubmitted").args.contributionId };
}

export interface ContributeBatchParams {
  registry: Address;
  datanetId: bigint;
  contributions: readonly ContributionInput[];
}

export function contributeBatchWrite(
  params: ContributeBatchParams,
): DatanetRegistryWrite<"submitContributions"> {
  const c = params.contributions;
  return {
    address: params.registry,
    abi,
    functionName: "submitContributions",
    args: [params.datanetId, c.map((x) => x.contentHash), c.map((x) => x.byteSize), c.map((x) => x.license)],
    label: "DatanetRegistry.submitContributions",
  };
}

/** Submits many contributions in one transaction; returns their ids in input order. */
export async function contributeBatch(
  client: WalletClientWithAccount,
  params: ContributeBatchParams,
): Promise<Sent & { contributionIds: bigint[] }> {
  const { hash, receipt, events } = await sendAndWait(client, contributeBatchWrite(params));
  return {
    hash,
    receipt,
    contributionIds: events.flatMap((e) =>
      e.eventName === "ContributionSubmitted" ? [e.args.contributionId] : [],
    ),
  };
}

/** Accepts or rejects a pending contribution (owner or curator). */
export async function curate(
  client: WalletClientWithAccount,
  params: { registry: Address; contributionId: bigint; accept: boolean },
): Promise<Sent> {
  const { hash, receipt } = await sendAndWait(client, {
    address: params.registry,
    abi,
    functionName: "curate",
    args: [params.contributionId, params.accept],
    label: "DatanetRegistry.curate",
  });
  return { hash, receipt };
}

export interface CurateBatchParams {
  registry: Address;
  decisions: readonly { contributionId: bigint; accept: boolean }[];
}

export function curateBatchWrite(params: CurateBatchParams): DatanetRegistryWrite<"curateBatch"> {
  return {
    address: params.registry,
    abi,
    functionName: "curateBatch",
    args: [params.decisions.map((d) => d.contributionId), params.decisions.map((d) => d.accept)],
    label: "DatanetRegistry.curateBatch",
  };
}

export async function curateBatch(client: WalletClientWithAccount, params: CurateBatchParams): Promise<Sent> {
  const { hash, receipt } = await sendAndWait(client, curateBatchWrite(params));
  return { hash, receipt };
}

export async function setCurator(
  client: WalletClientWithAccount,
  params: { registry: Address; datanetId: bigint; curator: Address; enabled: boolean },
): Promise<Sent> {
  const { hash, receipt } = await sendAndWait(client, {
    address: params.registry,
    abi,
    functionName: "setCurator",
    args: [params.datanetId, params.curator, params.enabled],
    label: "DatanetRegistry.setCurator",
  });
  return { hash, receipt };
}

/** What a snapshot commits on-chain (the registry's `publishSnapshot` arguments, by name). */
export interface SnapshotCommitment {
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

export interface PublishSnapshotParams extends SnapshotCommitment {
  registry: Address;
}

export function publishSnapshotWrite(params: PublishSnapshotParams): DatanetRegistryWrite<"publishSnapshot"> {
  return {
    address: params.registry,
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
    label: "DatanetRegistry.publishSnapshot",
  };
}

/** Publishes the next snapshot version (owner only). */
export async function publishSnapshot(
  client: WalletClientWithAccount,
  params: PublishSnapshotParams,
): Promise<Sent & { snapshotId: bigint; version: number }> {
  const { hash, receipt, events } = await sendAndWait(client, publishSnapshotWrite(params));
  const { snapshotId, version } = eventOf(events, "SnapshotPublished").args;
  return { hash, receipt, snapshotId, version };
}

export interface BuyLicenseParams {
  registry: Address;
  snapshotId: bigint;
  /** Who holds the license (default the sender). */
  licensee?: Address;
}

export function buyLicenseWrite(
  params: BuyLicenseParams & { licensee: Address },
): DatanetRegistryWrite<"buyLicense"> {
  return {
    address: params.registry,
    abi,
    functionName: "buyLicense",
    args: [params.snapshotId, params.licensee],
    label: "DatanetRegistry.buyLicense",
  };
}

/** Buys a training license for a snapshot (paid by the sender, for `licensee`, default the sender). */
export async function buyLicense(
  client: WalletClientWithAccount,
  params: BuyLicenseParams,
): Promise<Sent & { price: bigint; ownerShare: bigint; contributorsShare: bigint }> {
  const licensee = params.licensee ?? client.account.address;
  const { hash, receipt, events } = await sendAndWait(client, buyLicenseWrite({ ...params, licensee }));
  const { price, ownerShare, contributorsShare } = eventOf(events, "LicensePurchased").args;
  return { hash, receipt, price, ownerShare, contributorsShare };
}

/** Pays a contributor its accrued royalties from a snapshot (proof of its (account, weight) leaf). */
export async function claimRoyalty(
  client: WalletClientWithAccount,
  params: { registry: Address; snapshotId: bigint; account: Address; weight: bigint; proof: readonly Hex[] },
): Promise<Sent & { amount: bigint }> {
  const { hash, receipt, events } = await sendAndWait(client, {
    address: params.registry,
    abi,
    functionName: "claimRoyalty",
    args: [params.snapshotId, params.account, params.weight, params.proof],
    label: "DatanetRegistry.claimRoyalty",
  });
  return { hash, receipt, amount: eventOf(events, "RoyaltyClaimed").args.amount };
}

/** Withdraws the sender's claimable balance (owner license shares, refunded bonds) to `to`. */
export async function claimDatanetEarnings(
  client: WalletClientWithAccount,
  params: { registry: Address; to?: Address },
): Promise<Sent & { amount: bigint }> {
  const { hash, receipt, events } = await sendAndWait(client, {
    address: params.registry,
    abi,
    functionName: "claim",
    args: [params.to ?? client.account.address],
    label: "DatanetRegistry.claim",
  });
  return { hash, receipt, amount: eventOf(events, "Claimed").args.amount };
}

/** Every DatanetRegistry event, decoded and typed by the ABI. */
export type DatanetRegistryEvent = ParseEventLogsReturnType<RegistryAbi, undefined, true>[number];

/** The first `name` event of a decoded list (the registry emits it, so its absence is a broken receipt). */
export function eventOf<name extends DatanetRegistryEvent["eventName"]>(
  events: readonly DatanetRegistryEvent[],
  name: name,
): Extract<DatanetRegistryEvent, { eventName: name }> {
  const found = events.find((e) => e.eventName === name);
  if (!found) throw new OpenLedgerTransactionError(`DatanetRegistry: the receipt has no ${name} event`);
  return found as Extract<DatanetRegistryEvent, { eventName: name }>;
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
