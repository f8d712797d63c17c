import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import fc from "fast-check";
import { FormatError, UnsupportedModelError } from "../src/formats/errors.ts";
import { GgufFile } from "../src/formats/gguf-read.ts";
import { gguf } from "../src/formats/gguf-values.ts";
import { encodeGguf } from "../src/formats/gguf-write.ts";
import { convertHfToGguf, llamaConfigFromHf, llamaConfigToHf, readHfModel } from "../src/formats/hf-model.ts";
import { llamaGgufTensors, readLlamaGguf, writeLlamaGguf } from "../src/formats/llama-gguf.ts";
import {
  checkAdapterShapes,
  type LoraAdapterFile,
  readGgufLora,
  readPeftAdapter,
  writeGgufLora,
  writePeftAdapter,
} from "../src/formats/lora-formats.ts";
import type { LlamaConfig, Weights } from "../src/formats/model-config.ts";
import { encodeSafetensors, SafetensorsFile, writeSafetensors } from "../src/formats/safetensors.ts";
import { permuteRowsForGguf, unpermuteRowsFromGguf } from "../src/formats/tensor-names.ts";
import { vocabToHfTokenizer } from "../src/tokenizer/hf-tokenizer.ts";
import { trainBpe } from "../src/tokenizer/train-bpe.ts";
import { randomData, randomWeights, tinyConfig } from "./formats-util.ts";

