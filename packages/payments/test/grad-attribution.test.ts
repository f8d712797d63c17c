// grad-v1 per answer: a paid answer settled by the real PaymentGate (real SQLite) is attributed in the
// background against a gradient store built, as ModelFactory builds one, from the adapter's own training
// examples; the result is read back over HTTP and must equal gradV1 run directly on the same inputs.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { GradientStore, GradientStoreBuilder, gradV1 } from "@openledger/attribution";
import { devAccounts } from "@openledger/devnet";
import { MANIFEST_SCHEMA, sha256Hex, toExample } from "@openledger/factory";
import {
  Engine,
  LlamaModel,
  LoraAdapter,
  perExampleGradients,
  readGgufLora,
  readLlamaGguf,
  tokenizerFromHfJson,
} from "@openledger/ml";
import type { UsageRecord } from "@openledger/openlora";
import { EmbeddedBackend, LlamaCppBackend, OpenLora } from "@openledger/openlora";
import {
  DEMO_BASE,
  DEMO_TOKENIZER,
  demoAdapterBytes,
  demoConfig,
  publishDemoModel,
  startDemoChain,
  writeTemp,
} from "@openledger/openlora/test-fixtures";
import { registerModel } from "@openledger/sdk";
import Fastify, { type FastifyInstance } from "fastify";
import OpenAI from "openai";
import { createPublicClient, http, keccak256, toHex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId } from "viem/actions";
import type { GradAttributionJson } from "../src/db.ts";
import { PaymentsDb } from "../src/db.ts";
import { PaymentGate } from "../src/gate.ts";
import {
  GradAttributor,
  type GradModelFiles,
  type GradModelSource,
  type GradModelWeights,
} from "../src/grad-attribution.ts";
import { openLoraLender } from "../src/grad-lender.ts";
import { registryGradSource } from "../src/grad-source.ts";
import { paymentRoutes } from "../src/routes.ts";
import { startPaidServer } from "./paid-server.ts";

const SEED = 7; // the "training" seed: the store's projection is drawn from it
const MAX_SEQ_LEN = 48;
const DIMS = 32;
const PROMPT = "dog:";
const ANSWER = " a loyal animal that barks at the moon";
/** the adapter's training texts and their contribution ids; the first holds the answer */
const TRAINING = [
  { id: 101n, text: `${PROMPT}${ANSWER}` },
  { id: 102n, text: "apple: a red fruit that grows on trees" },
  { id: 103n, text: "river: water that runs to the sea" },
] as const;
const operator = privateKeyToAccount(`0x${"11".repeat(32)}`);
const payer = privateKeyToAccount(`0x${"22".repeat(32)}`).address;

function usageRecord(id: string, modelId: bigint): UsageRecord {
  const model = {
    name: `m-${modelId}`,
    modelId,
    version: 1,
    owner: operator.address,
    pricePer1kTokens: 10n ** 15n,
  };
  return {
    id,
    model,
    adapters: [{ ...model, weight: 1 }],
    tenant: payer,
    backend: "embedded",
    prompt: PROMPT,
    output: ANSWER,
    promptTokens: 2,
    completionTokens: 9,
    totalTokens: 11,
    finishReason: "stop",
    startedAt: new Date(0),
    finishedAt: new Date(0),
  };
}

/** Projected gradients (the store's dims and seed) of texts under the adapter, one example each as training forms them. */
async function projected(
  adapterGguf: Uint8Array,
  dir: string,
  texts: readonly string[],
): Promise<Float32Array[]> {
  const engine = await Engine.create({ threads: 1, maxMemoryMiB: 256 });
  try {
    const { config, weights } = readLlamaGguf(DEMO_BASE);
    const model = LlamaModel.fromWeights(engine, config, weights);
    const adapter = LoraAdapter.fromFile(
      engine,
      config,
      readGgufLora(writeTemp(dir, "projected-adapter.gguf", adapterGguf), config),
    );
    const tokenizer = tokenizerFromHfJson(readFileSync(DEMO_TOKENIZER, "utf8"));
    const examples = texts.map((t) => toExample(tokenizer, t, MAX_SEQ_LEN)!);
    const g = perExampleGradients(model, adapter, examples, { projectDims: DIMS, seed: SEED });
    adapter.free();
    model.free();
    return g.vectors.map((v) => Float32Array.from(v));
  } finally {
    await engine.close();
  }
}

