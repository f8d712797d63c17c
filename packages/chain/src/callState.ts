import type { MerklePatriciaTrie } from "@ethereumjs/mpt";
import { RLP } from "@ethereumjs/rlp";
import { Caches, MerkleStateManager } from "@ethereumjs/statemanager";
import { Account, type Address, equalsBytes } from "@ethereumjs/util";
import { copyAccount, DecodedAccountCache } from "./accountCache.ts";
import { hexKey } from "./hex.ts";

const RLP_EMPTY = Uint8Array.of(0x80);
/** Remembered reads per kind, cleared whole when full. */
const READS_LIMIT = 100_000;
/** State roots whose account reads are kept (the head's, and a few the clients still ask about). */
const ROOTS_KEPT = 4;

/**
 * Reads of committed state that answer every later eth_call without touching the state manager's
 * journal: accounts by (state root, address), storage slots by (storage root, slot), code by code
 * hash. Each key fixes its answer (a trie's content is fixed by its root), so nothing goes stale.
 */
export class CallReads {
  private readonly accounts = new Map<string, Map<string, Account | null>>();
  private readonly slots = new Map<string, Uint8Array | null>();
  private readonly codes = new Map<string, Uint8Array>();

  accountsAt(rootHex: string): Map<string, Account | null> {
    let map = this.accounts.get(rootHex);
    if (!map) {
      if (this.accounts.size >= ROOTS_KEPT) this.accounts.delete(this.accounts.keys().next().value as string);
      map = new Map();
      this.accounts.set(rootHex, map);
    }
    if (map.size >= READS_LIMIT) map.clear();
    return map;
  }

  slot(key: string): Uint8Array | null | undefined {
    return this.slots.get(key);
  }

  setSlot(key: string, value: Uint8Array | null): void {
    if (this.slots.size >= READS_LIMIT) this.slots.clear();
    this.slots.set(key, value);
  }

  code(hash: string): Uint8Array | undefined {
    return this.codes.get(hash);
  }

  setCode(hash: string, code: Uint8Array): void {
    if (this.codes.size >= READS_LIMIT) this.codes.clear();
    this.codes.set(hash, code);
  }
}

type Opts = ConstructorParameters<typeof MerkleStateManager>[0];

/**
 * The state manager of eth_call / eth_estimateGas / tracing VMs. Every call runs in a checkpoint that
 * is reverted, and @ethereumjs drops what the call read with it (its caches are journaled, its
 * storage tries discarded), so each call would re-decode the same accounts, rebuild a storage trie
 * per contract and re-journal every read. This one answers reads that miss the caches from
 * `CallReads` instead, and otherwise behaves exactly as MerkleStateManager: writes, and reads of
 * anything a write or a storage trie of this call may have changed, go the library's way.
 */
export class CallStateManager extends MerkleStateManager {
  private readonly accountReads: Map<string, Account | null>;
  /** The account cache, holding decoded accounts (accountCache.ts); absent for readers without caches. */
  private readonly decoded: DecodedAccountCache | undefined;
  /**
   * The storage tries @ethereumjs would hold open here, by address: the root each was opened at
   * (answered from `reads` without building it), or null once a real trie is open (reads go the
   * library's way). The library keeps a trie from its first read until revert, even past a
   * SELFDESTRUCT and re-creation of the account: mirrored, so every answer stays the library's.
   */
  private readonly tries = new Map<string, Uint8Array | null>();
  /** A storage trie was opened by hashed address: no slot is answered from `reads` until revert. */
  private openByHash = false;

  constructor(
    opts: Opts,
    private readonly reads: CallReads,
    private readonly baseRoot: Uint8Array,
  ) {
    super(opts);
    this.accountReads = reads.accountsAt(hexKey(baseRoot));
    // The given caches' account cache is swapped for one of decoded accounts (the same contract).
    if (this._caches?.account !== undefined) {
      this.decoded = new DecodedAccountCache();
      (this._caches as unknown as { account: DecodedAccountCache }).account = this.decoded;
    }
  }

  /**
   * A CallStateManager over the trie of `base` (a fresh state manager at `root`). Without caches it
   * is a reader only (eth_getBalance and friends): every read is answered from `reads` or the trie,
   * and it can serve any number of requests without growing.
   */
  static over(
    base: MerkleStateManager,
    reads: CallReads,
    root: Uint8Array,
    { caches = true }: { caches?: boolean } = {},
  ): CallStateManager {
    // The trie is protected in MerkleStateManager; the base state manager is discarded after this.
    const trie = (base as unknown as { _trie: MerklePatriciaTrie })._trie;
    return new CallStateManager(
      // code keys as LiveState writes them: "c" + hash (@ethereumjs's default, made explicit)
      { common: base.common, trie, prefixCodeHashes: true, caches: caches ? new Caches() : undefined },
      reads,
      root,
    );
  }

