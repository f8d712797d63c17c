import {
  approveToken,
  buyLicense,
  type ContractWrite,
  type ContributionInput,
  type CreateDatanetParams,
  contributeBatchWrite,
  createDatanetWrite,
  curateBatchWrite,
  datanetRegistryAbi,
  eventOf,
  getDatanet,
  getSnapshot,
  hasLicense,
  OpenLedgerContractError,
  OpenLedgerTransactionError,
  publishSnapshotWrite,
  SendQueue,
  type SnapshotCommitment,
  tokenAllowance,
  type WalletClientWithAccount,
  waitForWrite,
} from "@openledger/sdk";
import { type Address, type Hex, type PublicClient, parseEventLogs } from "viem";
import { getBlock, getBlockNumber, getLogs, readContract } from "viem/actions";
import { ChainError, DatanetError, InvalidInputError, NotFoundError, PermissionError } from "./errors.ts";
import type { RegistryEvent, RegistryPort } from "./registry-port.ts";

export interface SdkRegistryOptions {
  publicClient: PublicClient;
  registry: Address;
  /** Payment token (for license approvals); read from the registry when omitted. */
  token?: Address;
  /** Wallet clients this process may send from (e.g. the dev accounts on a local chain). */
  wallets?: readonly WalletClientWithAccount[];
  /** Orders each account's sends; share one with other parts of the process sending from these accounts. */
  queue?: SendQueue;
}

// Registry reverts a user can cause, mapped to the service's error kinds.
const REVERTS: Record<string, (e: OpenLedgerContractError) => DatanetError> = {
  UnknownDatanet: (e) => new NotFoundError("unknown_datanet", e.message),
  UnknownContribution: (e) => new NotFoundError("unknown_contribution", e.message),
  UnknownSnapshot: (e) => new NotFoundError("unknown_snapshot", e.message),
  NotDatanetOwner: (e) => new PermissionError("not_owner", e.message),
  NotCurator: (e) => new PermissionError("not_curator", e.message),
  DuplicateContribution: (e) => new DatanetError("conflict_error", "exact_duplicate", e.message),
  AlreadyLicensed: (e) => new DatanetError("conflict_error", "already_licensed", e.message),
  ContributionNotPending: (e) => new InvalidInputError("not_pending", e.message),
  EmptySnapshot: (e) => new InvalidInputError("nothing_accepted", e.message),
  ERC20InsufficientBalance: (e) =>
    new DatanetError("invalid_request_error", "insufficient_balance", e.message),
};

function chainError(err: unknown): DatanetError {
  if (err instanceof DatanetError) return err;
  if (err instanceof OpenLedgerContractError) {
    return REVERTS[err.errorName]?.(err) ?? new ChainError("reverted", err.message);
  }
  if (err instanceof OpenLedgerTransactionError) return new ChainError("transaction_failed", err.message);
  const message = (err as { shortMessage?: string }).shortMessage ?? (err as Error).message;
  return new ChainError("rpc_error", `chain request failed: ${String(message).split("\n")[0]}`);
}

async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw chainError(err);
  }
}

/**
 * RegistryPort over the sdk's actions: writes are the sdk's typed builders sent through a per-account
 * SendQueue (each account's sends in call order, receipts awaited concurrently, so an account's
 * transactions, and different accounts' transactions, share blocks); events are the sdk's typed logs.
 */
export class SdkRegistry implements RegistryPort {
  readonly chainId: number;
  readonly address: Address;
  private readonly client: PublicClient;
  private readonly wallets = new Map<string, WalletClientWithAccount>();
  private readonly queue: SendQueue;
  private tokenAddress: Address | undefined;

  constructor(chainId: number, opts: SdkRegistryOptions) {
    this.chainId = chainId;
    this.address = opts.registry;
    this.client = opts.publicClient;
    this.tokenAddress = opts.token;
    this.queue = opts.queue ?? new SendQueue();
    for (const w of opts.wallets ?? []) this.wallets.set(w.account.address.toLowerCase(), w);
  }

  static async create(opts: SdkRegistryOptions): Promise<SdkRegistry> {
    const chainId = await guarded(() => opts.publicClient.getChainId());
    return new SdkRegistry(chainId, opts);
  }

  canSendFrom(account: Address): boolean {
    return this.wallets.has(account.toLowerCase());
  }

  private wallet(account: Address): WalletClientWithAccount {
    const w = this.wallets.get(account.toLowerCase());
    if (!w) throw new PermissionError("no_key", `no key for ${account} in this process`);
    return w;
  }

  blockNumber(): Promise<bigint> {
    return guarded(() => getBlockNumber(this.client, { cacheTime: 0 }));
  }

  blockHash(n: bigint): Promise<Hex | undefined> {
    return guarded(async () => {
      try {
        return (await getBlock(this.client, { blockNumber: n })).hash ?? undefined;
      } catch (err) {
        if ((err as Error).name === "BlockNotFoundError") return undefined;
        throw err;
      }
    });
  }

