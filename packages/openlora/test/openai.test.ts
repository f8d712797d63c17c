import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import {
  Engine,
  GgufFile,
  generate,
  LlamaModel,
  LoraAdapter,
  mergeAdapter,
  readGgufLora,
  readLlamaGguf,
  tokenizerFromHfJson,
} from "@openledger/ml";
import Fastify, { type FastifyInstance } from "fastify";
import OpenAI from "openai";
import { RegistryCatalog } from "../src/catalog.ts";
import { renderChat } from "../src/chat-template.ts";
import { EmbeddedBackend } from "../src/embedded-backend.ts";
import type { UsageRecord } from "../src/metering.ts";
import { openOpenLora } from "../src/open.ts";
import { RemoteBackend } from "../src/remote-backend.ts";
import { openaiRoutes } from "../src/routes.ts";
import { OpenLora } from "../src/service.ts";
import type { Backend } from "../src/types.ts";
import {
  DEMO_BASE,
  DEMO_TOKENIZER,
  type DemoChain,
  demoAdapterBytes,
  demoConfig,
  publishDemoModel,
  startDemoChain,
  writeTemp,
} from "./fixtures.ts";

/** demo-chat's own chat template (in its metadata), in OpenLoRA's small template syntax. */
const CHAT_TEMPLATE = "{{#messages}}<<{{role}}>> {{content}}\n{{/messages}}<<assistant>>";

/** A request that, left alone, generates all its 100 tokens (seed 1 draws no end-of-text before them). */
const LONG_RUN = { model: "demo-a", prompt: "cat:", max_tokens: 100, temperature: 1.5, seed: 1 };

async function serve(
  c: DemoChain,
  backend: Backend,
  records: UsageRecord[] = [],
): Promise<{ app: FastifyInstance; url: string; lora: OpenLora }> {
  const lora = new OpenLora({
    catalog: new RegistryCatalog({ client: c.client, registry: c.addresses.modelRegistry, blobs: c.blobs }),
    defaultBackend: backend,
    metering: [(r) => void records.push(r)],
  });
  return listen(lora);
}

/** The OpenAI routes of `lora` (and /health) on a loopback port. */
async function listen(lora: OpenLora): Promise<{ app: FastifyInstance; url: string; lora: OpenLora }> {
  const app = Fastify({ logger: false, bodyLimit: 256 * 1024 });
  app.get("/health", async () => ({ ok: true }));
  await app.register(openaiRoutes, { openlora: lora });
  const url = await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, url, lora };
}