const dir = mkdtempSync(join(tmpdir(), "ml-models-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function assertWeightsEqual(a: Weights, b: Weights) {
  assert.deepEqual([...a.keys()].sort(), [...b.keys()].sort());
  for (const [k, v] of a) {
    assert.deepEqual(b.get(k)!.shape, v.shape, k);
    assert.deepEqual(b.get(k)!.data, v.data, k);
  }
}

describe("q/k row order for llama.cpp", () => {
  test("hand vector: one head of dimension 4", () => {
    const rows = Float32Array.from([0, 1, 2, 3]); // HF rows r0..r3, one column
    assert.deepEqual([...permuteRowsForGguf(rows, 4, 4)], [0, 2, 1, 3]);
  });
  test("unpermute inverts permute across heads", () => {
    const data = randomData(8 * 16 * 3, 9);
    assert.deepEqual(unpermuteRowsFromGguf(permuteRowsForGguf(data, 8 * 16, 16), 8 * 16, 16), data);
  });
});

describe("LLaMA GGUF", () => {
  const weights = randomWeights(tinyConfig, 1);
  test("F32 write/read round-trips config and weights exactly", () => {
    const path = join(dir, "tiny.gguf");
    writeLlamaGguf(path, { config: tinyConfig, weights, name: "tiny" });
    const back = readLlamaGguf(path);
    assert.deepEqual(back.config, tinyConfig);
    assertWeightsEqual(weights, back.weights);
    const f = GgufFile.open(path);
    assert.equal(f.getString("general.architecture"), "llama");
    assert.equal(f.getNumber("llama.attention.head_count_kv"), 2);
    assert.deepEqual(f.tensor("blk.1.attn_q.weight").ne, [64, 64]);
    assert.deepEqual(f.tensor("blk.0.attn_k.weight").ne, [64, 32]);
    // q rows were reordered on disk
    assert.notDeepEqual(
      f.readTensor("blk.0.attn_q.weight").data,
      weights.get("model.layers.0.self_attn.q_proj.weight")!.data,
    );
    f.close();
  });

  test("qwen2 with biases and tied embeddings keeps q/k rows as they are", () => {
    const config: LlamaConfig = {
      ...tinyConfig,
      architecture: "qwen2",
      attentionBias: true,
      tieWordEmbeddings: true,
    };
    const w = randomWeights(config, 2);
    const path = join(dir, "qwen.gguf");
    writeLlamaGguf(path, { config, weights: w });
    const back = readLlamaGguf(path);
    assert.deepEqual(back.config, config);
    assertWeightsEqual(w, back.weights);
    const f = GgufFile.open(path);
    assert.deepEqual(
      f.readTensor("blk.0.attn_q.bias").data,
      w.get("model.layers.0.self_attn.q_proj.bias")!.data,
    );
    assert.equal(f.has("output.weight"), false);
    f.close();
  });

  test("F16 and Q8_0 storage keep norms in F32 and dequantise close to the source", () => {
    for (const type of ["F16", "Q8_0"] as const) {
      const path = join(dir, `tiny-${type}.gguf`);
      writeLlamaGguf(path, { config: tinyConfig, weights, tensorType: type });
      const f = GgufFile.open(path);
      assert.equal(f.tensor("blk.0.attn_norm.weight").typeName, "F32");
      assert.equal(f.tensor("blk.0.ffn_up.weight").typeName, type);
      f.close();
      const back = readLlamaGguf(path).weights.get("model.layers.0.mlp.down_proj.weight")!.data;
      const src = weights.get("model.layers.0.mlp.down_proj.weight")!.data;
      const tol = type === "F16" ? 1e-3 : 0.02;
      for (let i = 0; i < src.length; i++) assert.ok(Math.abs(back[i] - src[i]) < tol);
    }
  });

  test("unsupported architecture names the supported ones", () => {
    const bytes = encodeGguf({
      metadata: new Map([["general.architecture", gguf.str("gpt2")]]),
      tensors: [],
    });
    assert.throws(
      () => readLlamaGguf(GgufFile.fromBytes(bytes)),
      (e: Error) => e instanceof UnsupportedModelError && /'gpt2'/.test(e.message) && /llama/.test(e.message),
    );
  });

  test("tensor with the wrong shape or missing is named", () => {
    const bad = new Map(weights);
    bad.set("model.layers.1.mlp.up_proj.weight", { shape: [64, 96], data: new Float32Array(64 * 96) });
    assert.throws(() => llamaGgufTensors(tinyConfig, bad, "F32"), /up_proj.*\[64, 96\].*\[96, 64\]/);
    const missing = new Map(weights);
    missing.delete("model.norm.weight");
    assert.throws(() => llamaGgufTensors(tinyConfig, missing, "F32"), /model\.norm\.weight/);
  });
});

describe("safetensors and HF folders", () => {
  test("round trip is bit-exact, including NaN payloads and -0", () => {
    const data = Float32Array.from([1.5, -0, Number.POSITIVE_INFINITY, 3e-45]);
    new Uint32Array(data.buffer)[3] = 0x7fc00123;
    const t = new Map([
      ["b", { shape: [2, 2], data }],
      ["a", { shape: [3], data: randomData(3, 1) }],
    ]);
    const bytes = encodeSafetensors(t, { metadata: { format: "pt" } });
    assert.equal(new DataView(bytes.buffer).getBigUint64(0, true) % 8n, 0n);
    const f = SafetensorsFile.fromBytes(bytes);
    assert.deepEqual(f.metadata, { format: "pt" });
    assert.deepEqual(new Uint32Array(f.readTensor("b").data.buffer), new Uint32Array(data.buffer));
    assert.deepEqual(encodeSafetensors(f.readAll(), { metadata: f.metadata }), bytes);
  });

  test("F16/BF16 storage decodes within rounding", () => {
    const data = randomData(50, 3);
    for (const dtype of ["F16", "BF16"] as const) {
      const f = SafetensorsFile.fromBytes(
        encodeSafetensors(new Map([["x", { shape: [50], data }]]), { dtype }),
      );
      const back = f.readTensor("x").data;
      for (let i = 0; i < 50; i++) assert.ok(Math.abs(back[i] - data[i]) <= Math.abs(data[i]) * 2 ** -7);
    }
  });

  test("truncated and corrupt files name the tensor and offset", () => {
    const bytes = encodeSafetensors(new Map([["w", { shape: [4, 4], data: randomData(16, 2) }]]));
    assert.throws(
      () => SafetensorsFile.fromBytes(bytes.subarray(0, bytes.length - 1)),
      /truncated: tensor 'w' needs bytes/,
    );
    assert.throws(() => SafetensorsFile.fromBytes(bytes.subarray(0, 5)), FormatError);
    assert.throws(() => SafetensorsFile.fromBytes(bytes.subarray(0, 20)), /header claims/);
    const json = (h: object) => {
      const s = new TextEncoder().encode(JSON.stringify(h));
      const out = new Uint8Array(8 + s.length + 64);
      new DataView(out.buffer).setBigUint64(0, BigInt(s.length), true);
      out.set(s, 8);
      return out;
    };
    assert.throws(
      () => SafetensorsFile.fromBytes(json({ w: { dtype: "F32", shape: [2], data_offsets: [0, 4] } })),
      /'w' byte range/,
    );
    assert.throws(
      () => SafetensorsFile.fromBytes(json({ w: { dtype: "Q9", shape: [1], data_offsets: [0, 1] } })),
      /Q9/,
    );
    assert.throws(
      () =>
        SafetensorsFile.fromBytes(
          json({
            a: { dtype: "F32", shape: [2], data_offsets: [0, 8] },
            b: { dtype: "F32", shape: [2], data_offsets: [4, 12] },
          }),
        ),
      /overlap/,
    );
    const garbage = json({});
    garbage[9] = 0xff;
    assert.throws(() => SafetensorsFile.fromBytes(garbage), /not valid JSON/);
  });

  test("random corruption of a safetensors file only ever raises FormatError", () => {
    const bytes = encodeSafetensors(
      new Map([
        ["a.weight", { shape: [3, 4], data: randomData(12, 7) }],
        ["b.bias", { shape: [5], data: randomData(5, 8) }],
      ]),
    );
    const headerEnd = 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true));
    fc.assert(
      fc.property(fc.integer({ min: 0, max: headerEnd - 1 }), fc.integer({ min: 0, max: 255 }), (at, v) => {
        const c = bytes.slice();
        c[at] = v;
        try {
          const f = SafetensorsFile.fromBytes(c);
          for (const t of f.tensors) f.readTensor(t.name);
        } catch (e) {
          assert.ok(e instanceof FormatError, String(e));
        }
      }),
      { seed: 43, numRuns: 300 },
    );
  });

  test("config.json maps to LlamaConfig and back", () => {
    const hf = llamaConfigToHf(tinyConfig);
    assert.deepEqual(llamaConfigFromHf(hf), tinyConfig);
    assert.equal(llamaConfigFromHf({ ...hf, model_type: "mistral" }).architecture, "llama");
    assert.throws(
      () => llamaConfigFromHf({ ...hf, model_type: "gpt_neox" }),
      /gpt_neox.*llama, mistral, qwen2/,
    );
    assert.throws(() => llamaConfigFromHf({ ...hf, num_key_value_heads: 3 }), /multiple of 3 KV heads/);
  });

  test("sharded HF folder (model.safetensors.index.json) and its errors", () => {
    const model = join(dir, "hf-sharded");
    mkdirSync(model);
    const weights = randomWeights(tinyConfig, 5);
    writeFileSync(join(model, "config.json"), JSON.stringify(llamaConfigToHf(tinyConfig)));
    const names = [...weights.keys()];
    const half = Math.ceil(names.length / 2);
    const shards = [names.slice(0, half), names.slice(half)];
    const weightMap: Record<string, string> = {};
    shards.forEach((part, i) => {
      const file = `model-0000${i + 1}-of-00002.safetensors`;
      writeSafetensors(join(model, file), new Map(part.map((n) => [n, weights.get(n)!])));
      for (const n of part) weightMap[n] = file;
    });
    writeFileSync(join(model, "model.safetensors.index.json"), JSON.stringify({ weight_map: weightMap }));
    assertWeightsEqual(weights, readHfModel(model).weights);
    writeSafetensors(
      join(model, "model-00002-of-00002.safetensors"),
      new Map(shards[1].slice(1).map((n) => [n, weights.get(n)!])),
    );
    assert.throws(
      () => readHfModel(model),
      new RegExp(`tensor '${shards[1][0].replace(/\./g, "\\.")}' is missing`),
    );
    assert.throws(() => readHfModel(join(dir, "nowhere")), /cannot read config/);
  });

  test("HF folder -> GGUF -> weights equals the folder", () => {
    const model = join(dir, "hf");
    mkdirSync(model);
    const weights = randomWeights(tinyConfig, 4);
    writeFileSync(join(model, "config.json"), JSON.stringify(llamaConfigToHf(tinyConfig)));
    writeSafetensors(join(model, "model.safetensors"), weights);
    const loaded = readHfModel(model);
    assertWeightsEqual(weights, loaded.weights);
    const path = join(dir, "from-hf.gguf");
    writeLlamaGguf(path, loaded);
    assertWeightsEqual(weights, readLlamaGguf(path).weights);
    // with a tokenizer.json of fewer tokens than embedding rows: padded to the model's vocabulary
    const vocab = trainBpe(["the apple tree"], { vocabSize: 260, minFrequency: 1 });
    writeFileSync(join(model, "tokenizer.json"), JSON.stringify(vocabToHfTokenizer(vocab)));
    const converted = join(dir, "converted.gguf");
    convertHfToGguf(model, converted, { tensorType: "F16" });
    const back = readLlamaGguf(converted);
    assert.equal(back.vocab!.tokens.length, tinyConfig.vocabSize);
    assert.deepEqual(back.vocab!.tokens.slice(0, 260), vocab.tokens);
    assert.deepEqual(back.config, tinyConfig);
  });
});

