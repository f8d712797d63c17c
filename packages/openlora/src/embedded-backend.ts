import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { BlobStore } from "@openledger/datanet";
import {
  Engine,
  GgufFile,
  LlamaModel,
  LoraAdapter,
  type LoraAdapterFile,
  readGgufLora,
  readLlamaGguf,
  tokenizerFromHfJson,
  warmUp,
} from "@openledger/ml";
import { AdapterCache, type AdapterLease } from "./adapter-cache.ts";
import { hashMismatch, readBlob } from "./content.ts";
import { requestSequence, textLogprob } from "./decoder.ts";
import { combineAdapters } from "./ensemble.ts";
import { AdapterIntegrityError, ContextLengthError, InvalidRequestError } from "./errors.ts";
import type { ServerMetrics } from "./metrics.ts";
import { BatchScheduler, type SchedulerOptions } from "./scheduler.ts";
import type {
  Backend,
  GenerationEvent,
  GenerationRequest,
  GenerationResult,
  PreparedGeneration,
  PublishedModel,
} from "./types.ts";

export interface EmbeddedBackendOptions extends SchedulerOptions {
  blobs: BlobStore;
  /** worker threads of the ml engine (default 2) */
  threads?: number;
  /** bytes of adapters kept in memory (default 256 MiB) */
  adapterBudgetBytes?: number;
  maxMemoryMiB?: number;
  metrics?: ServerMetrics;
}

type Tokenizer = ReturnType<typeof tokenizerFromHfJson>;

/** One loaded base model with its tokenizer, adapter cache and batch scheduler. */
export interface LoadedBase {
  model: LlamaModel;
  tokenizer: Tokenizer;
  adapters: AdapterCache;
  scheduler: BatchScheduler;
}

/**
 * The default backend: @openledger/ml in this process. Base models and adapters are fetched from the
 * content store on first use and checked against their registry hashes; one scheduler per base model
 * batches every adapter's requests together.
 */
export class EmbeddedBackend implements Backend {
  readonly kind = "embedded";
  private engine: Promise<Engine> | null = null;
  private readonly bases = new Map<string, Promise<LoadedBase>>();

  private metrics: ServerMetrics | undefined;

  constructor(private readonly options: EmbeddedBackendOptions) {
    this.metrics = options.metrics;
  }

  useMetrics(metrics: ServerMetrics): void {
    this.metrics = metrics;
  }

  private getEngine(): Promise<Engine> {
    this.engine ??= Engine.create({
      threads: this.options.threads ?? 2,
      ...(this.options.maxMemoryMiB ? { maxMemoryMiB: this.options.maxMemoryMiB } : {}),
    });
    return this.engine;
  }

  /** The base model of a published model, loaded once (its bytes checked against the registry hash). */
  base(m: PublishedModel): Promise<LoadedBase> {
    const key = m.baseModel.hash.toLowerCase();
    let p = this.bases.get(key);
    if (!p) {
      p = this.loadBase(m);
      this.bases.set(key, p);
      p.catch(() => this.bases.delete(key));
    }
    return p;
  }

  private async loadBase(m: PublishedModel): Promise<LoadedBase> {
    const { blobs } = this.options;
    const bytes = await readBlob(blobs, m.baseModel.cid, `base model ${m.baseModel.name}`);
    const bad = hashMismatch(bytes, m.baseModel.hash, m.baseModel.cid);
    if (bad) throw new AdapterIntegrityError(m.baseModel.name, `the base model file is refused: ${bad}`);
    const tokenizerJson = await readBlob(blobs, m.tokenizerCid, `tokenizer of ${m.baseModel.name}`);
    const tokenizer = tokenizerFromHfJson(new TextDecoder().decode(tokenizerJson));
    const { config, weights } = readLlamaGguf(GgufFile.fromBytes(bytes, m.baseModel.name));
    const model = LlamaModel.fromWeights(await this.getEngine(), config, weights);
    // V8 compiles the per-token code now rather than during the first request (packages/ml/docs/performance.md,
    // "The first tokens").
    warmUp(model);
    return {
      model,
      tokenizer,
      adapters: new AdapterCache(this.options.adapterBudgetBytes ?? 256 * 1024 * 1024, this.metrics),
      scheduler: new BatchScheduler(model, this.options, this.metrics),
    };
  }

