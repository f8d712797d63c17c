// llama.cpp through node-llama-cpp, for base models the embedded engine cannot serve fast enough.
// llama.cpp applies LoRA per context, not per sequence: one loaded model per base, and an LRU of
// contexts, one per hot adapter (or ensemble), each with a few sequences that decode together.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { BlobStore } from "@openledger/datanet";
import type { Llama, LlamaContext, LlamaModel as LlamaCppModel, Token } from "node-llama-cpp";
import { hashMismatch, readBlob } from "./content.ts";
import { AdapterIntegrityError, ContextLengthError, InvalidRequestError } from "./errors.ts";
import type { ServerMetrics } from "./metrics.ts";
import type {
  Backend,
  FinishReason,
  GenerationEvent,
  GenerationRequest,
  GenerationResult,
  PreparedGeneration,
  PublishedModel,
} from "./types.ts";

export interface LlamaCppBackendOptions {
  blobs: BlobStore;
  /** where verified model and adapter files are written for llama.cpp to open */
  cacheDir: string;
  /** contexts (hot adapters) per base model kept at once (default 4) */
  maxContexts?: number;
  /** sequences per context: requests of one adapter decoding together (default 4) */
  sequencesPerContext?: number;
  /** tokens per sequence (default 512) */
  contextSize?: number;
  threads?: number;
}

interface HotContext {
  context: LlamaContext;
  active: number;
  waiters: (() => void)[];
}

interface LoadedModel {
  model: LlamaCppModel;
  contexts: Map<string, Promise<HotContext>>;
}

export class LlamaCppBackend implements Backend {
  readonly kind = "llama.cpp";
  private llama: Promise<Llama> | null = null;
  private readonly models = new Map<string, Promise<LoadedModel>>();
  private metrics: ServerMetrics | undefined;

  constructor(private readonly o: LlamaCppBackendOptions) {
    mkdirSync(o.cacheDir, { recursive: true });
  }

  useMetrics(metrics: ServerMetrics): void {
    this.metrics = metrics;
  }