/** The store ModelFactory would write for this adapter: per-example projected gradients, one checkpoint. */
async function buildStore(adapterGguf: Uint8Array, dir: string): Promise<Uint8Array> {
  const builder = new GradientStoreBuilder({
    dims: DIMS,
    learningRates: [2e-3],
    contributionIds: TRAINING.map((t) => t.id),
  });
  const vectors = await projected(
    adapterGguf,
    dir,
    TRAINING.map((t) => t.text),
  );
  vectors.forEach((v, i) => {
    builder.set(0, i, v);
  });
  return builder.toBuffer();
}

describe("grad-v1 per paid answer", () => {
  let dir: string;
  let db: PaymentsDb;
  let app: FastifyInstance;
  let url: string;
  let files: GradModelFiles;
  let weights: GradModelWeights;
  /** how often the attributor read model 1's weights to load them on its own engine */
  let weightLoads = 0;
  /** the answer's projected gradient: prompt then answer as one example, as the attributor forms it */
  let query: Float32Array;
  const errors: unknown[] = [];
  /** model 1 has a gradient store, model 2 none, model 3's source fails */
  const source: GradModelSource = async ({ modelId }) => {
    if (modelId === 1n) return files;
    if (modelId === 3n) throw new Error("the content store is unreachable");
    return null;
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "payments-grad-"));
    const engine = await Engine.create({ threads: 1, maxMemoryMiB: 128 });
    const adapterGguf = demoAdapterBytes(engine, demoConfig(), 1, dir);
    await engine.close();
    const store = await buildStore(adapterGguf, dir);
    query = (await projected(adapterGguf, dir, [PROMPT + ANSWER]))[0]!;
    weights = {
      baseGguf: readFileSync(DEMO_BASE),
      tokenizerJson: readFileSync(DEMO_TOKENIZER, "utf8"),
      adapterGguf,
    };
    files = {
      adapterHash: sha256Hex(adapterGguf),
      gradientStore: store,
      seed: SEED,
      maxSeqLen: MAX_SEQ_LEN,
      weights: async () => {
        weightLoads++;
        return weights;
      },
    };
    db = new PaymentsDb(join(dir, "payments.sqlite"));
    app = Fastify({ logger: false });
    await app.register(paymentRoutes, {
      db,
      chainId: 31337,
      settlement: operator.address,
      operator: operator.address,
    });
    url = await app.listen({ host: "127.0.0.1", port: 0 });
  });

  after(async () => {
    await app?.close();
    db?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A gate over `db` that settles finished answers; that reads no chain state, so nothing listens at its RPC. */
  function offlineGate(grad?: GradAttributor): PaymentGate {
    return new PaymentGate({
      client: createPublicClient({ transport: http("http://127.0.0.1:9") }),
      chainId: 31337,
      settlement: operator.address,
      operator,
      db,
      ...(grad ? { grad } : {}),
    });
  }

  /** settles `record` through a gate with its own attributor, waits for grad-v1, reads it over HTTP */
  async function paidAnswer(
    record: UsageRecord,
    from: GradModelSource = source,
  ): Promise<{ grad: GradAttributionJson | null; sentFirst: boolean }> {
    const grad = new GradAttributor({ db, source: from, onError: (e) => errors.push(e) });
    const gate = offlineGate(grad);
    const settled = await gate.settleUsage(record, payer, []);
    assert.ok(settled.extension.receipt, "the answer is receipted");
    // the response is built before grad-v1 has run
    const sentFirst = db.usage(record.id)!.grad === null;
    await grad.close();
    const res = await fetch(`${url}/v1/attribution/requests/cmpl-${record.id}`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { id: string; grad: GradAttributionJson | null };
    assert.equal(body.id, record.id);
    return { grad: body.grad, sentFirst };
  }

  test("a paid answer gets grad-v1 credits equal to gradV1 on the same inputs, the same on every run", async () => {
    const loadsBefore = weightLoads;
    const first = await paidAnswer(usageRecord("req-a", 1n));
    assert.ok(first.sentFirst, "grad-v1 ran after the answer was settled");
    // no lender: the attributor loads the weights on its own engine, once per attributor
    assert.equal(weightLoads, loadsBefore + 1);
    const second = await paidAnswer(usageRecord("req-b", 1n));
    assert.ok(first.grad && second.grad);
    assert.deepEqual(second.grad, first.grad);

    const direct = gradV1([query], GradientStore.load(files.gradientStore));
    assert.equal(first.grad.commitment, direct.commitment);
    assert.equal(first.grad.storeHash, direct.storeHash);
    assert.deepEqual(
      first.grad.credits,
      direct.credits.map((c) => ({
        contributionId: c.contributionId.toString(),
        influence: c.influence.toString(),
        share: c.share,
      })),
    );
    // the credits name the store's contributions, and the passage holding the answer is among them
    const ids = TRAINING.map((t) => t.id.toString());
    assert.ok(first.grad.credits.length > 0);
    for (const c of first.grad.credits) assert.ok(ids.includes(c.contributionId), c.contributionId);
    assert.ok(first.grad.credits.some((c) => c.contributionId === "101"));
    assert.equal(
      first.grad.credits.reduce((a, c) => a + c.share, 0),
      1_000_000,
      "shares are parts per million",
    );
    assert.deepEqual(errors, []);
  });

  test("a model without a gradient store gets no grad-v1 result and no error", async () => {
    const { grad } = await paidAnswer(usageRecord("req-c", 2n));
    assert.equal(grad, null);
    assert.deepEqual(errors, []);
  });

  test("a failing background job is reported to onError, and the answer is still settled", async () => {
    const { grad } = await paidAnswer(usageRecord("req-d", 3n));
    assert.equal(grad, null);
    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, /content store is unreachable/);
    assert.ok(db.usage("req-d"), "the usage row is stored");
    errors.length = 0;
  });

  test("a lender that throws (its base failed to load) is reported, and the job loads its own copy", async () => {
    const gate = offlineGate();
    const record = usageRecord("req-lender", 1n);
    await gate.settleUsage(record, payer, []);
    const warnings: string[] = [];
    const grad = new GradAttributor({
      db,
      source,
      lender: async () => {
        throw new Error("base model failed to load: out of memory");
      },
      onError: (e) => errors.push(e),
      onWarn: (message) => warnings.push(message),
    });
    const loadsBefore = weightLoads;
    try {
      const got = await grad.attribute(record);
      const direct = gradV1([query], GradientStore.load(files.gradientStore));
      assert.equal(got?.commitment, direct.commitment);
      assert.equal(db.usage("req-lender")!.grad?.commitment, direct.commitment);
    } finally {
      await grad.close();
    }
    assert.equal(weightLoads, loadsBefore + 1, "the weights were read to load a copy");
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0]!,
      /model 1 v1: the lender failed \(base model failed to load: out of memory\); loading a copy/,
    );
    assert.deepEqual(errors, []);
  });

  test("registryGradSource finds the store through the registry, the metadata and the training manifest", async () => {
    const c = await startDemoChain();
    try {
      const ctx = { client: c.client, modelRegistry: c.addresses.modelRegistry, blobs: c.blobs };
      const uri = async (bytes: Uint8Array) => `ipfs://${(await c.blobs.put(bytes)).cid}`;
      const adapterURI = await uri(weights.adapterGguf);
      // the manifest fields the source reads, as ModelFactory writes them
      const manifest = {
        schema: MANIFEST_SCHEMA,
        adapter: { gguf: { uri: adapterURI } },
        gradients: { uri: await uri(files.gradientStore), format: "grad-v1", dims: DIMS },
        config: { seed: SEED, maxSeqLen: MAX_SEQ_LEN },
      };
      const metadata = {
        name: "trained",
        kind: "adapter",
        baseModel: c.base,
        tokenizer: c.tokenizer,
        manifest: await uri(new TextEncoder().encode(JSON.stringify(manifest))),
      };
      const { modelId } = await registerModel(c.wallet, {
        registry: c.addresses.modelRegistry,
        metadataURI: await uri(new TextEncoder().encode(JSON.stringify(metadata))),
        version: {
          baseModelHash: c.base.hash,
          adapterHash: sha256Hex(weights.adapterGguf),
          adapterURI,
          snapshotIds: [c.snapshotId],
          trainingConfigHash: keccak256(toHex("trained")),
          pricePer1kTokens: 10n ** 15n,
        },
      });
      const plain = await publishDemoModel(c, "no-manifest", { bytes: weights.adapterGguf });
      const fromRegistry = registryGradSource(ctx);
      const found = await fromRegistry({ modelId, version: 1 });
      assert.ok(found);
      const { weights: read, gradientStore, ...settings } = found;
      assert.ok(Buffer.from(gradientStore).equals(files.gradientStore));
      assert.deepEqual(settings, { adapterHash: files.adapterHash, seed: SEED, maxSeqLen: MAX_SEQ_LEN });
      const { baseGguf, adapterGguf, tokenizerJson } = await read();
      assert.ok(Buffer.from(baseGguf).equals(weights.baseGguf));
      assert.ok(Buffer.from(adapterGguf).equals(weights.adapterGguf));
      assert.equal(tokenizerJson, weights.tokenizerJson);
      assert.equal(await fromRegistry({ modelId: plain, version: 1 }), null);

      // a paid call over HTTP with the openai client: API key, escrow, OpenLoRA, the gate with grad-v1
      // borrowing OpenLoRA's loaded base and adapter (the source's weights are never read)
      const chainId = await getChainId(c.client);
      const settlement = c.addresses.inferenceSettlement;
      const op = privateKeyToAccount(devAccounts[2].privateKey);
      const paidDb = new PaymentsDb(join(dir, "paid.sqlite"));
      let registryWeightLoads = 0;
      const counted: GradModelSource = async (ref) => {
        const f = await fromRegistry(ref);
        return (
          f && {
            ...f,
            weights: () => {
              registryWeightLoads++;
              return f.weights();
            },
          }
        );
      };
      const server = await startPaidServer({ chain: c, db: paidDb, operator: op.address });
      const grad = new GradAttributor({
        db: paidDb,
        source: counted,
        lender: openLoraLender(server.lora),
        onError: (e) => errors.push(e),
      });
      const gate = new PaymentGate({ client: c.client, chainId, settlement, operator: op, db: paidDb, grad });
      server.lora.setAdmission(gate.admission);
      const base = server.url;
      try {
        // a base served by another backend (llama.cpp here) is not lent: the attributor loads its own
        const cpp = new LlamaCppBackend({ blobs: c.blobs, cacheDir: join(dir, "llamacpp") });
        const elsewhere = new OpenLora({
          catalog: server.lora.catalog,
          defaultBackend: new EmbeddedBackend({ blobs: c.blobs }),
          backends: { [c.base.hash]: cpp },
        });
        assert.equal(await openLoraLender(elsewhere)({ modelId, version: 1 }, files.adapterHash), null);
        await cpp.close();
        const key = await server.payerWithKey(devAccounts[3], 10n ** 18n);
        const openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0 });
        const ask = (model: string) =>
          openai.completions.create({ model, prompt: PROMPT, max_tokens: 8, temperature: 0 });
        const paid = await ask("trained");
        const unstored = await ask("no-manifest");
        await grad.idle();
        const read = async (id: string) =>
          (
            (await (await fetch(`${base}/v1/attribution/requests/${id}`)).json()) as {
              grad: GradAttributionJson | null;
            }
          ).grad;
        const answer = paid.choices[0]!.text;
        const q = (await projected(weights.adapterGguf, dir, [PROMPT + answer]))[0]!;
        const direct = gradV1([q], GradientStore.load(files.gradientStore));
        const got = await read(paid.id);
        assert.ok(got, "the paid answer has a grad-v1 result");
        assert.equal(got.commitment, direct.commitment);
        assert.deepEqual(
          got.credits.map((x) => x.contributionId),
          direct.credits.map((x) => x.contributionId.toString()),
        );
        assert.equal(await read(unstored.id), null);
        assert.deepEqual(errors, []);
        // answers of different lengths in one batch: grad-v1 of a short one is queued while the longer
        // ones still decode on the same model (it runs between forward steps); the answers are unchanged
        const batch = await Promise.all(
          [2, 4, 8].map((max_tokens) =>
            openai.completions.create({ model: "trained", prompt: PROMPT, max_tokens, temperature: 0 }),
          ),
        );
        for (const r of batch) assert.ok(answer.startsWith(r.choices[0]!.text), r.choices[0]!.text);
        assert.equal(batch[2]!.choices[0]!.text, answer);
        await grad.idle();
        assert.equal((await read(batch[2]!.id))?.commitment, got.commitment);
        for (const r of batch) assert.ok(await read(r.id), "every answer of the batch is attributed");
        // the base model is in memory once: OpenLoRA's; grad-v1 never read the weights to load a copy
        assert.equal(registryWeightLoads, 0);
        assert.equal((await server.backend.loaded()).length, 1);
      } finally {
        await server.close();
        await grad.close();
        paidDb.close();
      }
    } finally {
      await c.stop();
    }
  });

  test("past maxPending an answer is skipped and reported, the rest are attributed", async () => {
    const gate = offlineGate();
    const records = [usageRecord("req-g", 1n), usageRecord("req-h", 1n)];
    for (const r of records) await gate.settleUsage(r, payer, []);
    const grad = new GradAttributor({ db, source, maxPending: 1, onError: (e) => errors.push(e) });
    // queued back to back: the second finds the first still waiting
    for (const r of records) grad.enqueue(r);
    await grad.close();
    assert.ok(db.usage("req-g")!.grad, "the first answer is attributed");
    assert.equal(db.usage("req-h")!.grad, null);
    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, /skipped for request req-h/);
    errors.length = 0;
  });

  test("an unknown request is a 404 in OpenAI's error form", async () => {
    const res = await fetch(`${url}/v1/attribution/requests/chatcmpl-nope`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "request_not_found");
  });
});
