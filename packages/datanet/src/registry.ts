import {
  approveToken,
  buyLicense,
  datanetRegistryAbi,
  decodeContractError,
  getDatanet,
  hasLicense,
  OpenLedgerContractError,
  OpenLedgerTransactionError,
  tokenAllowance,
  type WalletClientWithAccount,
} from "@openledger/sdk";
import {
  type Address,
  encodeFunctionData,
  type Hex,
  type PublicClient,
  parseEventLogs,
  type TransactionReceipt,
} from "viem";
import {
  call,
  getBlock,
  getBlockNumber,
  getLogs,
  readContract,
  sendTransaction,
  waitForTransactionReceipt,
} from "viem/actions";
import { ChainError, DatanetError, InvalidInputError, NotFoundError, PermissionError } from "./errors.ts";
import type { RegistryEvent, RegistryPort } from "./registry-port.ts";

export interface SdkRegistryOptions {
  publicClient: PublicClient;
  registry: Address;
  /** Payment token (for license approvals); read from the registry when omitted. */
  token?: Address;
  /** Wallet clients this process may send from (e.g. the dev accounts on a local chain). */
  wallets?: readonly WalletClientWithAccount[];
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

/** RegistryPort over the sdk's viem actions. */
export class SdkRegistry implements RegistryPort {
  readonly chainId: number;
  readonly address: Address;
  private readonly client: PublicClient;
  private readonly wallets = new Map<string, WalletClientWithAccount>();
  private token: Address | undefined;
  /** Per sender: the tail of its simulate-and-send queue (receipts are awaited outside it). */
  private readonly sendQueues = new Map<string, Promise<unknown>>();

  constructor(chainId: number, opts: SdkRegistryOptions) {
    this.chainId = chainId;
    this.address = opts.registry;
    this.client = opts.publicClient;
    this.token = opts.token;
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
    const out: RegistryEvent[] = [];
    for (const log of parseEventLogs({ abi: datanetRegistryAbi, logs })) {
      const base = { block: log.blockNumber, logIndex: log.logIndex, txHash: log.transactionHash };
      const a = log.args as Record<string, unknown>;
      switch (log.eventName) {
        case "DatanetCreated":
          out.push({
            ...base,
            type: "DatanetCreated",
            datanetId: a.datanetId as bigint,
            owner: a.owner as Address,
            metadataUri: a.metadataURI as string,
            licensePrice: a.licensePrice as bigint,
          });
          break;
        case "MetadataURISet":
          out.push({
            ...base,
            type: "MetadataURISet",
            datanetId: a.datanetId as bigint,
            metadataUri: a.metadataURI as string,
          });
          break;
        case "LicenseTermsSet":
          out.push({
            ...base,
            type: "LicenseTermsSet",
            datanetId: a.datanetId as bigint,
            licensePrice: a.licensePrice as bigint,
          });
          break;
        case "DatanetOwnershipTransferred":
          out.push({
            ...base,
            type: "DatanetOwnershipTransferred",
            datanetId: a.datanetId as bigint,
            to: a.to as Address,
          });
          break;
        case "ContributionSubmitted":
          out.push({
            ...base,
            type: "ContributionSubmitted",
            contributionId: a.contributionId as bigint,
            datanetId: a.datanetId as bigint,
            contributor: a.contributor as Address,
            contentHash: a.contentHash as Hex,
            byteSize: a.byteSize as bigint,
            license: a.license as Hex,
          });
          break;
        case "ContributionCurated":
          out.push({
            ...base,
            type: "ContributionCurated",
            contributionId: a.contributionId as bigint,
            datanetId: a.datanetId as bigint,
            accepted: a.accepted as boolean,
          });
          break;
        case "SnapshotPublished":
          out.push({
            ...base,
            type: "SnapshotPublished",
            snapshotId: a.snapshotId as bigint,
            datanetId: a.datanetId as bigint,
            version: Number(a.version),
            chunksRoot: a.chunksRoot as Hex,
            uri: a.uri as string,
          });
          break;
        case "LicensePurchased":
          out.push({
            ...base,
            type: "LicensePurchased",
            snapshotId: a.snapshotId as bigint,
            licensee: a.licensee as Address,
          });
          break;
      }
    }
    return out;
  }

  /**
   * Simulates and sends a registry call from `from`, then waits for its receipt. Sends from one
   * account go out one at a time in call order (each takes the next pending nonce), but nobody waits
   * for a receipt before the next send, so an account's transactions, and different accounts'
   * transactions, share blocks.
   */
  private async transact(from: Address, functionName: string, data: Hex): Promise<TransactionReceipt> {
    const wallet = this.wallet(from);
    const label = `DatanetRegistry.${functionName}`;
    const sent = this.inTurn(from, async () => {
      try {
        await call(wallet, { account: wallet.account, to: this.address, data });
        return await sendTransaction(wallet, {
          account: wallet.account,
          chain: wallet.chain ?? null,
          to: this.address,
          data,
        });
      } catch (err) {
        throw decodeContractError(err, label);
      }
    });
    const hash = await sent;
    const receipt = await waitForTransactionReceipt(this.client, { hash });
    if (receipt.status !== "success") {
      throw new OpenLedgerTransactionError(
        `${label}: transaction ${hash} reverted in block ${receipt.blockNumber}`,
      );
    }
    return receipt;
  }

