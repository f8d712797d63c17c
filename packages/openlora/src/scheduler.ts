import { forward, type GeneratedToken, type LlamaModel, type Sequence } from "@openledger/ml";
import { QueueFullError } from "./errors.ts";
import type { ServerMetrics } from "./metrics.ts";
import type { FinishReason } from "./types.ts";

export interface SchedulerOptions {
  /** rows in one batched forward step (default 32) */
  maxBatch?: number;
  /** requests waiting for a slot before new ones get 429 (default 256) */
  maxQueue?: number;
  metrics?: ServerMetrics;
}

export interface BatchJob {
  tenant: string;
  /** the request's stepper (prompt, adapter, sampling); its KV cache is allocated once admitted */
  sequence: Sequence;
  signal: AbortSignal;
  onToken(text: string, step: GeneratedToken | null): void;
}

export interface JobOutcome {
  finishReason: FinishReason;
  completionTokens: number;
}

interface Row {
  job: BatchJob;
  resolve(o: JobOutcome): void;
  reject(err: unknown): void;
}

const tick = () => new Promise<void>((r) => setImmediate(r));

/**
 * Continuous batching over one base model: every step runs one batched forward pass over all
 * running rows (new rows prefill their prompt in the same pass), rows with different adapters
 * included. Waiting requests join between steps, admitted round-robin across tenants so one
 * tenant's burst cannot starve another; the wait queue is bounded.
 */
export class BatchScheduler {
  readonly maxBatch: number;
  readonly maxQueue: number;
  private readonly waiting = new Map<string, Row[]>();
  private waitingCount = 0;
  private readonly running: Row[] = [];
  private loop: Promise<void> | null = null;
  private tokensPerSecond = 0;

  constructor(
    readonly model: LlamaModel,
    options: SchedulerOptions = {},
    private readonly metrics = options.metrics,
  ) {
    this.maxBatch = options.maxBatch ?? 32;
    this.maxQueue = options.maxQueue ?? 256;
  }

  get queueDepth(): number {
    return this.waitingCount;
  }

  get batchSize(): number {
    return this.running.length;
  }

  /** Enqueues a job; throws QueueFullError at once when the wait queue is full. */
  submit(job: BatchJob): Promise<JobOutcome> {
    if (this.waitingCount >= this.maxQueue) {
      // a rough wait: the queue ahead drained a batch at a time at the recent token rate
      const perSecond = Math.max(1, this.tokensPerSecond / 16);
      throw new QueueFullError(this.maxQueue, Math.max(1, Math.ceil(this.waitingCount / perSecond)));
    }
    return new Promise<JobOutcome>((resolve, reject) => {
      const row: Row = { job, resolve, reject };
      const q = this.waiting.get(job.tenant) ?? [];
      q.push(row);
      this.waiting.set(job.tenant, q);
      this.setWaiting(1);
      if (!this.loop) this.loop = this.run().finally(() => (this.loop = null));
    });
  }

  private setWaiting(delta: number): void {
    this.waitingCount += delta;
    this.metrics?.queueDepth.add(delta);
  }

  /** Moves waiting rows into the batch, one per tenant in turn; cancelled ones finish at once. */
  private admit(): void {
    while (this.running.length < this.maxBatch && this.waitingCount > 0) {
      for (const [tenant, q] of [...this.waiting]) {
        if (this.running.length >= this.maxBatch) break;
        const row = q.shift()!;
        if (q.length === 0) this.waiting.delete(tenant);
        else {
          // rotate: this tenant goes to the back of the turn order
          this.waiting.delete(tenant);
          this.waiting.set(tenant, q);
        }
        this.setWaiting(-1);
        if (row.job.signal.aborted) {
          row.resolve({ finishReason: "cancelled", completionTokens: 0 });
          continue;
        }
        try {
          // allocates the row's KV cache now, so a request that cannot get one fails alone
          row.job.sequence.input();
        } catch (err) {
          row.reject(err);
          continue;
        }
        this.running.push(row);
        this.metrics?.running.add(1);
      }
    }
  }

  private finish(row: Row, outcome: JobOutcome | null, err?: unknown): void {
    this.running.splice(this.running.indexOf(row), 1);
    this.metrics?.running.add(-1);
    row.job.sequence.free();
    if (outcome) row.resolve(outcome);
    else row.reject(err);
  }

  private async run(): Promise<void> {
    // requests that arrive in the same turn of the event loop start in the same batch
    await tick();
    for (;;) {
      this.admit();
      for (const row of [...this.running]) {
        if (row.job.signal.aborted) {
          this.finish(row, { finishReason: "cancelled", completionTokens: row.job.sequence.tokens.length });
        }
      }
      if (this.running.length === 0) {
        if (this.waitingCount === 0) return;
        await tick();
        continue;
      }
      const rows = [...this.running];
      this.metrics?.batchSize.observe(rows.length);
      const started = performance.now();
      let logits: Float32Array[];
      try {
        logits = forward(
          this.model,
          rows.map((r) => r.job.sequence.input()),
        );
      } catch (err) {
        for (const r of rows) this.finish(r, null, err);
        await tick();
        continue;
      }
      rows.forEach((row, i) => {
        const seq = row.job.sequence;
        let ev: GeneratedToken | null;
        try {
          ev = seq.accept(logits[i]);
        } catch (err) {
          this.finish(row, null, err);
          return;
        }
        if (ev) row.job.onToken(ev.text, ev);
        if (seq.done) {
          const rest = seq.flush();
          if (rest) row.job.onToken(rest, null);
          this.finish(row, { finishReason: seq.done, completionTokens: seq.tokens.length });
        }
      });
      const seconds = (performance.now() - started) / 1000;
      this.metrics?.tokensGenerated.inc(rows.length);
      if (seconds > 0) {
        this.tokensPerSecond = 0.8 * this.tokensPerSecond + 0.2 * (rows.length / seconds);
        this.metrics?.tokensPerSecond.set(Math.round(this.tokensPerSecond));
      }
      // let new requests and disconnects in before the next step
      await tick();
    }
  }

  /** Waits for the running batch to drain (for shutdown). */
  async idle(): Promise<void> {
    await this.loop;
  }
}