  /** True while the account trie is still at the root the reads were taken from (no flush yet). */
  private atBase(): boolean {
    return equalsBytes(this._trie.root(), this.baseRoot);
  }

  override async getAccount(address: Address): Promise<Account | undefined> {
    const cached = this.decoded?.get(address);
    // A copy: the EVM edits the accounts it is given.
    if (cached !== undefined) return cached.account && copyAccount(cached.account);
    if (!this.atBase()) return super.getAccount(address);
    const key = hexKey(address.bytes);
    const known = this.accountReads.get(key);
    if (known === null) return undefined;
    // A new object each time: the EVM edits the accounts it is given.
    if (known !== undefined) return copyAccount(known);
    const account = await super.getAccount(address);
    this.accountReads.set(key, account ? copyAccount(account) : null);
    return account;
  }

  /** As the library's (into the cache when there is one), without encoding the account. */
  override async putAccount(address: Address, account: Account | undefined): Promise<void> {
    if (this.decoded === undefined) return super.putAccount(address, account);
    if (account !== undefined) this.decoded.put(address, account);
    else this.decoded.del(address);
  }

  override async getStorage(address: Address, key: Uint8Array): Promise<Uint8Array> {
    if (key.length !== 32 || this.openByHash || this._caches?.storage?.get(address, key) !== undefined) {
      return super.getStorage(address, key);
    }
    const addressHex = hexKey(address.bytes);
    const opened = this.tries.get(addressHex);
    if (opened === null) return super.getStorage(address, key);
    const account = await this.getAccount(address);
    if (!account) return new Uint8Array();
    const root = opened ?? account.storageRoot;
    if (opened === undefined) this.tries.set(addressHex, root);
    const id = hexKey(root) + hexKey(key);
    let value = this.reads.slot(id);
    if (value === undefined) {
      // Read as the library would (its storage trie at that root), and remember the raw value.
      value = await this._getStorageTrie(address, account).get(key);
      this.reads.setSlot(id, value);
    }
    // As the library: the value read goes into the storage cache (which outlives storage tries).
    this._caches?.storage?.put(address, key, value ?? RLP_EMPTY);
    return decodeSlot(value);
  }

  override async getCode(address: Address): Promise<Uint8Array> {
    if (this._caches?.code?.get(address) !== undefined) return super.getCode(address);
    const account = await this.getAccount(address);
    if (!account?.isContract()) return super.getCode(address);
    const hash = hexKey(account.codeHash);
    const known = this.reads.code(hash);
    if (known !== undefined) return known;
    const code = await super.getCode(address);
    this.reads.setCode(hash, code);
    return code;
  }

  protected override _getStorageTrie(
    addressOrHash: Address | { bytes: Uint8Array } | Uint8Array,
    rootAccount?: Account,
  ) {
    if (addressOrHash instanceof Uint8Array) {
      this.openByHash = true;
      return super._getStorageTrie(addressOrHash, rootAccount);
    }
    const addressHex = hexKey(addressOrHash.bytes);
    const opened = this.tries.get(addressHex);
    this.tries.set(addressHex, null);
    // First real trie of an address read so far from `reads`: open it where the library opened it.
    if (opened) return super._getStorageTrie(addressOrHash, new Account(undefined, undefined, opened));
    return super._getStorageTrie(addressOrHash, rootAccount);
  }

  override async revert(): Promise<void> {
    // The library drops every storage trie on revert, before its flush (which may open some again).
    this.tries.clear();
    this.openByHash = false;
    await super.revert();
  }

  override async setStateRoot(stateRoot: Uint8Array, clearCache?: boolean): Promise<void> {
    await super.setStateRoot(stateRoot, clearCache);
    this.tries.clear();
    this.openByHash = false;
  }
}

/** Equal to decoding the account's RLP (codeSize and version are not part of it). */
/** A stored slot (RLP of the value, or none) as getStorage returns it; a copy, the memo keeps its own. */
function decodeSlot(value: Uint8Array | null): Uint8Array {
  if (value === null) return new Uint8Array();
  return (RLP.decode(value) as Uint8Array).slice();
}
