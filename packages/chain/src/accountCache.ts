import { RLP } from "@ethereumjs/rlp";
import { Caches, MerkleStateManager, type MerkleStateManagerOpts } from "@ethereumjs/statemanager";
import {
  Account,
  type Address,
  bytesToUnprefixedHex,
  createAddressFromString,
  EthereumJSErrorWithoutCode,
  unpadBytes,
  unprefixedHexToBytes,
} from "@ethereumjs/util";
import { putSorted } from "./trieBatch.ts";

/** Accounts kept once the cache is back at depth 0 with nothing unwritten (then it starts afresh). */
const ACCOUNT_CACHE_LIMIT = 200_000;

/**
 * A cached account as decoded. @ethereumjs's own account cache stores RLP, so every read decodes
 * and every write re-encodes (several of each per transaction); here the RLP is made once, when
 * the trie is written at the end of the block.
 */
class AccountEntry {
  private rlp: Uint8Array | undefined;

  constructor(readonly account: Account | undefined) {}

  get accountRLP(): Uint8Array | undefined {
    if (this.account === undefined) return undefined;
    this.rlp ??= this.account.serialize();
    return this.rlp;
  }
}

/**
 * Equal to what decoding the account's RLP gives (codeSize and version are not part of it): the
 * callers of getAccount mutate what they get, so the cache hands out and keeps copies.
 */
export function copyAccount(a: Account): Account {
  return new Account(a.nonce, a.balance, a.storageRoot, a.codeHash);
}

/**
 * The same contract as @ethereumjs's AccountCache (put / get / del, checkpoint / commit / revert
 * with a diff map per level, flush of the entries changed since the last flush) on a Map of decoded
 * accounts instead of an ordered tree of RLP.
 */
export class DecodedAccountCache {
  private readonly entries = new Map<string, AccountEntry>();
  /** Per checkpoint level: each changed key's entry before its first change there (undefined: absent). */
  private diffs: Map<string, AccountEntry | undefined>[] = [new Map()];
  /** While set, `flush` hands out nothing (the state manager takes the entries itself, see below). */
  holdBack = false;

  get(address: Address): AccountEntry | undefined {
    return this.entries.get(bytesToUnprefixedHex(address.bytes));
  }

  put(address: Address, account: Account | undefined): void {
    const key = bytesToUnprefixedHex(address.bytes);
    this.saveBefore(key);
    this.entries.set(key, new AccountEntry(account && copyAccount(account)));
  }

  del(address: Address): void {
    const key = bytesToUnprefixedHex(address.bytes);
    this.saveBefore(key);
    this.entries.set(key, new AccountEntry(undefined));
  }

  /** The entries changed at the current level since the last flush, as [unprefixed hex key, entry]. */
  flush(): [string, AccountEntry][] {
    if (this.holdBack) return [];
    const level = this.diffs.length - 1;
    const items: [string, AccountEntry][] = [];
    for (const key of this.diffs[level].keys()) {
      const entry = this.entries.get(key);
      if (entry !== undefined) items.push([key, entry]);
    }
    this.diffs[level] = new Map();
    return items;
  }

  checkpoint(): void {
    if (this.diffs.length === 1 && this.diffs[0].size === 0 && this.entries.size > ACCOUNT_CACHE_LIMIT) {
      this.entries.clear();
    }
    this.diffs.push(new Map());
  }

  commit(): void {
    const top = this.popLevel();
    const below = this.diffs[this.diffs.length - 1];
    for (const [key, before] of top) if (!below.has(key)) below.set(key, before);
  }

