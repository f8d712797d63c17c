import type {
  ContributionInput,
  CreateDatanetParams,
  DatanetRegistryEvent,
  SnapshotCommitment,
} from "@openledger/sdk";
import type { Address, Hex } from "viem";

/** A DatanetRegistry event as decoded by the sdk from the generated ABI (typed args, block, log index). */
export type RegistryEvent = DatanetRegistryEvent;
export type RegistryEventOf<name extends RegistryEvent["eventName"]> = Extract<
  RegistryEvent,
  { eventName: name }
>;

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
    args: Omit<CreateDatanetParams, "registry">,
  ): Promise<{ datanetId: bigint; block: bigint }>;
  submitContributions(
    from: Address,
    datanetId: bigint,
    items: readonly ContributionInput[],
  ): Promise<{ firstId: bigint; block: bigint }>;
  curateBatch(
    from: Address,
    decisions: readonly { contributionId: bigint; accept: boolean }[],
  ): Promise<{ block: bigint }>;
  publishSnapshot(
    from: Address,
    snapshot: SnapshotCommitment,
  ): Promise<{ snapshotId: bigint; block: bigint }>;
  buyLicense(from: Address, snapshotId: bigint, licensee: Address): Promise<{ block: bigint; price: bigint }>;
  hasLicense(snapshotId: bigint, account: Address): Promise<boolean>;
  snapshotChunksRoot(snapshotId: bigint): Promise<Hex>;
  /** The payment token (license fees and bonds are pulled from it with transferFrom). */
  token(): Promise<Address>;
  /** The bond each contribution to the Datanet pulls from its contributor (0 for none). */
  contributionBond(datanetId: bigint): Promise<bigint>;
  /** What a licence of the snapshot costs (a not_found error when it does not exist). */
  licensePrice(snapshotId: bigint): Promise<bigint>;
  /** Accounts this process can send transactions from. */
  canSendFrom(account: Address): boolean;
}