function randomAdapter(config: LlamaConfig, rank: number, seed: number): LoraAdapterFile {
  const weights: Weights = new Map();
  let i = 0;
  const targets = ["q_proj", "k_proj", "v_proj", "down_proj"];
  for (let l = 0; l < config.numLayers; l++) {
    for (const t of targets) {
      const mod = t === "down_proj" ? `model.layers.${l}.mlp.${t}` : `model.layers.${l}.self_attn.${t}`;
      const kv = t === "k_proj" || t === "v_proj";
      const out =
        t === "down_proj"
          ? config.hiddenSize
          : kv
            ? config.numKvHeads * config.headDim
            : config.numHeads * config.headDim;
      const inp = t === "down_proj" ? config.intermediateSize : config.hiddenSize;
      weights.set(`${mod}.lora_A.weight`, { shape: [rank, inp], data: randomData(rank * inp, seed + i++) });
      weights.set(`${mod}.lora_B.weight`, { shape: [out, rank], data: randomData(out * rank, seed + i++) });
    }
  }
  return { rank, alpha: 16, targetModules: targets, weights };
}

describe("LoRA adapters", () => {
  const adapter = randomAdapter(tinyConfig, 4, 100);

  test("PEFT export then import is bit-exact, with HF tensor names", () => {
    const out = join(dir, "peft");
    writePeftAdapter(out, adapter);
    const cfg = JSON.parse(readFileSync(join(out, "adapter_config.json"), "utf8"));
    assert.equal(cfg.r, 4);
    assert.equal(cfg.lora_alpha, 16);
    const f = SafetensorsFile.open(join(out, "adapter_model.safetensors"));
    assert.ok(f.has("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
    assert.deepEqual(f.tensor("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight").shape, [64, 4]);
    f.close();
    const back = readPeftAdapter(out);
    assert.equal(back.rank, 4);
    assert.equal(back.alpha, 16);
    assert.deepEqual(back.targetModules, adapter.targetModules);
    assertWeightsEqual(adapter.weights, back.weights);
    const cfgPath = join(out, "adapter_config.json");
    const original = readFileSync(cfgPath, "utf8");
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, use_rslora: true }));
    assert.equal(readPeftAdapter(out).alpha, 16 * 2); // alpha/sqrt(4) == (alpha*2)/4
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, use_dora: true }));
    assert.throws(() => readPeftAdapter(out), /DoRA/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, bias: "all" }));
    assert.throws(() => readPeftAdapter(out), /bias 'all'/);
    writeFileSync(cfgPath, JSON.stringify({ ...cfg, peft_type: "IA3" }));
    assert.throws(() => readPeftAdapter(out), /IA3/);
    writeFileSync(cfgPath, original);
    const again = join(dir, "peft2");
    writePeftAdapter(again, back);
    assert.deepEqual(
      readFileSync(join(again, "adapter_model.safetensors")),
      readFileSync(join(out, "adapter_model.safetensors")),
    );
  });

  test("GGUF LoRA has llama.cpp's names, metadata and shapes and reads back exactly", () => {
    const path = join(dir, "lora.gguf");
    writeGgufLora(path, adapter, tinyConfig);
    const f = GgufFile.open(path);
    assert.equal(f.getString("general.type"), "adapter");
    assert.equal(f.getString("adapter.type"), "lora");
    assert.equal(f.getNumber("adapter.lora.alpha"), 16);
    assert.deepEqual(f.tensor("blk.0.attn_q.weight.lora_a").ne, [64, 4]);
    assert.deepEqual(f.tensor("blk.0.attn_q.weight.lora_b").ne, [4, 64]);
    assert.deepEqual(f.tensor("blk.1.ffn_down.weight.lora_a").ne, [96, 4]);
    f.close();
    const back = readGgufLora(path, tinyConfig);
    assertWeightsEqual(adapter.weights, back.weights);
    assert.equal(back.rank, 4);
  });

  test("adapter that does not match its base is rejected with both shapes", () => {
    const small = { ...tinyConfig, hiddenSize: 32, headDim: 8 };
    assert.throws(
      () => checkAdapterShapes(adapter, small),
      /has shape \[4, 64\] but the base model needs \[4, 32\]/,
    );
    const deeper = { ...adapter, weights: new Map(adapter.weights) };
    deeper.weights.delete("model.layers.0.self_attn.q_proj.lora_B.weight");
    assert.throws(() => checkAdapterShapes(deeper, tinyConfig), /without/);
    assert.throws(
      () => writeGgufLora(join(dir, "x.gguf"), adapter, { ...tinyConfig, numLayers: 1 }),
      /lacks/,
    );
  });
});
