// grad-v1 per answer, in the background: after a paid answer is settled, the answer's projected
// gradient under the model's adapter is scored against the adapter's gradient store (TracIn over the
// training examples) and the result is stored on the usage row. The response never waits for it.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GradientStore, gradV1 } from "@openledger/attribution";
import { toExample } from "@openledger/factory";
import {
  Engine,
  GgufFile,
  LlamaModel,
  LoraAdapter,
  perExampleGradients,
  readGgufLora,
  readLlamaGguf,
  tokenizerFromHfJson,
} from "@openledger/ml";
import type { UsageRecord } from "@openledger/openlora";
import type { Hex } from "viem";
import type { GradAttributionJson, PaymentsDb } from "./db.ts";
import { GradAttributionError } from "./errors.ts";

/** The weights training used: the base model, its tokenizer and the LoRA adapter. */
export interface GradModelWeights {
  baseGguf: Uint8Array;
  tokenizerJson: string;
  adapterGguf: Uint8Array;
}

/** What grad-v1 needs of a model version: the files training used and wrote, and its settings. */
export interface GradModelFiles {
  /** sha256 of the adapter file (ModelRegistry's adapterHash): a borrowed adapter must be this one */
  adapterHash: Hex;
  /** the grad-v1 store written at training time */
  gradientStore: Uint8Array;
  /** the training seed: the store's random projection was drawn from it */
  seed: number;
  /** examples were cut to maxSeqLen + 1 tokens */
  maxSeqLen: number;
  /** reads the weights; called only when no loaded copy can be borrowed (see GradModelLender) */
  weights(): Promise<GradModelWeights>;
}

/** The files of a model version; null when it has no gradient store (no grad-v1 for it). */
export type GradModelSource = (model: ModelRef) => Promise<GradModelFiles | null>;

export interface ModelRef {
  modelId: bigint;
  version: number;
}

/** A base model and adapter that the server already holds in memory, lent for one answer. */
export interface LentModel {
  model: LlamaModel;
  adapter: LoraAdapter;
  tokenizer: Tokenizer;
  /** hands them back (the lender may then evict the adapter) */
  release(): void;
}

/**
 * Lends the loaded base model and adapter a model version is served with, so grad-v1 does not load
 * them a second time; null when they are not in this process (served by llama.cpp or remote workers,
 * or not with the adapter whose sha256 is `adapterHash`): then the attributor loads its own copy.
 */
export type GradModelLender = (model: ModelRef, adapterHash: Hex) => Promise<LentModel | null>;

export interface GradAttributorOptions {
  db: PaymentsDb;
  source: GradModelSource;
  /** where to borrow loaded models from (openLoraLender); absent: every model is loaded here */
  lender?: GradModelLender;
  /** background failures go here (default: console.error); they never reach a request */
  onError?: (err: unknown) => void;
  /** a lender that failed (the attributor then loads its own copy) is reported here (default: console.warn) */
  onWarn?: (message: string, err: unknown) => void;
  /** models kept (each holds a gradient store, and a base model and adapter when none is lent); default 2 */
  maxModels?: number;
  /** answers waiting at most; past it an answer is skipped (reported to onError); default 1,000 */
  maxPending?: number;
  /** threads of the attributor's own engine (only used when a model is not lent) */
  threads?: number;
}

type Tokenizer = ReturnType<typeof tokenizerFromHfJson>;

/** A base model and adapter loaded by the attributor itself, on its own engine. */
interface OwnModel {
  engine: Engine;
  model: LlamaModel;
  adapter: LoraAdapter;
  tokenizer: Tokenizer;
}

interface GradModel {
  files: GradModelFiles;
  store: GradientStore;
  /** loaded on first use when the lender had none */
  own?: OwnModel;
}

/**
 * Runs grad-v1 for settled answers one at a time, off the request path. `enqueue` returns at once;
 * `idle()` resolves when every queued answer has been attributed (or has failed and been reported).
 */
export class GradAttributor {
  /** model key → loaded model, or null when the model has no store; oldest first (LRU) */
  private readonly cache = new Map<string, GradModel | null>();
  private queue: Promise<void> = Promise.resolve();
  private closed = false;
  private pending = 0;

  constructor(private readonly o: GradAttributorOptions) {}

