import type { BlobStore } from "@openledger/datanet";
import { listPublishedModels } from "@openledger/factory";
import type { Address, Client } from "viem";
import { ModelNotFoundError } from "./errors.ts";
import type { ModelCatalog, PublishedModel } from "./types.ts";

export interface RegistryCatalogOptions {
  client: Client;
  registry: Address;
  blobs: BlobStore;
  /** how long a listing is reused before the chain is read again (default 2 s) */
  refreshMs?: number;
}

/**
 * Published models through ModelFactory's read API (ModelRegistry plus the metadata blobs), cached
 * for `refreshMs`. A name published twice means its newest model, as the factory resolves it.
 */
export class RegistryCatalog implements ModelCatalog {
  private cached: { at: number; models: PublishedModel[] } | null = null;
  private pending: Promise<PublishedModel[]> | null = null;

  constructor(private readonly o: RegistryCatalogOptions) {}

  async list(): Promise<PublishedModel[]> {
    if (this.cached && performance.now() - this.cached.at < (this.o.refreshMs ?? 2000))
      return this.cached.models;
    this.pending ??= this.read().finally(() => {
      this.pending = null;
    });
    return this.pending;
  }

  async resolve(nameOrId: string): Promise<PublishedModel> {
    const find = (ms: PublishedModel[]) =>
      ms.find((m) => m.name === nameOrId || String(m.modelId) === nameOrId);
    const hit = find(await this.list());
    if (hit) return hit;
    // a model published since the listing (re-read at most every 250 ms, so unknown names stay cheap)
    if (this.cached && performance.now() - this.cached.at < 250) throw new ModelNotFoundError(nameOrId);
    this.cached = null;
    const again = find(await this.list());
    if (!again) throw new ModelNotFoundError(nameOrId);
    return again;
  }

  private async read(): Promise<PublishedModel[]> {
    const all = await listPublishedModels({
      client: this.o.client,
      modelRegistry: this.o.registry,
      blobs: this.o.blobs,
    });
    const byName = new Map<string, PublishedModel>();
    for (const m of all) {
      byName.delete(m.name);
      byName.set(m.name, m);
    }
    const models = [...byName.values()];
    this.cached = { at: performance.now(), models };
    return models;
  }
}

/** A fixed list of models (tests, and servers fed by another catalog). */
export class StaticCatalog implements ModelCatalog {
  constructor(private readonly models: PublishedModel[]) {}
  async list(): Promise<PublishedModel[]> {
    return this.models;
  }
  async resolve(nameOrId: string): Promise<PublishedModel> {
    const m = this.models.find((x) => x.name === nameOrId || String(x.modelId) === nameOrId);
    if (!m) throw new ModelNotFoundError(nameOrId);
    return m;
  }
}
