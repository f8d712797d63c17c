import type { LoraAdapter } from "@openledger/ml";
import type { ServerMetrics } from "./metrics.ts";

interface Entry {
  adapter: LoraAdapter;
  bytes: number;
  pins: number;
}

export interface AdapterLease {
  adapter: LoraAdapter;
  /** true when this lookup loaded it (a cache miss) */
  loaded: boolean;
  release(): void;
}

export interface AdapterCacheStats {
  entries: number;
  bytes: number;
  budgetBytes: number;
  hits: number;
  misses: number;
  evictions: number;
  /** cold-load latencies, newest last (at most 1,000 kept) */
  loadSeconds: number[];
}

/**
 * Adapters in memory, least recently used first out, under a byte budget. A lease pins its adapter
 * while a request runs; only unpinned adapters are evicted, so the budget can be exceeded while more
 * adapters than fit are in flight. Concurrent lookups of one key share one load.
 */
export class AdapterCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<Entry>>();
  private bytes = 0;
  private hits = 0;
  private misses = 0;
  private evictions = 0;
  private readonly loadSeconds: number[] = [];

  constructor(
    readonly budgetBytes: number,
    private readonly metrics?: ServerMetrics,
  ) {}

  async acquire(key: string, load: () => Promise<LoraAdapter>): Promise<AdapterLease> {
    let entry = this.entries.get(key);
    let loaded = false;
    if (entry) {
      this.hits++;
      this.metrics?.cacheHits.inc();
      // refresh recency: Map iteration order is insertion order
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      let pending = this.loading.get(key);
      if (!pending) {
        this.misses++;
        this.metrics?.cacheMisses.inc();
        loaded = true;
        pending = this.load(key, load);
        this.loading.set(key, pending);
      } else this.hits++;
      entry = await pending;
    }
    entry.pins++;
    let released = false;
    const e = entry;
    return {
      adapter: e.adapter,
      loaded,
      release: () => {
        if (released) return;
        released = true;
        e.pins--;
        this.evict();
      },
    };
  }

  private async load(key: string, load: () => Promise<LoraAdapter>): Promise<Entry> {
    const started = performance.now();
    try {
      const adapter = await load();
      const seconds = (performance.now() - started) / 1000;
      this.loadSeconds.push(seconds);
      if (this.loadSeconds.length > 1000) this.loadSeconds.shift();
      this.metrics?.adapterLoad.observe(seconds);
      const entry: Entry = { adapter, bytes: adapter.parameterCount * 4, pins: 0 };
      this.entries.set(key, entry);
      this.bytes += entry.bytes;
      this.metrics?.cacheBytes.set(this.bytes);
      this.evict(entry);
      return entry;
    } finally {
      this.loading.delete(key);
    }
  }

  /** Frees cold adapters, oldest first, until the cache fits its budget (sparing `keep`). */
  private evict(keep?: Entry): void {
    for (const [key, e] of this.entries) {
      if (this.bytes <= this.budgetBytes) break;
      if (e.pins > 0 || e === keep) continue;
      this.entries.delete(key);
      this.bytes -= e.bytes;
      this.evictions++;
      this.metrics?.cacheEvictions.inc();
      e.adapter.free();
    }
    this.metrics?.cacheBytes.set(this.bytes);
  }

  has(key: string): boolean {
    return this.entries.has(key);
  }

  stats(): AdapterCacheStats {
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      budgetBytes: this.budgetBytes,
      hits: this.hits,
      misses: this.misses,
      evictions: this.evictions,
      loadSeconds: [...this.loadSeconds],
    };
  }

  clear(): void {
    for (const e of this.entries.values()) e.adapter.free();
    this.entries.clear();
    this.bytes = 0;
  }
}
