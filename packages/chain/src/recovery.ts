import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import type { TypedTransaction } from "@ethereumjs/tx";
import { bigIntToBytes, setLengthLeft } from "@ethereumjs/util";
import { typedSigningHash } from "./signingHash.ts";

const SECP256K1_N_HALF = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/** libsecp256k1's `secp256k1_ecdsa_recover` (npm `secp256k1` native binding): throws when recovery fails. */
type NativeRecover = (sig: Uint8Array, recid: number, msg32: Uint8Array, compressed: boolean) => Uint8Array;

/** The native binding's recover, or undefined where no prebuilt binding loads (never the pure-JS fallback). */
export function loadNativeRecover(): NativeRecover | undefined {
  try {
    const lib = createRequire(import.meta.url)("secp256k1/bindings") as { ecdsaRecover: NativeRecover };
    return typeof lib.ecdsaRecover === "function" ? lib.ecdsaRecover : undefined;
  } catch {
    return undefined;
  }
}

interface Pending {
  tx: TypedTransaction;
  resolve: () => void;
}

/**
 * Recovers transaction senders ahead of use, off the main thread where there is a second core: on
 * worker threads (native libsecp256k1 there when its binding loads, about 0.05 ms a signature, else
 * libsecp256k1 in WebAssembly, about 0.4 ms), batched per event-loop turn, so admission's largest
 * cost runs beside block building and RPC instead of on their loop. A turn that brings a single
 * transaction (a client sending one at a time, as test suites on automine do) recovers it natively
 * on this thread: waking a worker and being woken back costs more than the recovery. With no worker
 * (one core, or `threads` 0) every recovery is native on this thread. Results go into the
 * transaction's own sender cache; anything unusual (high s, bad v, failed recovery) is left for the
 * inline path, which reports the error.
 */
export class SenderRecovery {
  private readonly workers: Worker[] = [];
  /** Batches sent and not yet answered, with the worker each went to. */
  private readonly waiting = new Map<number, { worker: Worker; batch: Pending[] }>();
  private queue: Pending[] = [];
  private scheduled = false;
  private nextId = 0;
  private turn = 0;

  private readonly native: NativeRecover | undefined;

  /**
   * `threads` given: that many workers (0: recover on this thread). Left out: none on one core; else
   * one where the native binding loads (it recovers about 20,000 signatures a second), min(4, cores - 1)
   * where it does not.
   */
  constructor(threads?: number) {
    this.native = loadNativeRecover();
    if (threads === undefined) {
      const spare = Math.max(0, availableParallelism() - 1);
      threads = this.native ? Math.min(1, spare) : Math.min(4, spare);
    }
    for (let i = 0; i < threads; i++) {
      // Plain JavaScript: none of this process's flags (a loader such as tsx, --input-type) apply to it.
      const worker = new Worker(new URL("./recoveryWorker.mjs", import.meta.url), { execArgv: [] });
      worker.on("message", (msg: { id: number; out: Uint8Array }) => this.done(msg.id, msg.out));
      worker.on("error", () => this.dropWorker(worker));
      // Held only while a batch is out (flush refs, done unrefs): an idle worker never keeps the
      // process alive, and one that owes answers does. (The listeners above ref it: unref after them.)
      worker.unref();
      this.workers.push(worker);
    }
  }

  /** Fills `tx`'s sender cache off the main thread when there are workers; resolves either way. */
  prepare(tx: TypedTransaction): Promise<void> {
    if (!Object.isFrozen(tx) || tx.cache.senderPubKey !== undefined) return Promise.resolve();
    if (this.workers.length === 0) {
      if (this.native) recoverNatively(this.native, tx);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.queue.push({ tx, resolve });
      if (!this.scheduled) {
        this.scheduled = true;
        // After the poll phase: every request read in this loop turn goes to a worker in one message.
        setImmediate(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.terminate()));
    this.resolveWaiting();
  }

  private flush(): void {
    this.scheduled = false;
    const queued = this.queue.splice(0);
    // Alone, and behind no batch it could overtake (answers keep arrival order).
    if (queued.length === 1 && this.native && this.waiting.size === 0) {
      recoverNatively(this.native, queued[0].tx);
      queued[0].resolve();
      return;
    }
    const batch: Pending[] = [];
    const items = new Uint8Array(queued.length * 97);
    for (const p of queued) {
      if (this.workers.length > 0 && pack(p.tx, items, batch.length * 97)) batch.push(p);
      else p.resolve();
    }
    if (batch.length === 0) return;
    const id = this.nextId++;
    const worker = this.workers[this.turn++ % this.workers.length];
    this.waiting.set(id, { worker, batch });
    worker.ref();
    const buf = items.slice(0, batch.length * 97);
    worker.postMessage({ id, items: buf }, [buf.buffer]);
  }

  private done(id: number, out: Uint8Array): void {
    const sent = this.waiting.get(id);
    if (!sent) return;
    this.waiting.delete(id);
    const { worker, batch } = sent;
    if (![...this.waiting.values()].some((w) => w.worker === worker)) worker.unref();
    batch.forEach((p, i) => {
      if (out[i * 65] === 1) p.tx.cache.senderPubKey = out.slice(i * 65 + 1, i * 65 + 65);
      p.resolve();
    });
  }

  /** A failed worker is dropped; batches in flight resolve and recover inline. */
  private dropWorker(worker: Worker): void {
    const i = this.workers.indexOf(worker);
    if (i >= 0) this.workers.splice(i, 1);
    this.resolveWaiting();
  }

  /** Every batch out resolves (its transactions recover inline later); their workers are let go. */
  private resolveWaiting(): void {
    for (const { worker, batch } of this.waiting.values()) {
      worker.unref();
      for (const p of batch) p.resolve();
    }
    this.waiting.clear();
  }
}

/** The recovery id of a plain low-s signature, or undefined when it needs the inline checks. */
function recoveryId(tx: TypedTransaction): number | undefined {
  const { v, r, s } = tx;
  if (v === undefined || r === undefined || s === undefined || s > SECP256K1_N_HALF) return undefined;
  let recovery: bigint;
  if (tx.type !== 0) recovery = v;
  else if (v === 27n || v === 28n) recovery = v - 27n;
  else recovery = v - (tx.common.chainId() * 2n + 35n);
  return recovery === 0n || recovery === 1n ? Number(recovery) : undefined;
}

/** r || s, 64 bytes. */
function signatureBytes(tx: TypedTransaction): Uint8Array {
  const sig = new Uint8Array(64);
  sig.set(setLengthLeft(bigIntToBytes(tx.r as bigint), 32), 0);
  sig.set(setLengthLeft(bigIntToBytes(tx.s as bigint), 32), 32);
  return sig;
}

function recoverNatively(recover: NativeRecover, tx: TypedTransaction): void {
  const recid = recoveryId(tx);
  if (recid === undefined) return;
  try {
    const message = typedSigningHash(tx) ?? tx.getMessageToVerifySignature();
    const pub = recover(signatureBytes(tx), recid, message, false);
    tx.cache.senderPubKey = pub.slice(1);
  } catch {
    // left for the inline path, which reports the bad signature
  }
}

/** Writes 97 bytes (hash, r||s, recovery id) at `at`; false when the signature needs the inline checks. */
function pack(tx: TypedTransaction, out: Uint8Array, at: number): boolean {
  const recid = recoveryId(tx);
  if (recid === undefined) return false;
  out.set(typedSigningHash(tx) ?? tx.getMessageToVerifySignature(), at);
  out.set(signatureBytes(tx), at + 32);
  out[at + 96] = recid;
  return true;
}