  /** Runs `fn` when `from`'s earlier sends are out; later sends from `from` wait for it. */
  private inTurn<T>(from: Address, fn: () => Promise<T>): Promise<T> {
    const key = from.toLowerCase();
    const run = (this.sendQueues.get(key) ?? Promise.resolve()).then(fn);
    const tail = run.catch(() => undefined);
    this.sendQueues.set(key, tail);
    tail.then(() => {
      if (this.sendQueues.get(key) === tail) this.sendQueues.delete(key);
    });
    return run;
  }

  createDatanet(
    from: Address,
    args: { metadataUri: string; licensePrice: bigint; ownerBps: number; bond: bigint; curators: Address[] },
  ) {
    const data = encodeFunctionData({
      abi: datanetRegistryAbi,
      functionName: "createDatanet",
      args: [args.metadataUri, args.licensePrice, args.ownerBps, args.bond, args.curators],
    });
    return guarded(async () => {
      const receipt = await this.transact(from, "createDatanet", data);
      const [event] = parseEventLogs({
        abi: datanetRegistryAbi,
        logs: receipt.logs,
        eventName: "DatanetCreated",
      });
      return { datanetId: event.args.datanetId, block: receipt.blockNumber };
    });
  }

  submitContributions(
    from: Address,
    datanetId: bigint,
    items: { contentHash: Hex; byteSize: bigint; license: Hex }[],
  ) {
    return guarded(async () => {
      const wallet = this.wallet(from);
      const { bond } = await getDatanet(this.client, { registry: this.address, datanetId });
      if (bond > 0n) {
        await this.inTurn(from, () => this.ensureAllowance(wallet, from, bond * BigInt(items.length)));
      }
      const data = encodeFunctionData({
        abi: datanetRegistryAbi,
        functionName: "submitContributions",
        args: [
          datanetId,
          items.map((x) => x.contentHash),
          items.map((x) => x.byteSize),
          items.map((x) => x.license),
        ],
      });
      const receipt = await this.transact(from, "submitContributions", data);
      const [first] = parseEventLogs({
        abi: datanetRegistryAbi,
        logs: receipt.logs,
        eventName: "ContributionSubmitted",
      });
      return { firstId: first.args.contributionId, block: receipt.blockNumber };
    });
  }

  curateBatch(from: Address, contributionIds: bigint[], accepts: boolean[]) {
    const data = encodeFunctionData({
      abi: datanetRegistryAbi,
      functionName: "curateBatch",
      args: [contributionIds, accepts],
    });
    return guarded(async () => {
      const receipt = await this.transact(from, "curateBatch", data);
      return { block: receipt.blockNumber };
    });
  }

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
  ) {
    const data = encodeFunctionData({
      abi: datanetRegistryAbi,
      functionName: "publishSnapshot",
      args: [
        args.datanetId,
        args.chunksRoot,
        args.chunkCount,
        args.contributionCount,
        args.contributorsRoot,
        args.totalWeight,
        args.uri,
      ],
    });
    return guarded(async () => {
      const receipt = await this.transact(from, "publishSnapshot", data);
      const [event] = parseEventLogs({
        abi: datanetRegistryAbi,
        logs: receipt.logs,
        eventName: "SnapshotPublished",
      });
      return { snapshotId: event.args.snapshotId, block: receipt.blockNumber };
    });
  }

  private async tokenAddress(): Promise<Address> {
    this.token ??= await readContract(this.client, {
      address: this.address,
      abi: datanetRegistryAbi,
      functionName: "token",
    });
    return this.token;
  }

  /** Bonds and license fees are pulled with transferFrom: approve the registry for `amount` if needed. */
  private async ensureAllowance(
    wallet: WalletClientWithAccount,
    owner: Address,
    amount: bigint,
  ): Promise<void> {
    const token = await this.tokenAddress();
    const allowance = await tokenAllowance(this.client, { token, owner, spender: this.address });
    if (allowance < amount) await approveToken(wallet, { token, spender: this.address, amount });
  }

  buyLicense(from: Address, snapshotId: bigint, licensee: Address) {
    return guarded(async () => {
      const wallet = this.wallet(from);
      const snapshot = await readContract(this.client, {
        address: this.address,
        abi: datanetRegistryAbi,
        functionName: "getSnapshot",
        args: [snapshotId],
      });
      if (snapshot.version === 0)
        throw new NotFoundError("unknown_snapshot", `snapshot ${snapshotId} does not exist`);
      // The sdk's calls wait for their receipts: hold this account's turn until both are mined.
      const r = await this.inTurn(from, async () => {
        await this.ensureAllowance(wallet, from, snapshot.licensePrice);
        return buyLicense(wallet, { registry: this.address, snapshotId, licensee });
      });
      return { block: r.receipt.blockNumber, price: r.price };
    });
  }

  hasLicense(snapshotId: bigint, account: Address): Promise<boolean> {
    return guarded(() => hasLicense(this.client, { registry: this.address, snapshotId, account }));
  }

  snapshotChunksRoot(snapshotId: bigint): Promise<Hex> {
    return guarded(() =>
      readContract(this.client, {
        address: this.address,
        abi: datanetRegistryAbi,
        functionName: "snapshotChunksRoot",
        args: [snapshotId],
      }),
    );
  }
}
