import {
  DEFAULT_MINHASH,
  DEFAULT_NEAR_DUP_THRESHOLD,
  LshIndex,
  MinHasher,
  type MinHashParams,
} from "./minhash.ts";

export interface ChunkRef {
  contributionId: bigint;
  chunkIndex: number;
}

export interface NearDuplicate extends ChunkRef {
  /** Index of the incoming chunk that matched. */
  incomingChunk: number;
  similarity: number;
}

/**
 * Per-Datanet near-duplicate index over chunk MinHash signatures of every live (pending or accepted)
 * contribution. Rejected contributions are removed, so their text may be contributed again.
 */
export class NearDupIndex {
  readonly hasher: MinHasher;
  readonly threshold: number;
  private readonly perDatanet = new Map<bigint, LshIndex<number>>();
  private readonly chunkOf = new Map<number, ChunkRef>();
  private readonly keysOf = new Map<bigint, number[]>();
  private nextKey = 0;

  constructor(params: MinHashParams = DEFAULT_MINHASH, threshold = DEFAULT_NEAR_DUP_THRESHOLD) {
    this.hasher = new MinHasher(params);
    this.threshold = threshold;
  }

  private lsh(datanetId: bigint): LshIndex<number> {
    let index = this.perDatanet.get(datanetId);
    if (!index) {
      index = new LshIndex<number>(this.hasher);
      this.perDatanet.set(datanetId, index);
    }
    return index;
  }

  add(datanetId: bigint, contributionId: bigint, chunkIndex: number, signature: Uint32Array): void {
    const key = this.nextKey++;
    this.lsh(datanetId).add(key, signature);
    this.chunkOf.set(key, { contributionId, chunkIndex });
    const keys = this.keysOf.get(contributionId);
    if (keys) keys.push(key);
    else this.keysOf.set(contributionId, [key]);
  }

  remove(datanetId: bigint, contributionId: bigint): void {
    const index = this.perDatanet.get(datanetId);
    for (const key of this.keysOf.get(contributionId) ?? []) {
      index?.remove(key);
      this.chunkOf.delete(key);
    }
    this.keysOf.delete(contributionId);
  }

  /** The closest live chunk at or above the threshold for any of `signatures`, or null. */
  find(datanetId: bigint, signatures: readonly (Uint32Array | null)[]): NearDuplicate | null {
    const index = this.perDatanet.get(datanetId);
    if (!index) return null;
    let best: NearDuplicate | null = null;
    for (let i = 0; i < signatures.length; i++) {
      const sig = signatures[i];
      if (!sig) continue;
      const match = index.query(sig, this.threshold);
      if (match && (!best || match.similarity > best.similarity)) {
        best = { ...this.chunkOf.get(match.key)!, incomingChunk: i, similarity: match.similarity };
      }
    }
    return best;
  }
}

export function signatureToBytes(sig: Uint32Array): Uint8Array {
  return new Uint8Array(sig.buffer.slice(sig.byteOffset, sig.byteOffset + sig.byteLength));
}

export function signatureFromBytes(bytes: Uint8Array): Uint32Array {
  const copy = new Uint8Array(bytes);
  return new Uint32Array(copy.buffer, 0, copy.length / 4);
}
