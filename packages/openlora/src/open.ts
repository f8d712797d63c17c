import { join } from "node:path";
import { FileBlobStore } from "@openledger/datanet";
import { connect } from "@openledger/sdk";
import type { Address } from "viem";
import { RegistryCatalog } from "./catalog.ts";
import { EmbeddedBackend } from "./embedded-backend.ts";
import { LlamaCppBackend } from "./llamacpp-backend.ts";
import type { MeteringHook } from "./metering.ts";
import { RemoteBackend, type RemoteWorker } from "./remote-backend.ts";
import { OpenLora } from "./service.ts";
import type { Backend } from "./types.ts";

export interface OpenOpenLoraOptions {
  rpcUrl: string;
  modelRegistry: Address;
  /** the `openledger up` data dir: blobs live in `<dataDir>/blobs` */
  dataDir: string;
  /** ml engine threads (default 2) */
  threads?: number;
  maxBatch?: number;
  maxQueue?: number;
  adapterBudgetBytes?: number;
  /** base models (hash or name) served by remote workers instead of the embedded engine */
  remote?: { bases: string[]; workers: RemoteWorker[] };
  /** base models (hash or name) served by llama.cpp (node-llama-cpp) instead of the embedded engine */
  llamaCpp?: { bases: string[]; maxContexts?: number; contextSize?: number };
  metering?: MeteringHook[];
  onError?(err: unknown): void;
}

/** OpenLoRA on a chain and a data dir: the registry catalog, the embedded engine, optional remote workers. */
export async function openOpenLora(o: OpenOpenLoraOptions): Promise<OpenLora> {
  const { publicClient } = await connect(o.rpcUrl);
  const blobs = new FileBlobStore(join(o.dataDir, "blobs"));
  const backends: Record<string, Backend> = {};
  const key = (b: string) => (b.startsWith("0x") ? b.toLowerCase() : b);
  if (o.llamaCpp) {
    const { bases, ...rest } = o.llamaCpp;
    const cpp = new LlamaCppBackend({
      blobs,
      cacheDir: join(o.dataDir, "openlora", "files"),
      threads: o.threads ?? 2,
      ...rest,
    });
    for (const b of bases) backends[key(b)] = cpp;
  }
  if (o.remote) {
    const remote = new RemoteBackend({ workers: o.remote.workers, blobs });
    for (const b of o.remote.bases) backends[key(b)] = remote;
  }
  return new OpenLora({
    catalog: new RegistryCatalog({ client: publicClient, registry: o.modelRegistry, blobs }),
    defaultBackend: new EmbeddedBackend({
      blobs,
      threads: o.threads ?? 2,
      ...(o.maxBatch ? { maxBatch: o.maxBatch } : {}),
      ...(o.maxQueue !== undefined ? { maxQueue: o.maxQueue } : {}),
      ...(o.adapterBudgetBytes ? { adapterBudgetBytes: o.adapterBudgetBytes } : {}),
    }),
    backends,
    ...(o.metering ? { metering: o.metering } : {}),
    ...(o.onError ? { onError: o.onError } : {}),
  });
}
