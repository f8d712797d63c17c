import { encodeAbiParameters, type Hex, keccak256, parseAbiParameters, stringToHex } from "viem";
import { GradientError, IndexFormatError } from "./errors.ts";
import { largestRemainderShares } from "./shares.ts";

/**
 * grad-v1: TracIn-style influence over a gradient store (README, "grad-v1").
 * Gradients are fixed point: q = round(g * 2^16) (half away from zero) as int32; learning rates are
 * q = round(lr * 2^32) as uint64. influence(example) = sum over checkpoints of lrQ * dot(queryQ, exampleQ).
 */
export const GRAD_SCALE_BITS = 16;
export const LR_SCALE_BITS = 32;
export const GRAD_STORE_VERSION = 1;
const MAGIC = "OLGRADST";
const HEADER_BYTES = 32;
const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;

/** Quantises a real gradient component to grad-v1 fixed point. */
export function quantizeGradient(value: number, what = "gradient"): number {
  if (!Number.isFinite(value)) throw new GradientError(`${what} is not a finite number`);
  const scaled = value * 2 ** GRAD_SCALE_BITS;
  const q = Math.sign(scaled) * Math.round(Math.abs(scaled));
  if (q < INT32_MIN || q > INT32_MAX) {
    throw new GradientError(
      `${what} ${value} overflows int32 at scale 2^${GRAD_SCALE_BITS}; clip or rescale gradients`,
    );
  }
  return q === 0 ? 0 : q;
}

/** Quantises a learning rate to grad-v1 fixed point (uint64 at scale 2^32). */
export function quantizeLearningRate(lr: number): bigint {
  if (!Number.isFinite(lr) || lr < 0 || lr >= 2 ** 31)
    throw new GradientError(`learning rate ${lr} must be finite, >= 0 and < 2^31`);
  return BigInt(Math.round(lr * 2 ** LR_SCALE_BITS));
}

/** Builds a gradient store at training time: one projected gradient per (checkpoint, example). */
export class GradientStoreBuilder {
  readonly dims: number;
  readonly #lr: bigint[];
  readonly #ids: bigint[];
  readonly #grads: Int32Array;
  readonly #filled: Uint8Array;

  constructor(opts: { dims: number; learningRates: readonly number[]; contributionIds: readonly bigint[] }) {
    const { dims, learningRates, contributionIds } = opts;
    if (!Number.isInteger(dims) || dims < 1 || dims > 1 << 20)
      throw new GradientError("dims must be an integer in [1, 2^20]");
    if (!Array.isArray(learningRates) || learningRates.length < 1)
      throw new GradientError("at least one checkpoint learning rate is needed");
    if (!Array.isArray(contributionIds)) throw new GradientError("contributionIds must be an array");
    for (const id of contributionIds) {
      if (typeof id !== "bigint" || id < 1n || id >= 1n << 64n)
        throw new GradientError("contributionIds must be bigints in [1, 2^64 - 1]");
    }
    this.dims = dims;
    this.#lr = learningRates.map(quantizeLearningRate);
    this.#ids = [...contributionIds];
    this.#grads = new Int32Array(learningRates.length * contributionIds.length * dims);
    this.#filled = new Uint8Array(learningRates.length * contributionIds.length);
  }

