// Prometheus text exposition (format 0.0.4) for the few metric kinds the server needs.

type Labels = Record<string, string>;

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(
    ([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')}"`,
  );
  return parts.length ? `{${parts.join(",")}}` : "";
}

interface Metric {
  render(): string;
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(by = 1, labels: Labels = {}): void {
    const key = labelText(labels);
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(labelText(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${k} ${v}`);
    return lines.join("\n");
  }
}

export class Gauge implements Metric {
  private value = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly read?: () => number,
  ) {}
  set(v: number): void {
    this.value = v;
  }
  add(delta: number): void {
    this.value += delta;
  }
  get(): number {
    return this.read ? this.read() : this.value;
  }
  render(): string {
    return [
      `# HELP ${this.name} ${this.help}`,
      `# TYPE ${this.name} gauge`,
      `${this.name} ${this.get()}`,
    ].join("\n");
  }
}

export class Histogram implements Metric {
  private readonly counts: number[];
  private sum = 0;
  private n = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: number[],
  ) {
    this.counts = buckets.map(() => 0);
  }
  observe(v: number): void {
    this.sum += v;
    this.n += 1;
    for (let i = 0; i < this.buckets.length; i++) if (v <= this.buckets[i]) this.counts[i] += 1;
  }
  get count(): number {
    return this.n;
  }
  /** An estimate of quantile q from the buckets (the upper bound of the bucket holding it). */
  quantile(q: number): number {
    const want = q * this.n;
    for (let i = 0; i < this.buckets.length; i++) if (this.counts[i] >= want) return this.buckets[i];
    return Number.POSITIVE_INFINITY;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    this.buckets.forEach((b, i) => {
      lines.push(`${this.name}_bucket{le="${b}"} ${this.counts[i]}`);
    });
    lines.push(
      `${this.name}_bucket{le="+Inf"} ${this.n}`,
      `${this.name}_sum ${this.sum}`,
      `${this.name}_count ${this.n}`,
    );
    return lines.join("\n");
  }
}

const SECONDS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** Every metric the server exposes at /metrics. */
export class ServerMetrics {
  readonly tokensGenerated = new Counter("openlora_generated_tokens_total", "tokens generated");
  readonly promptTokens = new Counter("openlora_prompt_tokens_total", "prompt tokens processed");
  readonly tokensPerSecond = new Gauge(
    "openlora_decode_tokens_per_second",
    "tokens per second over the last batched decode steps (moving average)",
  );
  readonly queueDepth = new Gauge("openlora_queue_depth", "requests waiting for a batch slot");
  readonly running = new Gauge("openlora_running_requests", "requests in the running batch");
  readonly batchSize = new Histogram(
    "openlora_batch_size",
    "rows per batched forward step",
    [1, 2, 4, 8, 16, 32, 64, 128, 256],
  );
  readonly cacheHits = new Counter("openlora_adapter_cache_hits_total", "adapter lookups served from memory");
  readonly cacheMisses = new Counter("openlora_adapter_cache_misses_total", "adapter lookups that loaded it");
  readonly cacheEvictions = new Counter(
    "openlora_adapter_cache_evictions_total",
    "adapters evicted when cold",
  );
  readonly cacheBytes = new Gauge("openlora_adapter_cache_bytes", "bytes of adapters held in memory");
  readonly adapterLoad = new Histogram(
    "openlora_adapter_load_seconds",
    "cold-load latency of an adapter: fetch, hash check, parse, upload",
    SECONDS,
  );
  readonly refusedAdapters = new Counter(
    "openlora_adapter_refused_total",
    "adapters refused because their bytes did not match ModelRegistry",
  );
  readonly requestLatency = new Histogram(
    "openlora_request_duration_seconds",
    "time from request to its last token",
    SECONDS,
  );
  readonly firstToken = new Histogram(
    "openlora_time_to_first_token_seconds",
    "time to the first token",
    SECONDS,
  );
  readonly requests = new Counter("openlora_requests_total", "finished requests by outcome");

  private readonly all: Metric[] = [
    this.tokensGenerated,
    this.promptTokens,
    this.tokensPerSecond,
    this.queueDepth,
    this.running,
    this.batchSize,
    this.cacheHits,
    this.cacheMisses,
    this.cacheEvictions,
    this.cacheBytes,
    this.adapterLoad,
    this.refusedAdapters,
    this.requestLatency,
    this.firstToken,
    this.requests,
  ];

  render(): string {
    return `${this.all.map((m) => m.render()).join("\n")}\n`;
  }
}
