import { MerklePatriciaTrie, type MPTOpts, type TrieShallowCopyOpts } from "@ethereumjs/mpt";
import { bytesToUnprefixedHex } from "@ethereumjs/util";

/** Remembered lookups, cleared whole when full. */
const MEMO_LIMIT = 100_000;

/** Trie lookups by (root, key): a trie's content is fixed by its root, so an answer never goes stale. */
export class TrieReadMemo {
  private readonly values = new Map<string, Uint8Array | null>();

  get(key: string): Uint8Array | null | undefined {
    return this.values.get(key);
  }

  set(key: string, value: Uint8Array | null): void {
    if (this.values.size >= MEMO_LIMIT) this.values.clear();
    this.values.set(key, value);
  }
}

/**
 * A trie that answers `get` from a TrieReadMemo shared by its copies (the state manager makes one
 * copy per contract storage trie). For eth_call's VMs: each call is rolled back, which also drops
 * the state manager's caches, so without this every call walks and decodes the same trie nodes.
 * Not used where the point is to read the store itself (block verification).
 */
export class MemoTrie extends MerklePatriciaTrie {
  constructor(
    opts: MPTOpts,
    private readonly memo: TrieReadMemo,
  ) {
    super(opts);
  }

  override async get(key: Uint8Array, throwIfMissing = false): Promise<Uint8Array | null> {
    const id = bytesToUnprefixedHex(this.root()) + bytesToUnprefixedHex(key);
    const known = this.memo.get(id);
    if (known !== undefined) return known;
    const value = await super.get(key, throwIfMissing);
    this.memo.set(id, value);
    return value;
  }

  /** As MerklePatriciaTrie's, but the copy is a MemoTrie on the same memo. */
  override shallowCopy(includeCheckpoints = true, opts?: TrieShallowCopyOpts): MerklePatriciaTrie {
    const copy = new MemoTrie(
      { ...this._opts, db: this._db.db.shallowCopy(), root: this.root(), cacheSize: 0, ...(opts ?? {}) },
      this.memo,
    );
    if (includeCheckpoints && this.hasCheckpoints()) copy._db.setCheckpoints(this._db.checkpoints);
    return copy;
  }
}