  /** Stores example `example`'s projected gradient at checkpoint `checkpoint`. */
  set(checkpoint: number, example: number, gradient: ArrayLike<number>): void {
    const n = this.#ids.length;
    if (!Number.isInteger(checkpoint) || checkpoint < 0 || checkpoint >= this.#lr.length)
      throw new GradientError(`no checkpoint ${checkpoint}`);
    if (!Number.isInteger(example) || example < 0 || example >= n)
      throw new GradientError(`no example ${example}`);
    if (gradient.length !== this.dims)
      throw new GradientError(`gradient has ${gradient.length} components, the store has ${this.dims}`);
    const base = (checkpoint * n + example) * this.dims;
    for (let d = 0; d < this.dims; d++)
      this.#grads[base + d] = quantizeGradient(gradient[d], `gradient[${d}]`);
    this.#filled[checkpoint * n + example] = 1;
  }

  toBuffer(): Uint8Array {
    const missing = this.#filled.indexOf(0);
    if (missing >= 0) {
      const n = this.#ids.length;
      throw new GradientError(
        `no gradient for example ${missing % n} at checkpoint ${Math.floor(missing / n)}`,
      );
    }
    const c = this.#lr.length;
    const n = this.#ids.length;
    const out = new Uint8Array(HEADER_BYTES + 8 * c + 8 * n + 4 * this.#grads.length);
    const view = new DataView(out.buffer);
    for (let i = 0; i < 8; i++) out[i] = MAGIC.charCodeAt(i);
    view.setUint32(8, GRAD_STORE_VERSION, true);
    view.setUint32(12, this.dims, true);
    view.setUint32(16, c, true);
    view.setUint32(20, n, true);
    view.setUint32(24, GRAD_SCALE_BITS, true);
    let p = HEADER_BYTES;
    for (const lr of this.#lr) view.setBigUint64((p += 8) - 8, lr, true);
    for (const id of this.#ids) view.setBigUint64((p += 8) - 8, id, true);
    for (let k = 0; k < this.#grads.length; k++) view.setInt32(p + 4 * k, this.#grads[k], true);
    return out;
  }
}

/** A loaded gradient store (typed-array views over the file). */
export class GradientStore {
  private constructor(
    readonly dims: number,
    readonly learningRates: readonly bigint[],
    readonly contributionIds: readonly bigint[],
    readonly gradients: Int32Array,
    readonly hash: Hex,
  ) {}

  get checkpoints(): number {
    return this.learningRates.length;
  }

  static load(buffer: Uint8Array): GradientStore {
    if (!(buffer instanceof Uint8Array) || buffer.length < HEADER_BYTES)
      throw new IndexFormatError("gradient store: too short");
    for (let i = 0; i < 8; i++)
      if (buffer[i] !== MAGIC.charCodeAt(i)) throw new IndexFormatError("gradient store: bad magic");
    const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    const version = view.getUint32(8, true);
    if (version !== GRAD_STORE_VERSION)
      throw new IndexFormatError(
        `gradient store: version ${version}; this build reads ${GRAD_STORE_VERSION}`,
      );
    const dims = view.getUint32(12, true);
    const c = view.getUint32(16, true);
    const n = view.getUint32(20, true);
    if (view.getUint32(24, true) !== GRAD_SCALE_BITS)
      throw new IndexFormatError("gradient store: unsupported fixed-point scale");
    const expected = HEADER_BYTES + 8 * c + 8 * n + 4 * c * n * dims;
    if (dims < 1 || c < 1 || buffer.length !== expected) {
      throw new IndexFormatError(
        `gradient store: ${buffer.length} bytes but the header describes ${expected}`,
      );
    }
    let p = HEADER_BYTES;
    const lrs: bigint[] = [];
    for (let k = 0; k < c; k++, p += 8) lrs.push(view.getBigUint64(p, true));
    const ids: bigint[] = [];
    for (let k = 0; k < n; k++, p += 8) ids.push(view.getBigUint64(p, true));
    const aligned = (buffer.byteOffset + p) % 4 === 0 ? buffer : buffer.slice();
    const grads = new Int32Array(aligned.buffer, aligned.byteOffset + p, c * n * dims);
    return new GradientStore(dims, lrs, ids, grads, keccak256(buffer));
  }
}

export interface GradCredit {
  contributionId: bigint;
  /** Summed influence at scale 2^(2*16+32), after clipping negatives to zero. */
  influence: bigint;
  share: number;
}

export interface GradV1Result {
  algorithm: "grad-v1";
  /** Every contribution's summed influence before clipping (not committed; for evaluation such as LDS). */
  signed: { contributionId: bigint; influence: bigint }[];
  queryHash: Hex;
  storeHash: Hex;
  credits: GradCredit[];
  commitment: Hex;
}

/** Exact int32 dot product: 16-bit halves keep every partial sum inside float64's exact range. */
function dot(a: Int32Array, aOff: number, b: Int32Array, bOff: number, n: number): bigint {
  let hh = 0;
  let mixed = 0;
  let ll = 0;
  for (let d = 0; d < n; d++) {
    const x = a[aOff + d];
    const y = b[bOff + d];
    const xh = x >> 16;
    const xl = x & 0xffff;
    const yh = y >> 16;
    const yl = y & 0xffff;
    hh += xh * yh;
    mixed += xh * yl + xl * yh;
    ll += xl * yl;
  }
  return (BigInt(hh) << 32n) + (BigInt(mixed) << 16n) + BigInt(ll);
}

const COMMIT_ABI = parseAbiParameters(
  "bytes32 tag, bytes32 queryHash, bytes32 storeHash, uint256[] contributionIds, uint256[] influences, uint256[] shares",
);
const GRAD_V1_TAG = keccak256(stringToHex("openledger.grad-v1"));

/**
 * grad-v1 of a query: `queryGradients[c]` is the query's projected gradient at checkpoint c.
 * Influence per contribution is summed over its examples, negative totals clipped to zero, and
 * turned into shares of 1,000,000 by largest remainder (none when nothing is positive).
 */
export function gradV1(queryGradients: readonly ArrayLike<number>[], store: GradientStore): GradV1Result {
  if (!Array.isArray(queryGradients) || queryGradients.length !== store.checkpoints) {
    throw new GradientError(`need one query gradient per checkpoint (${store.checkpoints})`);
  }
  const { dims } = store;
  const query = new Int32Array(store.checkpoints * dims);
  queryGradients.forEach((g, c) => {
    if (g.length !== dims)
      throw new GradientError(`query gradient ${c} has ${g.length} components, the store has ${dims}`);
    for (let d = 0; d < dims; d++) query[c * dims + d] = quantizeGradient(g[d], `query gradient ${c}[${d}]`);
  });
  const n = store.contributionIds.length;
  const totals = new Map<bigint, bigint>();
  for (let e = 0; e < n; e++) {
    let influence = 0n;
    for (let c = 0; c < store.checkpoints; c++) {
      influence += store.learningRates[c] * dot(query, c * dims, store.gradients, (c * n + e) * dims, dims);
    }
    const id = store.contributionIds[e];
    totals.set(id, (totals.get(id) ?? 0n) + influence);
  }
  const ids = [...totals.keys()].filter((id) => totals.get(id)! > 0n).sort((a, b) => (a < b ? -1 : 1));
  const influences = ids.map((id) => totals.get(id)!);
  const shares = largestRemainderShares(ids, influences);
  const credits = ids.map((id, k) => ({
    contributionId: id,
    influence: influences[k],
    share: Number(shares[k]),
  }));
  const queryBytes = new Uint8Array(4 * query.length);
  const queryView = new DataView(queryBytes.buffer);
  for (let k = 0; k < query.length; k++) queryView.setInt32(4 * k, query[k], true);
  const queryHash = keccak256(queryBytes);
  const commitment = keccak256(
    encodeAbiParameters(COMMIT_ABI, [GRAD_V1_TAG, queryHash, store.hash, ids, influences, shares]),
  );
  const signed = [...totals.entries()]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .map(([contributionId, influence]) => ({ contributionId, influence }));
  return { algorithm: "grad-v1", signed, queryHash, storeHash: store.hash, credits, commitment };
}