  /** The adapter file of a published adapter model, fetched and checked against ModelRegistry. */
  async adapterFile(m: PublishedModel, base: LoadedBase): Promise<LoraAdapterFile> {
    const a = m.adapter!;
    let bytes: Uint8Array;
    try {
      bytes = await readBlob(this.options.blobs, a.cid, `adapter of ${m.name}`);
    } catch (err) {
      if ((err as Error).name === "BlobIntegrityError") {
        this.metrics?.refusedAdapters.inc();
        throw new AdapterIntegrityError(m.name, (err as Error).message);
      }
      throw err;
    }
    const bad = hashMismatch(bytes, a.hash, a.cid);
    if (bad) {
      this.metrics?.refusedAdapters.inc();
      throw new AdapterIntegrityError(m.name, bad);
    }
    // the GGUF LoRA reader takes a path: the verified bytes go through a private temp file
    const dir = mkdtempSync(join(tmpdir(), "openlora-"));
    try {
      const path = join(dir, "adapter.gguf");
      writeFileSync(path, bytes);
      return readGgufLora(path, base.model.config);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** A lease on the (possibly ensembled) adapter of a request; null for the base model alone. */
  private async lease(
    req: Pick<GenerationRequest, "model" | "adapters">,
    base: LoadedBase,
  ): Promise<AdapterLease | null> {
    if (req.adapters.length === 0) return null;
    for (const { model } of req.adapters) {
      if (!model.adapter)
        throw new InvalidRequestError(
          `'${model.name}' is a base model, not an adapter`,
          "openledger.adapters",
        );
      if (model.baseModel.hash.toLowerCase() !== req.model.baseModel.hash.toLowerCase())
        throw new InvalidRequestError(
          `'${model.name}' is trained on ${model.baseModel.name}, not on ${req.model.baseModel.name}; an ensemble shares one base`,
          "openledger.adapters",
        );
    }
    const key = req.adapters.map((a) => `${a.model.adapter!.cid}*${a.weight}`).join("+");
    const engine = base.model.engine;
    const config = base.model.config;
    if (req.adapters.length === 1 && req.adapters[0].weight === 1) {
      return base.adapters.acquire(key, async () =>
        LoraAdapter.fromFile(engine, config, await this.adapterFile(req.adapters[0].model, base)),
      );
    }
    return base.adapters.acquire(key, async () => {
      const parts = [];
      for (const a of req.adapters)
        parts.push({ file: await this.adapterFile(a.model, base), weight: a.weight });
      return LoraAdapter.fromFile(engine, config, combineAdapters(parts));
    });
  }

  /**
   * Lends an adapter model's loaded base and its adapter (loaded as a request would) to other work on
   * this engine, e.g. payments' grad-v1, so nothing is loaded twice. ml calls are synchronous, so that
   * work runs between the scheduler's forward steps, never inside one; it must not write the weights.
   * Release the lease when done.
   */
  async borrow(m: PublishedModel): Promise<{ base: LoadedBase; lease: AdapterLease }> {
    const base = await this.base(m);
    const lease = await this.lease({ model: m, adapters: [{ model: m, weight: 1 }] }, base);
    return { base, lease: lease! };
  }

  async prepare(req: GenerationRequest): Promise<PreparedGeneration> {
    const base = await this.base(req.model);
    const { tokenizer, model, scheduler } = base;
    const prompt = tokenizer.encode(req.prompt);
    if (prompt.length === 0) throw new InvalidRequestError("the prompt is empty", "prompt");
    if (prompt.length > model.maxContext)
      throw new ContextLengthError(prompt.length, model.maxContext, "prompt");
    const lease = await this.lease(req, base);
    const decode = (ids: number[]) => tokenizer.decode(ids, { skipSpecial: true });
    const stopTokens = tokenizer.eosId === undefined ? [] : [tokenizer.eosId];
    let used = false;
    return {
      promptTokens: prompt.length,
      run: async (onEvent: (ev: GenerationEvent) => void, signal: AbortSignal): Promise<GenerationResult> => {
        if (used) throw new Error("a prepared generation runs once");
        used = true;
        const sequence = requestSequence(
          model,
          prompt,
          req.params,
          decode,
          stopTokens,
          lease?.adapter ?? null,
        );
        try {
          const outcome = await scheduler.submit({
            tenant: req.tenant,
            sequence,
            signal,
            onToken: (text, step) =>
              onEvent({
                text,
                ...(step?.logprob !== undefined ? { logprob: textLogprob(decode, step) } : {}),
              }),
          });
          return {
            text: sequence.text,
            finishReason: outcome.finishReason,
            promptTokens: prompt.length,
            completionTokens: outcome.completionTokens,
            ...(req.params.logprobs !== undefined
              ? { logprobs: sequence.logprobs.map((lp) => textLogprob(decode, lp)) }
              : {}),
          };
        } finally {
          lease?.release();
        }
      },
    };
  }

  /** Loaded base models by hash, for /metrics and the benchmark. */
  async loaded(): Promise<LoadedBase[]> {
    return Promise.all(this.bases.values());
  }

  async close(): Promise<void> {
    for (const p of this.bases.values()) {
      const b = await p.catch(() => null);
      if (!b) continue;
      await b.scheduler.idle();
      b.adapters.clear();
      b.model.free();
    }
    this.bases.clear();
    if (this.engine) await (await this.engine).close();
    this.engine = null;
  }
}
