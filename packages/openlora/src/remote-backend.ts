import { createHash } from "node:crypto";
import type { BlobStore } from "@openledger/datanet";
import { tokenizerFromHfJson } from "@openledger/ml";
import { readBlob } from "./content.ts";
import { BackendUnavailableError, InvalidRequestError, OpenLoraError, QueueFullError } from "./errors.ts";
import type {
  Backend,
  FinishReason,
  GenerationEvent,
  GenerationRequest,
  GenerationResult,
  PreparedGeneration,
  PublishedModel,
  TokenLogprob,
} from "./types.ts";

/**
 * An OpenAI-compatible engine on another machine. `openlora`: another instance of this server
 * (resolves models from the same registry); `vllm`: started with `--enable-lora`, adapters loaded on
 * first use through POST /v1/load_lora_adapter; `lorax`: adapters named by id in `model`.
 */
export interface RemoteWorker {
  /** the API base, e.g. http://10.0.0.5:8000/v1 */
  url: string;
  kind?: "openlora" | "vllm" | "lorax";
  apiKey?: string;
  /** vLLM: the adapter path on the worker's disk (default `/adapters/<adapter cid>`) */
  adapterPath?: (m: PublishedModel) => string;
  /** LoRAX: the adapter id (default the adapter CID) */
  adapterId?: (m: PublishedModel) => string;
}

export interface RemoteBackendOptions {
  workers: RemoteWorker[];
  /** seconds between health checks of each worker (default 5) */
  healthIntervalSeconds?: number;
  /**
   * The content store: with it a request's prompt is counted with its base model's published
   * tokenizer before it is sent, so admission (the payer's hold) sees the real prompt size; without
   * it the count is known only from the worker's answer.
   */
  blobs?: BlobStore;
}

interface WorkerState {
  w: RemoteWorker;
  healthy: boolean;
  loaded: Set<string>;
}

type Json = Record<string, unknown>;

/**
 * Remote workers behind one backend: requests for an adapter go to the worker that rendezvous
 * hashing ranks first for it (so each worker keeps a stable share of adapters hot), unhealthy
 * workers are skipped, and a worker that fails before its first token is marked down and the next
 * one tried. Health checks (GET <origin>/health) bring workers back.
 */
export class RemoteBackend implements Backend {
  readonly kind = "remote";
  private readonly workers: WorkerState[];
  private readonly timer: NodeJS.Timeout;
  private readonly tokenizers = new Map<string, Promise<ReturnType<typeof tokenizerFromHfJson>>>();

  constructor(private readonly options: RemoteBackendOptions) {
    if (options.workers.length === 0)
      throw new BackendUnavailableError("a remote backend needs at least one worker");
    this.workers = options.workers.map((w) => ({
      w: { kind: "openlora", ...w },
      healthy: true,
      loaded: new Set(),
    }));
    this.timer = setInterval(() => void this.checkHealth(), (options.healthIntervalSeconds ?? 5) * 1000);
    this.timer.unref();
  }

  status(): { url: string; healthy: boolean }[] {
    return this.workers.map((s) => ({ url: s.w.url, healthy: s.healthy }));
  }

  async checkHealth(): Promise<void> {
    await Promise.all(
      this.workers.map(async (s) => {
        try {
          const res = await fetch(`${new URL(s.w.url).origin}/health`, { signal: AbortSignal.timeout(2000) });
          s.healthy = res.ok;
          await res.body?.cancel();
        } catch {
          s.healthy = false;
        }
        if (!s.healthy) s.loaded.clear();
      }),
    );
  }

  /** Workers in the order to try for a key: healthy first, each group by rendezvous score. */
  route(key: string): WorkerState[] {
    const score = (s: WorkerState) =>
      createHash("sha256").update(`${key}\n${s.w.url}`).digest().readUInt32BE(0);
    return [...this.workers].sort((a, b) => Number(b.healthy) - Number(a.healthy) || score(b) - score(a));
  }

  private headers(w: RemoteWorker): Record<string, string> {
    return {
      "content-type": "application/json",
      ...(w.apiKey ? { authorization: `Bearer ${w.apiKey}` } : {}),
    };
  }

  private remoteModel(s: WorkerState, m: PublishedModel): string {
    if (s.w.kind === "lorax" && m.adapter) return s.w.adapterId?.(m) ?? m.adapter.cid;
    return m.name;
  }

  private async ensureLoaded(s: WorkerState, m: PublishedModel, signal: AbortSignal): Promise<void> {
    if (s.w.kind !== "vllm" || !m.adapter || s.loaded.has(m.name)) return;
    const res = await fetch(`${s.w.url}/load_lora_adapter`, {
      method: "POST",
      headers: this.headers(s.w),
      body: JSON.stringify({
        lora_name: m.name,
        lora_path: s.w.adapterPath?.(m) ?? `/adapters/${m.adapter.cid}`,
      }),
      signal,
    });
    const text = await res.text();
    // vLLM answers 400 when the adapter is already loaded
    if (!res.ok && !/already/i.test(text))
      throw new BackendUnavailableError(
        `${s.w.url}: load_lora_adapter failed (${res.status}): ${text.slice(0, 200)}`,
      );
    s.loaded.add(m.name);
  }

  async prepare(req: GenerationRequest): Promise<PreparedGeneration> {
    if (req.adapters.length > 1 || req.adapters.some((a) => a.weight !== 1))
      throw new InvalidRequestError(
        "ensembles run on the embedded backend only; this base model is served remotely",
        "openledger.adapters",
      );
    const promptTokens = await this.countPrompt(req);
    let used = false;
    return {
      promptTokens,
      run: async (onEvent, signal) => {
        if (used) throw new Error("a prepared generation runs once");
        used = true;
        return this.run(req, onEvent, signal);
      },
    };
  }