  async events(fromBlock: bigint, toBlock: bigint): Promise<RegistryEvent[]> {
    const logs = await guarded(() => getLogs(this.client, { address: this.address, fromBlock, toBlock }));
    return parseEventLogs<typeof datanetRegistryAbi, true>({ abi: datanetRegistryAbi, logs, strict: true });
  }

  /** Sends `write` from `from` in that account's turn and waits for its receipt and events. */
  private async write(from: Address, write: ContractWrite<typeof datanetRegistryAbi>) {
    const hash = await this.queue.sendWrite(this.wallet(from), write as ContractWrite);
    return waitForWrite(this.client, { hash, label: write.label ?? "", abi: datanetRegistryAbi });
  }

  createDatanet(from: Address, args: Omit<CreateDatanetParams, "registry">) {
    return guarded(async () => {
      const { receipt, events } = await this.write(
        from,
        createDatanetWrite({ registry: this.address, ...args }),
      );
      return { datanetId: eventOf(events, "DatanetCreated").args.datanetId, block: receipt.blockNumber };
    });
  }

  submitContributions(from: Address, datanetId: bigint, contributions: readonly ContributionInput[]) {
    return guarded(async () => {
      const wallet = this.wallet(from);
      const { bond } = await getDatanet(this.client, { registry: this.address, datanetId });
      if (bond > 0n) {
        await this.queue.turn(from, () =>
          this.ensureAllowance(wallet, from, bond * BigInt(contributions.length)),
        );
      }
      const { receipt, events } = await this.write(
        from,
        contributeBatchWrite({ registry: this.address, datanetId, contributions }),
      );
      return {
        firstId: eventOf(events, "ContributionSubmitted").args.contributionId,
        block: receipt.blockNumber,
      };
    });
  }

  curateBatch(from: Address, decisions: readonly { contributionId: bigint; accept: boolean }[]) {
    return guarded(async () => {
      const { receipt } = await this.write(from, curateBatchWrite({ registry: this.address, decisions }));
      return { block: receipt.blockNumber };
    });
  }

  publishSnapshot(from: Address, snapshot: SnapshotCommitment) {
    return guarded(async () => {
      const { receipt, events } = await this.write(
        from,
        publishSnapshotWrite({ registry: this.address, ...snapshot }),
      );
      return { snapshotId: eventOf(events, "SnapshotPublished").args.snapshotId, block: receipt.blockNumber };
    });
  }

  token(): Promise<Address> {
    return guarded(async () => {
      this.tokenAddress ??= await readContract(this.client, {
        address: this.address,
        abi: datanetRegistryAbi,
        functionName: "token",
      });
      return this.tokenAddress;
    });
  }

  async contributionBond(datanetId: bigint): Promise<bigint> {
    return (await guarded(() => getDatanet(this.client, { registry: this.address, datanetId }))).bond;
  }

  licensePrice(snapshotId: bigint): Promise<bigint> {
    return guarded(async () => {
      const snapshot = await getSnapshot(this.client, { registry: this.address, snapshotId });
      if (snapshot.version === 0)
        throw new NotFoundError("unknown_snapshot", `snapshot ${snapshotId} does not exist`);
      return snapshot.licensePrice;
    });
  }

  /** Bonds and license fees are pulled with transferFrom: approve the registry for `amount` if needed. */
  private async ensureAllowance(
    wallet: WalletClientWithAccount,
    owner: Address,
    amount: bigint,
  ): Promise<void> {
    const token = await this.token();
    const allowance = await tokenAllowance(this.client, { token, owner, spender: this.address });
    if (allowance < amount) await approveToken(wallet, { token, spender: this.address, amount });
  }

  buyLicense(from: Address, snapshotId: bigint, licensee: Address) {
    return guarded(async () => {
      const wallet = this.wallet(from);
      const snapshot = await getSnapshot(this.client, { registry: this.address, snapshotId });
      if (snapshot.version === 0)
        throw new NotFoundError("unknown_snapshot", `snapshot ${snapshotId} does not exist`);
      // The approval must be mined before buyLicense is simulated: hold this account's turn for both.
      const r = await this.queue.turn(from, async () => {
        await this.ensureAllowance(wallet, from, snapshot.licensePrice);
        return buyLicense(wallet, { registry: this.address, snapshotId, licensee });
      });
      return { block: r.receipt.blockNumber, price: r.price };
    });
  }

  hasLicense(snapshotId: bigint, account: Address): Promise<boolean> {
    return guarded(() => hasLicense(this.client, { registry: this.address, snapshotId, account }));
  }

  async snapshotChunksRoot(snapshotId: bigint): Promise<Hex> {
    return (await guarded(() => getSnapshot(this.client, { registry: this.address, snapshotId }))).chunksRoot;
  }
}