  revert(): void {
    for (const [key, before] of this.popLevel()) {
      if (before === undefined) this.entries.delete(key);
      else this.entries.set(key, before);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  size(): number {
    return this.entries.size;
  }

  private popLevel(): Map<string, AccountEntry | undefined> {
    const top = this.diffs.pop();
    if (top === undefined || this.diffs.length === 0)
      throw new Error("account cache: no checkpoint to close");
    return top;
  }

  private saveBefore(key: string): void {
    const diff = this.diffs[this.diffs.length - 1];
    if (!diff.has(key)) diff.set(key, this.entries.get(key));
  }
}

/**
 * A MerkleStateManager whose account cache holds decoded accounts (DecodedAccountCache): reads and
 * writes of cached accounts copy an object instead of decoding or encoding RLP. The trie contents,
 * and so every state root, are the same as with @ethereumjs's cache.
 */
export class DecodedAccountsStateManager extends MerkleStateManager {
  private readonly accounts: DecodedAccountCache;

  constructor(opts: Omit<MerkleStateManagerOpts, "caches">) {
    const caches = new Caches();
    const accounts = new DecodedAccountCache();
    (caches as unknown as { account: DecodedAccountCache }).account = accounts;
    super({ ...opts, caches });
    this.accounts = accounts;
  }

  override async getAccount(address: Address): Promise<Account | undefined> {
    const entry = this.accounts.get(address);
    if (entry !== undefined) return entry.account && copyAccount(entry.account);
    // Reads the trie and puts what it found into the cache.
    return super.getAccount(address);
  }

  /** The cached account (a copy), without a promise; undefined when not cached or cached as absent. */
  peekAccount(address: Address): Account | undefined {
    const account = this.accounts.get(address)?.account;
    return account && copyAccount(account);
  }

  /** putAccount (of an existing or a new account), without a promise (the cache write is synchronous). */
  putAccountNow(address: Address, account: Account): void {
    this.accounts.put(address, account);
  }

  /** The account's RLP (encoded once per cached version), or undefined when it does not exist. */
  async accountRLP(address: Address): Promise<Uint8Array | undefined> {
    const entry = this.accounts.get(address);
    if (entry !== undefined) return entry.accountRLP;
    return (await this.getAccount(address))?.serialize();
  }

  override async putAccount(address: Address, account: Account | undefined): Promise<void> {
    if (account !== undefined) this.accounts.put(address, account);
    else this.accounts.del(address);
  }

  /**
   * As the library's putStorage, without its write-through: the library also puts every slot write
   * straight into the contract's storage trie (its cache's put returns nothing, so the `?? write`
   * after it always runs), a trie put and a new storage root per SSTORE. Here a slot reaches the
   * trie once, when the cache is flushed (flushStorage). Reads are unchanged: a slot written since
   * the last flush is answered by the cache, any other one by the trie as last flushed.
   */
  override async putStorage(address: Address, key: Uint8Array, value: Uint8Array): Promise<void> {
    const storage = this._caches?.storage;
    if (storage === undefined) return super.putStorage(address, key, value);
    if (key.length !== 32) throw EthereumJSErrorWithoutCode("Storage key must be 32 bytes long");
    if (value.length > 32) throw EthereumJSErrorWithoutCode("Storage value cannot be longer than 32 bytes");
    if ((await this.getAccount(address)) === undefined) {
      throw EthereumJSErrorWithoutCode("putStorage() called on non-existing account");
    }
    storage.put(address, key, RLP.encode(unpadBytes(value)));
  }

  /**
   * As the library's flush (code, then storage, which changes accounts' storage roots, then
   * accounts), but each contract's changed slots, and then the changed accounts, go into their trie
   * in one sorted pass (trieBatch.ts) instead of one put each. Deleted slots, and a flush that
   * deletes an account, take the library's way. The tries end with the same contents, so the same
   * roots: a trie's root depends only on what it holds, not on the order it was written in.
   */
  override async flush(): Promise<void> {
    // Taken before the library's flush, which then finds no storage to write.
    const slots = this._caches?.storage?.flush() ?? [];
    this.accounts.holdBack = true;
    try {
      await super.flush();
    } finally {
      this.accounts.holdBack = false;
    }
    await this.flushStorage(slots);
    const items = this.accounts.flush();
    if (items.every(([, entry]) => entry.accountRLP !== undefined)) {
      await putSorted(
        this._trie,
        items.map(([key, entry]) => [unprefixedHexToBytes(key), entry.accountRLP as Uint8Array]),
      );
      return;
    }
    for (const [key, entry] of items) {
      const rlp = entry.accountRLP;
      if (rlp === undefined) await this._trie.del(unprefixedHexToBytes(key));
      else await this._trie.put(unprefixedHexToBytes(key), rlp);
    }
  }

  /** Writes the storage cache's changed slots ([address, slot, RLP value] as hex), one trie pass per contract. */
  private async flushStorage(slots: [string, string, Uint8Array | undefined][]): Promise<void> {
    const byContract = new Map<string, [Uint8Array, Uint8Array | undefined][]>();
    for (const [addressHex, slotHex, value] of slots) {
      let list = byContract.get(addressHex);
      if (list === undefined) byContract.set(addressHex, (list = []));
      list.push([unprefixedHexToBytes(slotHex), value]);
    }
    for (const [addressHex, changes] of byContract) {
      const address = createAddressFromString(`0x${addressHex}`);
      const account = await this.getAccount(address);
      // As the library: storage of an account that no longer exists is not written.
      if (account === undefined) continue;
      const trie = this._getStorageTrie(address, account);
      const puts: [Uint8Array, Uint8Array][] = [];
      for (const [slot, value] of changes) {
        // The cache keeps each value RLP-encoded; the trie holds the RLP of the unpadded value.
        const decoded = RLP.decode(value ?? new Uint8Array(0));
        if (decoded instanceof Uint8Array && decoded.length > 0) puts.push([slot, RLP.encode(decoded)]);
        else await trie.del(slot);
      }
      await putSorted(trie, puts);
      account.storageRoot = trie.root();
      await this.putAccount(address, account);
    }
  }
}
