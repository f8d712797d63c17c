import type { Address, Hex } from "viem";

/** What the Datanet service needs from the chain's DatanetRegistry (implemented over the sdk). */
export interface RegistryPort {
  readonly chainId: number;
  readonly address: Address;
  blockNumber(): Promise<bigint>;
  /** Hash of block `n` (undefined when the chain has no such block). */
  blockHash(n: bigint): Promise<Hex | undefined>;
  /** Decoded registry events in [fromBlock, toBlock], in chain order. */
  events(fromBlock: bigint, toBlock: bigint): Promise<RegistryEvent[]>;
  createDatanet(
    from: Address,
    args: { metadataUri: string; licensePrice: bigint; ownerBps: number; bond: bigint; curators: Address[] },
  ): Promise<{ datanetId: bigint; block: bigint }>;
  submitContributions(
    from: Address,
    datanetId: bigint,
    items: { contentHash: Hex; byteSize: bigint; license: Hex }[],
  ): Promise<{ firstId: bigint; block: bigint }>;
  curateBatch(from: Address, contributionIds: bigint[], accepts: boolean[]): Promise<{ block: bigint }>;
  publishSnapshot(
    from: Address,
    args: {
      datanetId: bigint;
      chunksRoot: Hex;
      chunkCount: number;
      contributionCount: number;
      contributorsRoot: Hex;
      totalWeight: bigint;
      uri: string;
    },
  ): Promise<{ snapshotId: bigint; block: bigint }>;
  buyLicense(from: Address, snapshotId: bigint, licensee: Address): Promise<{ block: bigint; price: bigint }>;
  hasLicense(snapshotId: bigint, account: Address): Promise<boolean>;
  snapshotChunksRoot(snapshotId: bigint): Promise<Hex>;
  /** Accounts this process can send transactions from. */
  canSendFrom(account: Address): boolean;
}

interface EventBase {
  block: bigint;
  logIndex: number;
  txHash: Hex;
}

export type RegistryEvent =
  | (EventBase & {
      type: "DatanetCreated";
      datanetId: bigint;
      owner: Address;
      metadataUri: string;
      licensePrice: bigint;
    })
  | (EventBase & { type: "MetadataURISet"; datanetId: bigint; metadataUri: string })
  | (EventBase & { type: "LicenseTermsSet"; datanetId: bigint; licensePrice: bigint })
  | (EventBase & { type: "DatanetOwnershipTransferred"; datanetId: bigint; to: Address })
  | (EventBase & {
      type: "ContributionSubmitted";
      contributionId: bigint;
      datanetId: bigint;
      contributor: Address;
      contentHash: Hex;
      byteSize: bigint;
      license: Hex;
    })
  | (EventBase & {
      type: "ContributionCurated";
      contributionId: bigint;
      datanetId: bigint;
      accepted: boolean;
    })
  | (EventBase & {
      type: "SnapshotPublished";
      snapshotId: bigint;
      datanetId: bigint;
      version: number;
      chunksRoot: Hex;
      uri: string;
    })
  | (EventBase & { type: "LicensePurchased"; snapshotId: bigint; licensee: Address });