  private getLlama(): Promise<Llama> {
    this.llama ??= import("node-llama-cpp").then(({ getLlama, LlamaLogLevel }) =>
      getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error }),
    );
    return this.llama;
  }

  /** A content-store file checked against its registry hash and written to the cache dir once. */
  private async file(name: string, cid: string, hash: `0x${string}`, what: string): Promise<string> {
    // named by CID and registry hash: a file is reused only for the pair it was checked against
    const path = join(this.o.cacheDir, `${cid}-${hash.slice(2, 18)}.gguf`);
    if (existsSync(path)) return path;
    const bytes = await readBlob(this.o.blobs, cid, what);
    const bad = hashMismatch(bytes, hash, cid);
    if (bad) {
      this.metrics?.refusedAdapters.inc();
      throw new AdapterIntegrityError(name, bad);
    }
    writeFileSync(path, bytes);
    return path;
  }

  private loaded(m: PublishedModel): Promise<LoadedModel> {
    const key = m.baseModel.hash.toLowerCase();
    let p = this.models.get(key);
    if (!p) {
      p = (async () => {
        const path = await this.file(
          m.baseModel.name,
          m.baseModel.cid,
          m.baseModel.hash,
          `base model ${m.baseModel.name}`,
        );
        const model = await (await this.getLlama()).loadModel({ modelPath: path, gpuLayers: 0 });
        return { model, contexts: new Map() };
      })();
      this.models.set(key, p);
      p.catch(() => this.models.delete(key));
    }
    return p;
  }

  /** The context for this adapter set (created, or least recently used idle one evicted, as needed). */
  private async context(base: LoadedModel, req: GenerationRequest): Promise<HotContext> {
    const key = req.adapters.map((a) => `${a.model.adapter!.cid}*${a.weight}`).join("+") || "base";
    const hit = base.contexts.get(key);
    if (hit) {
      this.metrics?.cacheHits.inc();
      base.contexts.delete(key);
      base.contexts.set(key, hit);
      return hit;
    }
    this.metrics?.cacheMisses.inc();
    const created = (async () => {
      const started = performance.now();
      const adapters = [];
      for (const a of req.adapters)
        adapters.push({
          filePath: await this.file(
            a.model.name,
            a.model.adapter!.cid,
            a.model.adapter!.hash,
            `adapter of ${a.model.name}`,
          ),
          scale: a.weight,
        });
      const context = await base.model.createContext({
        contextSize: this.o.contextSize ?? 512,
        sequences: this.o.sequencesPerContext ?? 4,
        threads: this.o.threads ?? 2,
        ...(adapters.length ? { lora: { adapters } } : {}),
      });
      this.metrics?.adapterLoad.observe((performance.now() - started) / 1000);
      return { context, active: 0, waiters: [] } as HotContext;
    })();
    base.contexts.set(key, created);
    created.catch(() => base.contexts.delete(key));
    const hot = await created;
    // evict the coldest idle contexts past the limit
    for (const [k, p] of base.contexts) {
      if (base.contexts.size <= (this.o.maxContexts ?? 4)) break;
      const c = await p;
      if (c.active > 0 || c === hot) continue;
      base.contexts.delete(k);
      this.metrics?.cacheEvictions.inc();
      await c.context.dispose();
    }
    return hot;
  }

  async prepare(req: GenerationRequest): Promise<PreparedGeneration> {
    if (req.params.logprobs !== undefined)
      throw new InvalidRequestError(
        "log-probabilities are not available for models served through llama.cpp",
        "logprobs",
      );
    const base = await this.loaded(req.model);
    const prompt = base.model.tokenize(req.prompt);
    const limit = this.o.contextSize ?? 512;
    if (prompt.length === 0) throw new InvalidRequestError("the prompt is empty", "prompt");
    if (prompt.length >= limit) throw new ContextLengthError(prompt.length, limit, "prompt");
    const hot = await this.context(base, req);
    let used = false;
    return {
      promptTokens: prompt.length,
      run: async (onEvent, signal) => {
        if (used) throw new Error("a prepared generation runs once");
        used = true;
        return this.generate(base.model, hot, prompt, req, onEvent, signal);
      },
    };
  }

  private async generate(
    model: LlamaCppModel,
    hot: HotContext,
    prompt: Token[],
    req: GenerationRequest,
    onEvent: (ev: GenerationEvent) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    hot.active++;
    while (hot.context.sequencesLeft === 0) await new Promise<void>((r) => hot.waiters.push(r));
    const seq = hot.context.getSequence();
    const p = req.params;
    const tokens: Token[] = [];
    let emitted = 0;
    let text = "";
    let finishReason: FinishReason = "length";
    try {
      const limit = Math.min(p.maxTokens, (this.o.contextSize ?? 512) - prompt.length);
      for await (const t of seq.evaluate(prompt, {
        temperature: p.temperature,
        topP: p.topP,
        seed: p.seed,
      })) {
        if (signal.aborted) {
          finishReason = "cancelled";
          break;
        }
        if (model.isEogToken(t)) {
          finishReason = "stop";
          break;
        }
        tokens.push(t);
        const full = model.detokenize(tokens);
        const hit = p.stop.map((s) => full.indexOf(s)).filter((i) => i >= 0);
        if (hit.length) {
          text = full.slice(0, Math.min(...hit));
          finishReason = "stop";
        } else text = full;
        // hold back what could still start a stop string, and an unfinished UTF-8 character
        let end = text.length;
        if (finishReason !== "stop") {
          for (const s of p.stop)
            for (let k = Math.min(s.length - 1, text.length); k > 0; k--)
              if (text.endsWith(s.slice(0, k))) {
                end = Math.min(end, text.length - k);
                break;
              }
          while (end > emitted && text.charCodeAt(end - 1) === 0xfffd) end--;
        }
        if (end > emitted) {
          onEvent({ text: text.slice(emitted, end) });
          emitted = end;
        }
        this.metrics?.tokensGenerated.inc();
        if (finishReason === "stop" || tokens.length >= limit) break;
      }
      if (finishReason !== "cancelled" && text.length > emitted) onEvent({ text: text.slice(emitted) });
      return { text, finishReason, promptTokens: prompt.length, completionTokens: tokens.length };
    } finally {
      seq.dispose();
      hot.active--;
      hot.waiters.shift()?.();
    }
  }

  async close(): Promise<void> {
    for (const p of this.models.values()) {
      const m = await p.catch(() => null);
      if (!m) continue;
      for (const c of m.contexts.values()) await (await c.catch(() => null))?.context.dispose();
      await m.model.dispose();
    }
    this.models.clear();
    if (this.llama) await (await this.llama).dispose();
    this.llama = null;
  }
}