  /** Schedules grad-v1 for a stored usage row's answer. */
  enqueue(record: UsageRecord): void {
    if (this.closed) return;
    const report = this.o.onError ?? console.error;
    // answers can arrive faster than grad-v1 runs: the backlog is bounded, not the answers
    if (this.pending >= (this.o.maxPending ?? 1000)) {
      report(
        new GradAttributionError(
          `grad-v1 skipped for request ${record.id}: ${this.pending} answers are waiting`,
        ),
      );
      return;
    }
    this.pending++;
    this.queue = this.queue
      .then(async () => {
        await this.attribute(record);
      })
      .catch(report)
      .finally(() => {
        this.pending--;
      });
  }

  /** Resolves once the queue is empty. */
  async idle(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.queue;
      await seen;
    } while (seen !== this.queue);
  }

  /** Finishes queued work and frees every loaded model. */
  async close(): Promise<void> {
    this.closed = true;
    await this.idle();
    for (const m of this.cache.values()) if (m?.own) await free(m.own);
    this.cache.clear();
  }

  /** grad-v1 of one answer (null when the model has no gradient store); also stored on its usage row. */
  async attribute(record: UsageRecord): Promise<GradAttributionJson | null> {
    const m = await this.load(record.model);
    if (!m) return null;
    if (m.store.checkpoints !== 1) {
      throw new GradAttributionError(
        `model ${record.model.modelId} v${record.model.version}: its gradient store has ${m.store.checkpoints} checkpoints, but only the final adapter is published (one checkpoint expected)`,
      );
    }
    const lent = await this.borrow(record.model, m.files.adapterHash);
    try {
      const w = lent ?? (m.own ??= await loadOwn(await m.files.weights(), this.o.threads));
      const example = toExample(w.tokenizer, record.prompt + record.output, m.files.maxSeqLen);
      if (!example) return null;
      // synchronous, like every ml call: on a lent model it runs between the server's forward steps,
      // on scratch buffers of its own (no KV cache), and only reads the weights
      const g = perExampleGradients(w.model, w.adapter, [example], {
        projectDims: m.store.dims,
        seed: m.files.seed,
      });
      const result = gradV1([g.vectors[0]!], m.store);
      const json: GradAttributionJson = {
        algorithm: result.algorithm,
        commitment: result.commitment,
        queryHash: result.queryHash,
        storeHash: result.storeHash,
        credits: result.credits.map((c) => ({
          contributionId: c.contributionId.toString(),
          influence: c.influence.toString(),
          share: c.share,
        })),
      };
      this.o.db.setGradAttribution(record.id, json);
      return json;
    } finally {
      lent?.release();
    }
  }

  /** The lender's copy; null when there is none, or when lending failed (the job loads its own then). */
  private async borrow(ref: ModelRef, adapterHash: Hex): Promise<LentModel | null> {
    if (!this.o.lender) return null;
    try {
      return await this.o.lender(ref, adapterHash);
    } catch (err) {
      (this.o.onWarn ?? console.warn)(
        `grad-v1 of model ${ref.modelId} v${ref.version}: the lender failed (${err instanceof Error ? err.message : String(err)}); loading a copy here`,
        err,
      );
      return null;
    }
  }

  private async load(ref: ModelRef): Promise<GradModel | null> {
    const key = `${ref.modelId}/${ref.version}`;
    if (this.cache.has(key)) {
      const hit = this.cache.get(key)!;
      this.cache.delete(key);
      this.cache.set(key, hit);
      return hit;
    }
    const files = await this.o.source(ref);
    const loaded = files && { files, store: GradientStore.load(files.gradientStore) };
    const max = this.o.maxModels ?? 2;
    while (this.cache.size >= max) {
      const [oldest, m] = this.cache.entries().next().value!;
      this.cache.delete(oldest);
      if (m?.own) await free(m.own);
    }
    this.cache.set(key, loaded);
    return loaded;
  }
}

async function loadOwn(f: GradModelWeights, threads = 1): Promise<OwnModel> {
  const engine = await Engine.create({ threads, maxMemoryMiB: 512 });
  try {
    const { config, weights } = readLlamaGguf(GgufFile.fromBytes(f.baseGguf, "base model"));
    const model = LlamaModel.fromWeights(engine, config, weights);
    // the GGUF LoRA reader takes a path
    const dir = mkdtempSync(join(tmpdir(), "grad-adapter-"));
    try {
      const path = join(dir, "adapter.gguf");
      writeFileSync(path, f.adapterGguf);
      const adapter = LoraAdapter.fromFile(engine, config, readGgufLora(path, config));
      return { engine, model, adapter, tokenizer: tokenizerFromHfJson(f.tokenizerJson) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  } catch (err) {
    await engine.close();
    throw err;
  }
}

async function free(m: OwnModel): Promise<void> {
  m.adapter.free();
  m.model.free();
  await m.engine.close();
}
