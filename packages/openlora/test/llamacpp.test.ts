import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FileBlobStore } from "@openledger/datanet";
import { Engine } from "@openledger/ml";
import Fastify, { type FastifyInstance } from "fastify";
import { getLlama, LlamaLogLevel, type Token } from "node-llama-cpp";
import OpenAI from "openai";
import { StaticCatalog } from "../src/catalog.ts";
import { sha256Hex } from "../src/content.ts";
import { LlamaCppBackend } from "../src/llamacpp-backend.ts";
import { openaiRoutes } from "../src/routes.ts";
import { OpenLora } from "../src/service.ts";
import type { PublishedModel } from "../src/types.ts";
import { DEMO_BASE, DEMO_TOKENIZER, demoAdapterBytes, demoConfig, writeTemp } from "./fixtures.ts";

describe("the llama.cpp backend", () => {
  const dir = mkdtempSync(join(tmpdir(), "openlora-llamacpp-"));
  let app: FastifyInstance;
  let lora: OpenLora;
  let client: OpenAI;
  let adapterPath: string;

  before(async () => {
    const blobs = new FileBlobStore(join(dir, "blobs"));
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
    const a = demoAdapterBytes(engine, demoConfig(), 1, dir);
    const b = demoAdapterBytes(engine, demoConfig(), 2, dir);
    await engine.close();
    adapterPath = writeTemp(dir, "a-direct.gguf", a);
    const baseBytes = readFileSync(DEMO_BASE);
    const base = { name: "demo-base", hash: sha256Hex(baseBytes), cid: (await blobs.put(baseBytes)).cid };
    const tokenizerCid = (await blobs.put(readFileSync(DEMO_TOKENIZER))).cid;
    const model = (
      id: number,
      name: string,
      adapter?: Uint8Array,
      hash?: `0x${string}`,
    ): Promise<PublishedModel> =>
      (async () => ({
        modelId: BigInt(id),
        version: adapter ? 1 : 0,
        name,
        owner: "0x0000000000000000000000000000000000000001",
        pricePer1kTokens: 0n,
        baseModel: base,
        tokenizerCid,
        ...(adapter
          ? { adapter: { hash: hash ?? sha256Hex(adapter), cid: (await blobs.put(adapter)).cid } }
          : {}),
        snapshotIds: [],
      }))();
    const models = [
      await model(1, "demo-base"),
      await model(2, "demo-a", a),
      await model(3, "demo-b", b),
      await model(4, "demo-tampered", b, sha256Hex(a)),
    ];
    lora = new OpenLora({
      catalog: new StaticCatalog(models),
      defaultBackend: new LlamaCppBackend({
        blobs,
        cacheDir: join(dir, "files"),
        maxContexts: 1,
        contextSize: 128,
        threads: 1,
      }),
    });
    app = Fastify();
    await app.register(openaiRoutes, { openlora: lora });
    client = new OpenAI({
      baseURL: `${await app.listen({ host: "127.0.0.1", port: 0 })}/v1`,
      apiKey: "t",
      maxRetries: 0,
    });
  });

  after(async () => {
    await app?.close();
    await lora?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("answers what llama.cpp itself generates with the adapter; contexts are evicted when cold", async () => {
    const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
    const model = await llama.loadModel({ modelPath: DEMO_BASE, gpuLayers: 0 });
    let want = "";
    try {
      const ctx = await model.createContext({
        contextSize: 128,
        threads: 1,
        lora: { adapters: [{ filePath: adapterPath }] },
      });
      const out: Token[] = [];
      for await (const t of ctx.getSequence().evaluate(model.tokenize("apple:"), { temperature: 0 })) {
        if (model.isEogToken(t) || out.push(t) >= 10) break;
      }
      want = model.detokenize(out);
      await ctx.dispose();
    } finally {
      await model.dispose();
      await llama.dispose();
    }
    const got = await client.completions.create({
      model: "demo-a",
      prompt: "apple:",
      max_tokens: 10,
      temperature: 0,
    });
    assert.equal(got.choices[0].text, want);
    const other = await client.completions.create({
      model: "demo-b",
      prompt: "apple:",
      max_tokens: 10,
      temperature: 0,
    });
    assert.notEqual(other.choices[0].text, want, "each adapter has its own context");
    assert.ok(lora.metrics.cacheEvictions.get() >= 1, "one context at most: demo-a's was evicted");
    const again = await client.completions.create({
      model: "demo-a",
      prompt: "apple:",
      max_tokens: 10,
      temperature: 0,
    });
    assert.equal(again.choices[0].text, want);
  });

  test("a tampered adapter is refused; logprobs are refused with a 400", async () => {
    await assert.rejects(
      client.completions.create({ model: "demo-tampered", prompt: "apple:", max_tokens: 4 }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 502 && e.code === "adapter_hash_mismatch",
    );
    await assert.rejects(
      client.completions.create({ model: "demo-a", prompt: "apple:", max_tokens: 4, logprobs: 2 }),
      (e: InstanceType<typeof OpenAI.APIError>) => e.status === 400 && e.param === "logprobs",
    );
  });
});
