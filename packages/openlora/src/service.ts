import { randomBytes } from "node:crypto";
import type { AdmissionHook, AdmissionTicket, Credentials, Settlement } from "./admission.ts";
import { InvalidRequestError } from "./errors.ts";
import type { MeteringHook, UsageRecord } from "./metering.ts";
import { ServerMetrics } from "./metrics.ts";
import type {
  Backend,
  GenerationEvent,
  GenerationResult,
  ModelCatalog,
  PublishedModel,
  SamplingParams,
  WeightedAdapter,
} from "./types.ts";

export interface OpenLoraOptions {
  catalog: ModelCatalog;
  /** the backend for base models without their own entry in `backends` */
  defaultBackend: Backend;
  /** backends by base model hash (0x...) or base model name */
  backends?: Record<string, Backend>;
  metering?: MeteringHook[];
  /** the payments layer's admission (see admission.ts); none: every request runs free */
  admission?: AdmissionHook;
  metrics?: ServerMetrics;
  onError?(err: unknown): void;
}

export interface StartInput {
  model: string;
  ensemble?: { model: string; weight: number }[];
  prompt: string;
  params: SamplingParams;
  tenant: string;
  credentials?: Credentials;
}

/** A run's result and, for an admitted paid request, what its settlement adds to the answer. */
export interface ServedResult extends GenerationResult {
  settlement?: Settlement;
}

export interface StartedGeneration {
  id: string;
  model: PublishedModel;
  promptTokens: number;
  /** the admission ticket's headers, to send with the answer's first byte */
  headers?: Record<string, string>;
  run(onEvent: (ev: GenerationEvent) => void, signal: AbortSignal): Promise<ServedResult>;
}

/**
 * The serving core behind the OpenAI routes: resolves the named model (and any ensemble) in the
 * catalog, picks the backend of its base model, runs it, and hands the usage of every request that
 * ran to the metering hooks.
 */
export class OpenLora {
  readonly metrics: ServerMetrics;
  readonly catalog: ModelCatalog;
  private readonly metering: MeteringHook[];
  private admission: AdmissionHook | undefined;

  constructor(private readonly o: OpenLoraOptions) {
    this.metrics = o.metrics ?? new ServerMetrics();
    this.catalog = o.catalog;
    this.metering = [...(o.metering ?? [])];
    this.admission = o.admission;
    for (const b of new Set([o.defaultBackend, ...Object.values(o.backends ?? {})]))
      b.useMetrics?.(this.metrics);
  }

  addMeteringHook(hook: MeteringHook): void {
    this.metering.push(hook);
  }

  setAdmission(hook: AdmissionHook | undefined): void {
    this.admission = hook;
  }

  backendFor(m: PublishedModel): Backend {
    const b = this.o.backends ?? {};
    return b[m.baseModel.hash.toLowerCase()] ?? b[m.baseModel.name] ?? this.o.defaultBackend;
  }

  /** Resolves, validates, tokenizes and loads adapters; errors here are the request's 4xx/5xx answer. */
  async start(input: StartInput): Promise<StartedGeneration> {
    const model = await this.catalog.resolve(input.model);
    const adapters: WeightedAdapter[] = [];
    if (input.ensemble) {
      for (const a of input.ensemble)
        adapters.push({ model: await this.catalog.resolve(a.model), weight: a.weight });
      if (model.adapter && !adapters.some((a) => a.model.name === model.name))
        throw new InvalidRequestError(
          "with 'openledger.adapters', 'model' names the base model or one of the listed adapters",
          "openledger.adapters",
        );
    } else if (model.adapter) adapters.push({ model, weight: 1 });
    const id = randomBytes(12).toString("hex");
    const backend = this.backendFor(model);
    const prepared = await backend.prepare({
      id,
      tenant: input.tenant,
      model,
      adapters,
      prompt: input.prompt,
      params: input.params,
    });
    let ticket: AdmissionTicket | null = null;
    if (this.admission) {
      try {
        ticket = await this.admission({
          id,
          model,
          adapters,
          promptTokens: prepared.promptTokens,
          maxTokens: input.params.maxTokens,
          credentials: input.credentials ?? {},
        });
      } catch (err) {
        // a refused request never runs: an aborted run only frees what prepare holds (adapter lease)
        await prepared.run(() => {}, AbortSignal.abort()).catch(() => {});
        throw err;
      }
    }
    const startedAt = new Date();
    const t0 = performance.now();
    return {
      id,
      model,
      promptTokens: prepared.promptTokens,
      ...(ticket?.headers ? { headers: ticket.headers } : {}),
      run: async (onEvent, signal) => {
        let first = true;
        let result: GenerationResult;
        try {
          result = await prepared.run((ev) => {
            if (first && ev.text) {
              first = false;
              this.metrics.firstToken.observe((performance.now() - t0) / 1000);
            }
            onEvent(ev);
          }, signal);
        } catch (err) {
          // the run failed (queue full, backend error): the payer's hold is released or its payment returned
          await ticket?.abandon?.(err).catch((e: unknown) => this.o.onError?.(e));
          throw err;
        }
        this.metrics.requestLatency.observe((performance.now() - t0) / 1000);
        this.metrics.promptTokens.inc(result.promptTokens);
        this.metrics.requests.inc(1, { finish_reason: result.finishReason });
        const record: UsageRecord = {
          id,
          model: {
            name: model.name,
            modelId: model.modelId,
            version: model.version,
            owner: model.owner,
            pricePer1kTokens: model.pricePer1kTokens,
          },
          adapters: adapters.map((a) => ({
            name: a.model.name,
            modelId: a.model.modelId,
            version: a.model.version,
            weight: a.weight,
            owner: a.model.owner,
            pricePer1kTokens: a.model.pricePer1kTokens,
          })),
          tenant: input.tenant,
          backend: backend.kind,
          prompt: input.prompt,
          output: result.text,
          promptTokens: result.promptTokens,
          completionTokens: result.completionTokens,
          totalTokens: result.promptTokens + result.completionTokens,
          finishReason: result.finishReason,
          startedAt,
          finishedAt: new Date(),
        };
        for (const hook of this.metering) {
          try {
            await hook(record);
          } catch (err) {
            this.o.onError?.(err);
          }
        }
        if (!ticket) return result;
        try {
          return { ...result, settlement: await ticket.settle(record) };
        } catch (err) {
          this.o.onError?.(err);
          return result;
        }
      },
    };
  }

  async close(): Promise<void> {
    const all = new Set([this.o.defaultBackend, ...Object.values(this.o.backends ?? {})]);
    for (const b of all) await b.close();
  }
}