describe("OpenLoRA through the openai client", () => {
  let c: DemoChain;
  let engine: Engine;
  let model: LlamaModel;
  let adapters: Record<string, LoraAdapter>;
  const tokenizer = tokenizerFromHfJson(readFileSync(DEMO_TOKENIZER, "utf8"));
  const records: UsageRecord[] = [];
  let server: Awaited<ReturnType<typeof serve>>;
  let client: OpenAI;

  before(async () => {
    c = await startDemoChain();
    engine = await Engine.create({ threads: 1, maxMemoryMiB: 128 });
    const config = demoConfig();
    const { weights } = readLlamaGguf(GgufFile.open(DEMO_BASE));
    model = LlamaModel.fromWeights(engine, config, weights);
    const bytes = {
      a: demoAdapterBytes(engine, config, 1, c.dir),
      b: demoAdapterBytes(engine, config, 2, c.dir),
    };
    const evil = demoAdapterBytes(engine, config, 3, c.dir);
    await publishDemoModel(c, "demo-base");
    await publishDemoModel(c, "demo-a", { bytes: bytes.a });
    await publishDemoModel(c, "demo-b", { bytes: bytes.b });
    await publishDemoModel(c, "demo-chat", { bytes: bytes.a, chatTemplate: CHAT_TEMPLATE });
    // the registry records adapter a's hash, the URI serves other bytes
    await publishDemoModel(c, "demo-tampered", {
      bytes: evil,
      registryHash: (await import("../src/content.ts")).sha256Hex(bytes.a),
    });
    adapters = {
      a: LoraAdapter.fromFile(engine, config, readGgufLora(writeTemp(c.dir, "a.gguf", bytes.a), config)),
      b: LoraAdapter.fromFile(engine, config, readGgufLora(writeTemp(c.dir, "b.gguf", bytes.b), config)),
    };
    server = await serve(c, new EmbeddedBackend({ blobs: c.blobs, threads: 1, maxMemoryMiB: 256 }), records);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: "test", maxRetries: 0 });
  });

  after(async () => {
    await server?.app.close();
    await server?.lora.close();
    for (const a of Object.values(adapters ?? {})) a.free();
    model?.free();
    await engine?.close();
    await c?.stop();
    rmSync(c.dir, { recursive: true, force: true });
  });

  /** ml's own generate on the same weights, prompt and seed. */
  async function direct(
    prompt: string,
    adapter: LoraAdapter | null,
    o: { maxTokens: number; temperature: number; seed: number; topP?: number; stop?: string[] },
  ) {
    const r = await generate(model, tokenizer.encode(prompt), {
      topP: 1,
      ...o,
      adapter,
      stopTokens: [tokenizer.eosId!],
      decode: (ids) => tokenizer.decode(ids, { skipSpecial: true }),
    });
    return r;
  }

  test("GET /v1/models lists the published models with base, price and provenance", async () => {
    const list = await client.models.list();
    const byId = new Map(
      list.data.map((m) => [m.id, m as unknown as { openledger: Record<string, unknown> }]),
    );
    assert.deepEqual([...byId.keys()].sort(), [
      "demo-a",
      "demo-b",
      "demo-base",
      "demo-chat",
      "demo-tampered",
    ]);
    const a = byId.get("demo-a")!.openledger;
    assert.equal(a.kind, "adapter");
    assert.equal(a.pricePer1kTokens, (10n ** 15n).toString());
    assert.deepEqual(a.snapshotIds, [c.snapshotId.toString()]);
    assert.equal((a.baseModel as { hash: string }).hash, c.base.hash);
    assert.equal(byId.get("demo-base")!.openledger.kind, "base");
    const one = await client.models.retrieve("demo-a");
    assert.deepEqual(
      one,
      list.data.find((m) => m.id === "demo-a"),
    );
    await assert.rejects(
      client.models.retrieve("no-such-model"),
      (err: InstanceType<typeof OpenAI.APIError>) => err.status === 404 && err.code === "model_not_found",
    );
  });

  test("a completion equals ml's direct output for the same seed, streamed or not", async () => {
    const want = await direct("apple:", adapters.a, { maxTokens: 12, temperature: 0.8, seed: 7 });
    const got = await client.completions.create({
      model: "demo-a",
      prompt: "apple:",
      max_tokens: 12,
      temperature: 0.8,
      seed: 7,
    });
    assert.equal(got.choices[0].text, want.text);
    assert.equal(got.usage?.completion_tokens, want.tokens.length);
    assert.equal(got.usage?.prompt_tokens, want.promptTokens);
    // the metering hook got this request's usage and output
    const rec = records.find((r) => `cmpl-${r.id}` === got.id);
    assert.ok(rec, "metered");
    assert.deepEqual(
      [rec.model.name, rec.adapters.map((a) => [a.name, a.weight]), rec.backend, rec.finishReason],
      ["demo-a", [["demo-a", 1]], "embedded", got.choices[0].finish_reason],
    );
    assert.deepEqual(
      [rec.output, rec.promptTokens, rec.completionTokens, rec.totalTokens],
      [want.text, want.promptTokens, want.tokens.length, got.usage?.total_tokens],
    );
    const stream = await client.completions.create({
      model: "demo-a",
      prompt: "apple:",
      max_tokens: 12,
      temperature: 0.8,
      seed: 7,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let usage: unknown;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, want.text);
    assert.deepEqual(usage, got.usage);
    const base = await client.completions.create({
      model: "demo-base",
      prompt: "apple:",
      max_tokens: 12,
      temperature: 0,
    });
    assert.equal(
      base.choices[0].text,
      (await direct("apple:", null, { maxTokens: 12, temperature: 0, seed: 0 })).text,
    );
    assert.notEqual(base.choices[0].text, got.choices[0].text, "the adapter changes the answer");
  });

  test("stop, top_p and logprobs of a completion are ml's own", async () => {
    const q = { model: "demo-a", prompt: "river:", max_tokens: 24, temperature: 0.9, top_p: 0.6, seed: 3 };
    const free = await direct("river:", adapters.a, { maxTokens: 24, temperature: 0.9, topP: 0.6, seed: 3 });
    const got = await client.completions.create({ ...q, logprobs: 2 });
    assert.equal(got.choices[0].text, free.text);
    const wide = await direct("river:", adapters.a, { maxTokens: 24, temperature: 0.9, seed: 3 });
    assert.notEqual(free.text, wide.text, "top_p 0.6 changes this draw");
    assert.ok(free.text.length > 12, free.text);
    const lp = got.choices[0].logprobs!;
    assert.equal(lp.tokens!.join(""), free.text);
    assert.equal(lp.tokens!.length, got.usage!.completion_tokens);
    assert.ok(lp.top_logprobs!.every((top) => Object.keys(top).length === 2));
    // a stop string from the middle of that answer cuts it there
    const stop = free.text.slice(6, 9);
    const cut = free.text.indexOf(stop);
    const stopped = await client.completions.create({ ...q, stop: [stop] });
    assert.equal(stopped.choices[0].text, free.text.slice(0, cut));
    assert.equal(stopped.choices[0].finish_reason, "stop");
    assert.equal(
      stopped.choices[0].text,
      (
        await direct("river:", adapters.a, {
          maxTokens: 24,
          temperature: 0.9,
          topP: 0.6,
          seed: 3,
          stop: [stop],
        })
      ).text,
    );
  });

  test("chat uses the default template; logprobs come back", async () => {
    const messages = [{ role: "user" as const, content: "dog" }];
    const want = await direct(renderChat(messages), adapters.b, {
      maxTokens: 10,
      temperature: 0,
      seed: 1,
      stop: ["\nuser:"],
    });
    const got = await client.chat.completions.create({
      model: "demo-b",
      messages,
      max_tokens: 10,
      temperature: 0,
      logprobs: true,
      top_logprobs: 2,
    });
    assert.equal(got.choices[0].message.content, want.text);
    const lp = got.choices[0].logprobs!.content!;
    assert.equal(lp.length, got.usage!.completion_tokens);
    assert.equal(lp[0].top_logprobs.length, 2);
    assert.ok(lp[0].logprob <= 0);
    const chunks = await client.chat.completions.create({
      model: "demo-b",
      messages,
      max_tokens: 10,
      temperature: 0,
      stream: true,
    });
    let text = "";
    for await (const ch of chunks) text += ch.choices[0]?.delta?.content ?? "";
    assert.equal(text, want.text);
  });

  test("chat uses the model's own template from its metadata, hostile text kept verbatim", async () => {
    const messages = [
      { role: "system" as const, content: "be brief" },
      { role: "user" as const, content: "dog $& $` {{role}}" },
    ];
    const prompt = renderChat(messages, CHAT_TEMPLATE);
    assert.equal(prompt, "<<system>> be brief\n<<user>> dog $& $` {{role}}\n<<assistant>>");
    const want = await direct(prompt, adapters.a, { maxTokens: 10, temperature: 0, seed: 0 });
    const got = await client.chat.completions.create({
      model: "demo-chat",
      messages,
      max_tokens: 10,
      temperature: 0,
    });
    assert.equal(got.choices[0].message.content, want.text);
    assert.equal(got.usage?.prompt_tokens, want.promptTokens);
  });

  test("two adapters in one batch give the same tokens as each alone", async () => {
    const params = (seed: number) => ({ maxTokens: 16, temperature: 0.7, topP: 1, seed, stop: [] });
    const alone = async (model: string, seed: number) =>
      (await client.completions.create({ model, prompt: "river:", max_tokens: 16, temperature: 0.7, seed }))
        .choices[0].text;
    const aloneA = await alone("demo-a", 3);
    const aloneB = await alone("demo-b", 4);
    const m = server.lora.metrics;
    const multiBefore = m.batchSize.count - bucket(m.render(), "1");
    // both started in one tick, so they enter the same batch from their first step
    const a = await server.lora.start({ model: "demo-a", prompt: "river:", params: params(3), tenant: "a" });
    const b = await server.lora.start({ model: "demo-b", prompt: "river:", params: params(4), tenant: "b" });
    const never = new AbortController().signal;
    const [ra, rb] = await Promise.all([a.run(() => {}, never), b.run(() => {}, never)]);
    assert.ok(m.batchSize.count - bucket(m.render(), "1") > multiBefore, "the two ran as rows of one batch");
    assert.equal(ra.text, aloneA);
    assert.equal(rb.text, aloneB);
    assert.notEqual(ra.text, rb.text);
  });

  test("an ensemble with a zero-weight partner answers as the one adapter", async () => {
    const alone = await client.completions.create({
      model: "demo-a",
      prompt: "stone:",
      max_tokens: 10,
      temperature: 0,
    });
    const body = {
      model: "demo-base",
      prompt: "stone:",
      max_tokens: 10,
      temperature: 0,
      openledger: {
        adapters: [
          { model: "demo-a", weight: 1 },
          { model: "demo-b", weight: 0 },
        ],
      },
    };
    const ens = await client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming);
    assert.equal(ens.choices[0].text, alone.choices[0].text);
  });

  test("an ensemble applies its adapters together, each at its weight", async () => {
    const ask = async (extra: object) =>
      (
        await client.completions.create({
          model: "demo-base",
          prompt: "stone:",
          max_tokens: 12,
          temperature: 0.8,
          seed: 7,
          ...extra,
        } as OpenAI.CompletionCreateParamsNonStreaming)
      ).choices[0].text;
    const mix = [
      { model: "demo-a", file: "a.gguf", weight: 0.6 },
      { model: "demo-b", file: "b.gguf", weight: 0.4 },
    ];
    const ens = await ask({ openledger: { adapters: mix.map(({ model, weight }) => ({ model, weight })) } });
    // the same mix merged into a fresh copy of the base: W + 0.6·ΔW_a + 0.4·ΔW_b, run without adapters
    const config = demoConfig();
    const merged = LlamaModel.fromWeights(engine, config, readLlamaGguf(GgufFile.open(DEMO_BASE)).weights);
    try {
      for (const m of mix) {
        const a = LoraAdapter.fromFile(engine, config, readGgufLora(join(c.dir, m.file), config));
        for (const slot of a.orderedSlots())
          for (let i = 0; i < slot.B.length; i++) slot.B.f32[i] *= m.weight;
        mergeAdapter(merged, a);
        a.free();
      }
      const want = await generate(merged, tokenizer.encode("stone:"), {
        maxTokens: 12,
        temperature: 0.8,
        seed: 7,
        topP: 1,
        stopTokens: [tokenizer.eosId!],
        decode: (ids) => tokenizer.decode(ids, { skipSpecial: true }),
      });
      assert.equal(ens, want.text);
    } finally {
      merged.free();
    }
    assert.notEqual(ens, await ask({ model: "demo-a" }), "not adapter a alone");
    assert.notEqual(ens, await ask({ model: "demo-b" }), "not adapter b alone");
  });

  test("an adapter whose bytes do not match ModelRegistry is refused", async () => {
    await assert.rejects(
      client.completions.create({ model: "demo-tampered", prompt: "apple:", max_tokens: 4 }),
      (err: InstanceType<typeof OpenAI.APIError>) =>
        err.status === 502 && err.code === "adapter_hash_mismatch",
    );
    assert.ok(server.lora.metrics.refusedAdapters.get() >= 1);
  });

  test("a client that disconnects mid-stream stops its generation; partial usage is metered", async (t) => {
    // left alone, this request runs to its full LONG_RUN.max_tokens (no end-of-text before it)
    const full = await client.completions.create(LONG_RUN);
    assert.deepEqual([full.choices[0].finish_reason, full.usage?.completion_tokens], ["length", 100]);
    const generatedBefore = server.lora.metrics.tokensGenerated.get();
    const ctl = new AbortController();
    const stream = await client.completions.create(
      { ...LONG_RUN, stream: true, user: "leaver" },
      { signal: ctl.signal },
    );
    let n = 0;
    try {
      for await (const _ of stream) if (++n === 2) ctl.abort();
    } catch {
      // the aborted read ends the iteration
    }
    assert.equal(n, 2);
    let rec: UsageRecord | undefined;
    for (let i = 0; i < 250 && !(rec = records.find((r) => r.tenant === "user:leaver")); i++)
      await new Promise((r) => setTimeout(r, 20));
    assert.ok(rec, `metered: ${JSON.stringify(records.map((r) => [r.tenant, r.finishReason]))}`);
    assert.equal(rec.finishReason, "cancelled");
    // the scheduler's own count: the row stopped stepping, not only the stream
    const generated = server.lora.metrics.tokensGenerated.get() - generatedBefore;
    t.diagnostic(`stopped after ${generated} of 100 tokens`);
    assert.equal(generated, rec.completionTokens);
    assert.ok(generated >= 2 && generated < 100, `stopped after ${generated} tokens`);
    assert.equal(rec.model.name, "demo-a");
    assert.ok(full.choices[0].text.startsWith(rec.output), "the partial output is the full answer's start");
  });

  test("hostile input gets OpenAI errors", async () => {
    const fails = async (p: Promise<unknown>, status: number, code: string, message?: RegExp) =>
      assert.rejects(p, (err: InstanceType<typeof OpenAI.APIError>) => {
        assert.equal(err.status, status);
        assert.equal(err.code, code);
        if (message) assert.match(err.message, message);
        return true;
      });
    await fails(client.completions.create({ model: "no-such-model", prompt: "x" }), 404, "model_not_found");
    await fails(
      client.completions.create({ model: "demo-a", prompt: "word ".repeat(400) }),
      400,
      "context_length_exceeded",
      /maximum context length is 128 tokens/,
    );
    await fails(
      client.completions.create({ model: "demo-a", prompt: "x", temperature: 7 }),
      400,
      "invalid_value",
      /temperature/,
    );
    await fails(client.completions.create({ model: "demo-a", prompt: "x", n: 3 }), 400, "invalid_value");
    await fails(
      client.completions.create({ model: "demo-a", prompt: "x", max_tokens: -1 }),
      400,
      "invalid_value",
      /max_tokens/,
    );
    await fails(
      client.chat.completions.create({ model: "demo-a", messages: [] }),
      400,
      "invalid_value",
      /messages/,
    );
    const raw = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{not json",
    });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: { type: string } }).error.type, "invalid_request_error");
    // sampling fields out of range, unsupported forms and hostile ensembles: each names its field
    const param = async (body: Record<string, unknown>, want: string, status = 400) =>
      assert.rejects(
        client.completions.create(body as unknown as OpenAI.CompletionCreateParamsNonStreaming),
        (err: InstanceType<typeof OpenAI.APIError>) => {
          assert.deepEqual([err.status, err.param], [status, want], err.message);
          return true;
        },
      );
    const q = { model: "demo-a", prompt: "x" };
    await param({ ...q, stop: ["a", "b", "c", "d", "e"] }, "stop");
    await param({ ...q, logprobs: 6 }, "logprobs");
    await param({ ...q, top_p: 1.5 }, "top_p");
    await param({ ...q, seed: "x" }, "seed");
    await param({ ...q, prompt: [1, 2, 3] }, "prompt");
    await param({ ...q, prompt: "" }, "prompt");
    await param({ ...q, echo: true }, "echo");
    const ens = (adapters: unknown) => ({ model: "demo-base", prompt: "x", openledger: { adapters } });
    await param(ens([]), "openledger.adapters");
    await param(ens(Array.from({ length: 9 }, () => ({ model: "demo-a" }))), "openledger.adapters");
    await param(ens([{ model: "demo-a", weight: "heavy" }]), "openledger.adapters[0].weight");
    await param(ens([{ model: "demo-a", weight: 1e9 }]), "openledger.adapters[0].weight");
    await param(ens([{ model: 7 }]), "openledger.adapters[0].model");
    await param(ens([{ model: "demo-base" }]), "openledger.adapters");
    await param(ens([{ model: "no-such-adapter" }]), "model", 404);
    // 'model' names an adapter the ensemble leaves out
    await param({ ...ens([{ model: "demo-b" }]), model: "demo-a" }, "openledger.adapters");
    const big = await fetch(`${server.url}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "demo-a", prompt: "x".repeat(300_000) }),
    });
    assert.equal(big.status, 413);
  });

  test("a full queue answers 429 with Retry-After", async () => {
    const full = await serve(
      c,
      new EmbeddedBackend({ blobs: c.blobs, threads: 1, maxMemoryMiB: 64, maxQueue: 0 }),
    );
    try {
      const res = await fetch(`${full.url}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "demo-a", prompt: "x", max_tokens: 2 }),
      });
      assert.equal(res.status, 429);
      assert.ok(Number(res.headers.get("retry-after")) >= 1);
      assert.equal(((await res.json()) as { error: { code: string } }).error.code, "queue_full");
    } finally {
      await full.app.close();
      await full.lora.close();
    }
  });

  test("the remote backend: a second server process answers as the embedded one; failover, health, metering, disconnect", async (t) => {
    const worker = await startWorker(c);
    // a dead worker (nothing listens on its port) that rendezvous hashing ranks first for demo-a, so
    // demo-a's first request has to fail over to the live one
    const cidA = (await server.lora.catalog.resolve("demo-a")).adapter!.cid;
    const deadPort = await closedPort();
    const workersFor = (k: number) => [
      { url: `http://127.0.0.1:${deadPort}/dead-${k}/v1` },
      { url: `${worker.url}/v1` },
    ];
    let k = 0;
    for (; ; k++) {
      const probe = new RemoteBackend({ workers: workersFor(k) });
      const first = probe.route(cidA)[0].w.url;
      await probe.close();
      if (first.includes("/dead-")) break;
    }
    // the front as `openledger up` opens it, with demo-base's models served by the remote workers
    const frontRecords: UsageRecord[] = [];
    const front = await listen(
      await openOpenLora({
        rpcUrl: c.anvil.rpcUrl,
        modelRegistry: c.addresses.modelRegistry,
        dataDir: c.dir,
        threads: 1,
        remote: { bases: [c.base.hash], workers: workersFor(k) },
        metering: [(r) => void frontRecords.push(r)],
      }),
    );
    const remote = front.lora.backendFor(await front.lora.catalog.resolve("demo-a"));
    assert.ok(remote instanceof RemoteBackend, "demo-base's models go to the remote backend");
    let again: Worker | undefined;
    try {
      const health = (await (await fetch(`${worker.url}/health`)).json()) as { pid: number };
      assert.notEqual(health.pid, process.pid, "the worker is a process of its own");
      const viaFront = new OpenAI({ baseURL: `${front.url}/v1`, apiKey: "test", maxRetries: 0 });
      const workerMetrics = async () => (await fetch(`${worker.url}/metrics`)).text();
      for (const model of ["demo-a", "demo-b"]) {
        const q = { model, prompt: "apple:", max_tokens: 12, temperature: 0.9, seed: 11 };
        const want = await client.completions.create(q);
        const got = await viaFront.completions.create(q);
        assert.equal(got.choices[0].text, want.choices[0].text);
        assert.deepEqual(got.usage, want.usage);
      }
      assert.equal(metric(await workerMetrics(), "openlora_requests_total", 'finish_reason="length"'), 2);
      assert.deepEqual(
        remote.status().map((s) => s.healthy),
        [false, true],
        "the dead worker was marked down, the live one answered",
      );
      // the front meters what the worker generated, as the embedded backend does
      assert.deepEqual(
        frontRecords.map((r) => [r.model.name, r.backend, r.completionTokens > 0, r.finishReason]),
        [
          ["demo-a", "remote", true, "length"],
          ["demo-b", "remote", true, "length"],
        ],
      );
      // the prompt is counted before it is sent (what admission sees), as the embedded backend counts it
      const params = { maxTokens: 3, temperature: 0, topP: 1, seed: 0, stop: [] };
      const started = await front.lora.start({
        model: "demo-b",
        prompt: "apple: pear:",
        params,
        tenant: "t",
      });
      const local = await server.lora.start({ model: "demo-b", prompt: "apple: pear:", params, tenant: "t" });
      assert.ok(started.promptTokens > 0);
      assert.equal(started.promptTokens, local.promptTokens);
      const never = new AbortController().signal;
      const [ran, ranLocal] = await Promise.all([started.run(() => {}, never), local.run(() => {}, never)]);
      assert.deepEqual(ran, ranLocal);

      // a client leaving the front stops the row on the worker
      const tokensBefore = metric(await workerMetrics(), "openlora_generated_tokens_total");
      const ctl = new AbortController();
      const stream = await viaFront.completions.create(
        { ...LONG_RUN, stream: true, user: "gone" },
        { signal: ctl.signal },
      );
      let n = 0;
      try {
        for await (const _ of stream) if (++n === 2) ctl.abort();
      } catch {
        // the aborted read ends the iteration
      }
      let text = "";
      for (let i = 0; i < 250; i++) {
        text = await workerMetrics();
        if (metric(text, "openlora_requests_total", 'finish_reason="cancelled"') > 0) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(
        metric(text, "openlora_requests_total", 'finish_reason="cancelled"'),
        1,
        text
          .split("\n")
          .filter((l) => /^openlora_(requests|generated)/.test(l))
          .join("\n"),
      );
      const made = metric(text, "openlora_generated_tokens_total") - tokensBefore;
      t.diagnostic(`the worker stopped after ${made} of 100 tokens`);
      assert.ok(made >= 2 && made < 100, `the worker generated ${made} tokens`);

      // the worker goes away: a 503; back on its port, the health check marks it up and it answers again
      const port = new URL(worker.url).port;
      await worker.stop();
      await remote.checkHealth();
      assert.deepEqual(
        remote.status().map((s) => s.healthy),
        [false, false],
      );
      const q = { model: "demo-b", prompt: "river:", max_tokens: 6, temperature: 0 };
      await assert.rejects(
        viaFront.completions.create(q),
        (err: InstanceType<typeof OpenAI.APIError>) =>
          err.status === 503 && err.code === "backend_unavailable",
      );
      again = await startWorker(c, port);
      await remote.checkHealth();
      assert.deepEqual(
        remote.status().map((s) => s.healthy),
        [false, true],
      );
      assert.equal(
        (await viaFront.completions.create(q)).choices[0].text,
        (await client.completions.create(q)).choices[0].text,
      );
    } finally {
      await front.app.close();
      await front.lora.close();
      await worker.stop();
      await again?.stop();
    }
  });

  test("remote routing: each adapter has one first worker, and a worker leaving moves only its own adapters", () => {
    const urls = ["http://10.0.0.1:8000/v1", "http://10.0.0.2:8000/v1", "http://10.0.0.3:8000/v1"];
    const three = new RemoteBackend({ workers: urls.map((url) => ({ url })) });
    const two = new RemoteBackend({ workers: urls.slice(0, 2).map((url) => ({ url })) });
    try {
      const keys = Array.from({ length: 300 }, (_, i) => `adapter-cid-${i}`);
      const first = (b: RemoteBackend, k: string) => b.route(k)[0].w.url;
      const share = new Map<string, number>();
      for (const k of keys) {
        assert.equal(first(three, k), first(three, k), "stable");
        share.set(first(three, k), (share.get(first(three, k)) ?? 0) + 1);
        // without worker 3, only worker 3's adapters move
        if (first(three, k) !== urls[2]) assert.equal(first(two, k), first(three, k));
      }
      // each worker keeps a share of the adapters hot (300 keys, about 100 each)
      for (const url of urls) assert.ok((share.get(url) ?? 0) > 50, `${url}: ${share.get(url)}`);
    } finally {
      void three.close();
      void two.close();
    }
  });

  test("openledger complete and chat stream answers; a long chat forgets its oldest turns; an unknown model, no server or a bad flag is one error line", async () => {
    const cli = new URL("../../cli/bin/openledger.js", import.meta.url).pathname;
    // async: the server under test answers from this same process
    const run = (args: string[], input = "", api = server.url) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const p = spawn(process.execPath, [cli, ...args, "--api", api]);
        let out = "";
        let err = "";
        p.stdout.on("data", (d) => (out += d));
        p.stderr.on("data", (d) => (err += d));
        p.on("close", (code) => resolve({ code, out, err }));
        p.stdin.end(input);
      });
    const want = await client.completions.create({
      model: "demo-a",
      prompt: "apple:",
      max_tokens: 8,
      temperature: 0,
    });
    // the three CLI processes run at once (each spends most of its time loading)
    const nobody = `http://127.0.0.1:${await closedPort()}`;
    // six turns of 25 words each: more than the demo model's 128-token context altogether
    const long = `${"dog cat bird fish horse ".repeat(5).trim()}\n`.repeat(6);
    const [done, chat, bad, away, flag, longChat] = await Promise.all([
      run(["complete", "demo-a", "apple:", "--max-tokens", "8", "--temperature", "0"]),
      run(["chat", "demo-b", "--max-tokens", "6", "--temperature", "0"], "dog\ncat\n"),
      run(["complete", "nope", "x"]),
      run(["chat", "demo-a"], "dog\n", nobody),
      run(["complete", "demo-a", "x", "--temperature", "7"]),
      run(["chat", "demo-b", "--max-tokens", "4", "--temperature", "0"], long),
    ]);
    assert.equal(done.code, 0, done.err);
    assert.equal(done.out, `${want.choices[0].text}\n`);
    assert.equal(chat.code, 0, chat.err);
    // each turn's answer, sent with the conversation so far, is the API's answer to that conversation
    const turn = async (messages: { role: "user" | "assistant"; content: string }[]) =>
      (await client.chat.completions.create({ model: "demo-b", messages, max_tokens: 6, temperature: 0 }))
        .choices[0].message.content!;
    const dog = await turn([{ role: "user", content: "dog" }]);
    const cat = await turn([
      { role: "user", content: "dog" },
      { role: "assistant", content: dog },
      { role: "user", content: "cat" },
    ]);
    assert.equal(chat.out, `${dog}\n${cat}\n`);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /^error: the model 'nope' does not exist/);
    assert.equal(bad.err.trim().split("\n").length, 1);
    assert.deepEqual(
      [away.code, away.err],
      [1, `error: no OpenLoRA server at ${nobody}; start one with \`openledger up\` or pass --api\n`],
    );
    // the conversation outgrew the context: its oldest exchanges were dropped, every turn answered
    assert.equal(longChat.code, 0, longChat.err);
    assert.equal(longChat.out.split("\n").length, 7, longChat.out);
    assert.equal(flag.code, 1);
    assert.match(
      flag.err,
      /^error: option '--temperature <t>' argument '7' is invalid\. expected a number in \[0, 2\]\n$/,
    );
  });

  test("/metrics is Prometheus text with what the tests above did", async () => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    for (const name of [
      "openlora_queue_depth",
      "openlora_batch_size_bucket",
      "openlora_request_duration_seconds_bucket",
      "openlora_decode_tokens_per_second",
    ])
      assert.match(text, new RegExp(`^${name}`, "m"), name);
    // demo-a, demo-b and one ensemble loaded cold (their latency measured), then served from the cache
    assert.ok(metric(text, "openlora_adapter_load_seconds_count") >= 3, "cold loads timed");
    assert.ok(metric(text, "openlora_adapter_load_seconds_sum") > 0);
    assert.ok(metric(text, "openlora_adapter_cache_misses_total") >= 3);
    assert.ok(metric(text, "openlora_adapter_cache_hits_total") >= 5);
    assert.equal(metric(text, "openlora_adapter_refused_total"), 1, "demo-tampered");
    assert.ok(metric(text, "openlora_generated_tokens_total") > 100);
    assert.ok(metric(text, "openlora_requests_total", 'finish_reason="cancelled"') >= 1);
  });
});