  /** The prompt's length in its base model's tokens (0 without a content store). */
  private async countPrompt(req: GenerationRequest): Promise<number> {
    const { blobs } = this.options;
    if (!blobs) return 0;
    const cid = req.model.tokenizerCid;
    let t = this.tokenizers.get(cid);
    if (!t) {
      t = readBlob(blobs, cid, `tokenizer of ${req.model.baseModel.name}`).then((bytes) =>
        tokenizerFromHfJson(new TextDecoder().decode(bytes)),
      );
      this.tokenizers.set(cid, t);
      t.catch(() => this.tokenizers.delete(cid));
    }
    return (await t).encode(req.prompt).length;
  }

  private async run(
    req: GenerationRequest,
    onEvent: (ev: GenerationEvent) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    const target = req.adapters[0]?.model ?? req.model;
    let lastError: unknown = null;
    let busy = 0;
    for (const s of this.route(target.adapter?.cid ?? target.name)) {
      let emitted = false;
      try {
        await this.ensureLoaded(s, target, signal);
        const p = req.params;
        const res = await fetch(`${s.w.url}/completions`, {
          method: "POST",
          headers: this.headers(s.w),
          signal,
          body: JSON.stringify({
            model: this.remoteModel(s, target),
            prompt: req.prompt,
            max_tokens: p.maxTokens,
            temperature: p.temperature,
            top_p: p.topP,
            seed: p.seed,
            ...(p.stop.length ? { stop: p.stop } : {}),
            ...(p.logprobs !== undefined ? { logprobs: p.logprobs } : {}),
            user: req.tenant,
            stream: true,
            stream_options: { include_usage: true },
          }),
        });
        if (res.status === 429) {
          busy++;
          await res.body?.cancel();
          continue;
        }
        if (!res.ok) {
          const body = (await res.json().catch(() => ({}))) as { error?: Json };
          const e = body.error ?? {};
          const err = new OpenLoraError(
            `${String(e.message ?? res.statusText)}`,
            res.status,
            String(e.type ?? "api_error"),
            String(e.code ?? "remote_error"),
            (e.param as string | null) ?? null,
          );
          if (res.status < 500) throw err;
          lastError = err;
          s.healthy = false;
          continue;
        }
        return await this.readStream(
          res,
          (ev) => {
            emitted = true;
            onEvent(ev);
          },
          signal,
        );
      } catch (err) {
        if (err instanceof OpenLoraError && err.status < 500) throw err;
        if (signal.aborted)
          return { text: "", finishReason: "cancelled", promptTokens: 0, completionTokens: 0 };
        // a worker that already streamed tokens cannot be replaced mid-answer
        if (emitted)
          throw new BackendUnavailableError(`${s.w.url} failed mid-answer: ${(err as Error).message}`);
        lastError = err;
        s.healthy = false;
        s.loaded.clear();
      }
    }
    if (busy > 0 && lastError === null) throw new QueueFullError(busy, 1);
    throw new BackendUnavailableError(
      `no remote worker answered for '${target.name}'${lastError ? `: ${(lastError as Error).message}` : ""}`,
    );
  }

  private async readStream(
    res: Response,
    onEvent: (ev: GenerationEvent) => void,
    signal: AbortSignal,
  ): Promise<GenerationResult> {
    let text = "";
    let finishReason: FinishReason = "length";
    let promptTokens = 0;
    let completionTokens = -1;
    let chunks = 0;
    const logprobs: TokenLogprob[] = [];
    let sawLogprobs = false;
    const decoder = new TextDecoder();
    let buf = "";
    try {
      for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(part, { stream: true });
        for (let nl = buf.indexOf("\n\n"); nl >= 0; nl = buf.indexOf("\n\n")) {
          const event = buf.slice(0, nl);
          buf = buf.slice(nl + 2);
          for (const line of event.split("\n")) {
            if (!line.startsWith("data:")) continue;
            const data = line.slice(5).trim();
            if (data === "[DONE]") continue;
            const j = JSON.parse(data) as Json;
            if (j.error) {
              const e = j.error as Json;
              throw new BackendUnavailableError(`remote worker: ${String(e.message)}`);
            }
            const u = j.usage as Json | undefined;
            if (u) {
              promptTokens = Number(u.prompt_tokens);
              completionTokens = Number(u.completion_tokens);
            }
            const c = (j.choices as Json[] | undefined)?.[0];
            if (!c) continue;
            const lp = c.logprobs as {
              tokens?: string[];
              token_logprobs?: number[];
              top_logprobs?: Record<string, number>[];
            } | null;
            const ev: GenerationEvent = { text: String(c.text ?? "") };
            if (lp?.tokens?.length) {
              sawLogprobs = true;
              ev.logprob = {
                token: lp.tokens[0],
                logprob: lp.token_logprobs?.[0] ?? 0,
                top: Object.entries(lp.top_logprobs?.[0] ?? {}).map(([token, logprob]) => ({
                  token,
                  logprob,
                })),
              };
              logprobs.push(ev.logprob);
            }
            if (ev.text || ev.logprob) {
              chunks++;
              text += ev.text;
              onEvent(ev);
            }
            if (c.finish_reason === "stop" || c.finish_reason === "length") finishReason = c.finish_reason;
          }
        }
      }
    } catch (err) {
      if (!signal.aborted) throw err;
      return { text, finishReason: "cancelled", promptTokens, completionTokens: chunks };
    }
    return {
      text,
      finishReason,
      promptTokens,
      completionTokens: completionTokens >= 0 ? completionTokens : chunks,
      ...(sawLogprobs ? { logprobs } : {}),
    };
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
  }
}