/** A sample of a Prometheus text metric (0 when absent); `labels` as written inside the braces. */
function metric(text: string, name: string, labels?: string): number {
  const key = labels ? `${name}{${labels}}` : name;
  const line = text.split("\n").find((l) => l.startsWith(`${key} `));
  return Number(line?.slice(key.length + 1) ?? 0);
}

/** A loopback port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((listening) => s.listen(0, "127.0.0.1", listening));
  const { port } = s.address() as AddressInfo;
  await new Promise((closed) => s.close(closed));
  return port;
}

interface Worker {
  url: string;
  stop(): Promise<void>;
}

/** worker-process.ts in a process of its own, on the demo chain and its content store. */
async function startWorker(c: DemoChain, port: string | number = 0): Promise<Worker> {
  const script = new URL("./worker-process.ts", import.meta.url).pathname;
  const p = spawn(process.execPath, [
    "--import",
    "tsx",
    script,
    c.anvil.rpcUrl,
    c.addresses.modelRegistry,
    c.dir,
    String(port),
  ]);
  const exited = new Promise<void>((done) => p.on("close", () => done()));
  let err = "";
  p.stderr.on("data", (d) => (err += d));
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    p.stdout.on("data", (d) => {
      out += d;
      if (out.includes("\n")) resolve(out.trim());
    });
    void exited.then(() => reject(new Error(`the worker process exited: ${err}`)));
  });
  return {
    url,
    stop: async () => {
      p.stdin.end();
      await exited;
    },
  };
}

function bucket(text: string, le: string): number {
  const m = new RegExp(`^openlora_batch_size_bucket\\{le="${le}"\\} (\\d+)`, "m").exec(text);
  return Number(m?.[1] ?? 0);
}
