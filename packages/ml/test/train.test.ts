import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import type { Buf } from "../src/kernels/engine.ts";
import { Engine } from "../src/kernels/engine.ts";
import { Rng } from "../src/kernels/rng.ts";
import { LoraAdapter, type LoraSlot } from "../src/lora/adapter.ts";
import { LlamaModel } from "../src/model/llama.ts";
import { causalExample, type LoraGrad, lossAndGrad, type TrainExample } from "../src/train/backprop.ts";
import { learningRateAt } from "../src/train/optim.ts";
import { CheckpointError, Trainer } from "../src/train/trainer.ts";
import { mergedWeights, type RefWeights, referenceLoss } from "./helpers/reference-model.ts";
import { tinyConfig, tinyWeights } from "./helpers/tiny.ts";

const seq = [3, 8, 1, 30, 22, 5, 5, 9, 14];
const masked = causalExample(seq, 3);

function f64(w: RefWeights): RefWeights {
  const out: RefWeights = new Map();
  for (const [n, t] of w) out.set(n, { shape: t.shape, data: Float64Array.from(t.data) });
  return out;
}

function checkGrad(analytic: number, numeric: number, what: string) {
  const err = Math.abs(analytic - numeric);
  assert.ok(err < 2e-4 + 2e-3 * Math.abs(numeric), `${what}: analytic ${analytic} vs numeric ${numeric}`);
}

describe("backward passes against float64 finite differences of the reference model", () => {
  let e: Engine;
  before(async () => {
    e = await Engine.create({ threads: 2, maxMemoryMiB: 256 });
  });
  after(() => e.close());

  test("LoRA gradients on all seven targets (with a masked prompt)", () => {
    const c = tinyConfig();
    const w = tinyWeights(c, 21);
    const m = LlamaModel.fromWeights(e, c, w);
    const targets = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"] as const;
    const ad = LoraAdapter.create(e, c, { rank: 2, alpha: 4, targets: [...targets] }, 5);
    const rng = new Rng(2);
    for (const s of ad.orderedSlots()) for (let i = 0; i < s.B.length; i++) s.B.f32[i] = rng.normal() * 0.3;
    const grads = new Map<LoraSlot, LoraGrad>();
    for (const s of ad.orderedSlots()) grads.set(s, { dA: e.alloc(s.A.length), dB: e.alloc(s.B.length) });
    const r = lossAndGrad(m, [masked], ad, { full: null, lora: grads });
    const lora = f64(ad.toFile().weights);
    const base = f64(w);
    const loss = () =>
      referenceLoss(c, mergedWeights(base, lora, 2), masked.tokens as number[], masked.targets as number[]);
    assert.ok(Math.abs(r.loss - loss()) < 1e-4, `loss ${r.loss} vs ${loss()}`);
    const h = 1e-5;
    let nonzero = 0;
    for (const [layer, t] of [
      [0, "q_proj"],
      [1, "k_proj"],
      [0, "v_proj"],
      [1, "o_proj"],
      [0, "gate_proj"],
      [1, "up_proj"],
      [1, "down_proj"],
    ] as const) {
      const slot = ad.slots[layer].get(t)!;
      const g = grads.get(slot)!;
      const group = ["gate_proj", "up_proj", "down_proj"].includes(t) ? "mlp" : "self_attn";
      for (const [which, buf] of [
        ["A", g.dA],
        ["B", g.dB],
      ] as [string, Buf][]) {
        const data = lora.get(`model.layers.${layer}.${group}.${t}.lora_${which}.weight`)!
          .data as Float64Array;
        for (const i of [0, Math.floor(data.length / 2), data.length - 1]) {
          const keep = data[i];
          data[i] = keep + h;
          const up = loss();
          data[i] = keep - h;
          const down = loss();
          data[i] = keep;
          checkGrad(buf.f32[i], (up - down) / (2 * h), `${layer}.${t}.${which}[${i}]`);
          nonzero += Math.abs(buf.f32[i]) > 1e-4 ? 1 : 0;
        }
      }
    }
    assert.ok(nonzero > 30, `only ${nonzero} of 42 checked gradients are non-zero`);
    for (const g of grads.values()) {
      g.dA.free();
      g.dB.free();
    }
    ad.free();
    m.free();
  });

  for (const [label, over] of [
    ["untied, GQA", {}],
    ["tied, qwen2 bias", { tieWordEmbeddings: true, architecture: "qwen2", attentionBias: true }],
  ] as const) {
    test(`full-parameter gradients (${label})`, () => {
      const c = tinyConfig(over);
      const w = tinyWeights(c, 22);
      const m = LlamaModel.fromWeights(e, c, w);
      const grads = new Map<string, Buf>();
      for (const [n, b] of m.params) grads.set(n, e.alloc(b.length));
      const ex2 = causalExample([4, 4, 19, 2, 7, 36], 0);
      lossAndGrad(m, [masked, ex2], null, { full: grads, lora: null });
      const base = f64(w);
      const loss = () => {
        const a = referenceLoss(c, base, masked.tokens as number[], masked.targets as number[]);
        const b = referenceLoss(c, base, ex2.tokens as number[], ex2.targets as number[]);
        const na = masked.targets.length - 2;
        const nb = ex2.targets.length;
        return (a * na + b * nb) / (na + nb);
      };
      const h = 1e-5;
      for (const [name, t] of base) {
        const data = t.data as Float64Array;
        const picks = name.includes("embed")
          ? [3 * c.hiddenSize + 1, 30 * c.hiddenSize + 7]
          : [0, data.length - 1];
        for (const i of picks) {
          const keep = data[i];
          data[i] = keep + h;
          const up = loss();
          data[i] = keep - h;
          const down = loss();
          data[i] = keep;
          checkGrad(grads.get(name)!.f32[i], (up - down) / (2 * h), `${name}[${i}]`);
        }
      }
      for (const g of grads.values()) g.free();
      m.free();
    });
  }
});

/** A planted pattern: after token 1 comes (x + 7) mod 30 + 2 for the token x before it. */
function planted(rng: Rng, n: number): TrainExample[] {
  return Array.from({ length: n }, () => {
    const s: number[] = [];
    for (let i = 0; i < 6; i++) {
      const x = 2 + rng.int(30);
      s.push(x, 1, ((x + 7) % 30) + 2);
    }
    return causalExample(s);
  });
}

describe("training", () => {
  let e: Engine;
  let dir: string;
  before(async () => {
    e = await Engine.create({ threads: 2, maxMemoryMiB: 256 });
    dir = mkdtempSync(join(tmpdir(), "ml-train-"));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await e.close();
  });

  const c = tinyConfig({ hiddenSize: 32, intermediateSize: 48, headDim: 8 });
  const options = {
    mode: "lora" as const,
    lora: { rank: 4, alpha: 8, targets: ["q_proj", "v_proj", "o_proj", "up_proj", "down_proj"] as never[] },
    learningRate: 2e-2,
    warmupSteps: 5,
    totalSteps: 60,
    gradClip: 1,
    seed: 7,
    batchSize: 8,
    weightDecay: 0.01,
  };

  test("LoRA training lowers held-out loss on a planted pattern; the base stays frozen", () => {
    const m = LlamaModel.fromWeights(e, c, tinyWeights(c, 30));
    const before = m.exportWeights();
    const rng = new Rng(1);
    const train = planted(rng, 64);
    const heldOut = planted(rng, 16);
    const t = new Trainer(m, options);
    const start = t.evaluate(heldOut).loss;
    const last = t.run(train);
    const end = t.evaluate(heldOut).loss;
    assert.equal(last!.step, 60);
    assert.ok(end < start * 0.75, `held-out loss ${start} -> ${end}`);
    for (const [n, w] of m.exportWeights()) assert.deepEqual(w.data, before.get(n)!.data, `${n} changed`);
    t.adapter!.free();
    m.free();
  });

  test("training is reproducible and a resumed checkpoint continues bit-exactly", () => {
    const m = LlamaModel.fromWeights(e, c, tinyWeights(c, 31));
    const data = planted(new Rng(2), 24);
    const o = { ...options, totalSteps: 8 };
    const a = new Trainer(m, o);
    a.run(data);
    const b1 = new Trainer(m, o);
    const path = join(dir, "ckpt.bin");
    b1.run(data, { steps: 3, checkpointPath: path, checkpointEvery: 3 });
    const b2 = Trainer.resume(m, path);
    assert.equal(b2.step, 3);
    b2.run(data);
    const wa = a.adapter!.toFile().weights;
    const wb = b2.adapter!.toFile().weights;
    for (const [n, t] of wa) assert.deepEqual(wb.get(n)!.data, t.data, n);
    const c1 = new Trainer(m, o);
    c1.run(data);
    for (const [n, t] of wa) assert.deepEqual(c1.adapter!.toFile().weights.get(n)!.data, t.data, n);
    for (const t of [a, b1, b2, c1]) t.adapter!.free();
    m.free();
  });

  test("results do not depend on the thread count", async () => {
    const e1 = await Engine.create({ threads: 1, maxMemoryMiB: 64 });
    const runOn = (eng: Engine) => {
      const m = LlamaModel.fromWeights(eng, c, tinyWeights(c, 34));
      const t = new Trainer(m, { ...options, totalSteps: 3 });
      t.run(planted(new Rng(4), 16));
      const w = t.adapter!.toFile().weights;
      t.free();
      m.free();
      return w;
    };
    const one = runOn(e1);
    const two = runOn(e);
    for (const [n, t] of one) assert.deepEqual(two.get(n)!.data, t.data, n);
    await e1.close();
  });

  test("full-parameter training lowers the loss (pre-training path)", () => {
    const m = LlamaModel.random(e, c, 3);
    const data = planted(new Rng(3), 32);
    const t = new Trainer(m, { ...options, mode: "full", learningRate: 3e-3, totalSteps: 30 });
    const start = t.evaluate(data).loss;
    t.run(data);
    assert.ok(t.evaluate(data).loss < start - 0.5);
    m.free();
  });

  test("causalExample masks the prompt's targets only", () => {
    const ex = causalExample([10, 11, 12, 13, 14], 3);
    assert.deepEqual(ex.tokens, [10, 11, 12, 13]);
    assert.deepEqual(ex.targets, [-1, -1, 13, 14]);
  });

  test("schedule and bad input", () => {
    const s = { learningRate: 1, warmupSteps: 4, totalSteps: 14, minLearningRate: 0.1 };
    assert.equal(learningRateAt(s, 0), 0.25);
    assert.equal(learningRateAt(s, 4), 1);
    assert.ok(Math.abs(learningRateAt(s, 9) - 0.55) < 1e-12);
    assert.equal(learningRateAt(s, 14), 0.1);
    const m = LlamaModel.fromWeights(e, c, tinyWeights(c, 33));
    assert.throws(() => new Trainer(m, { ...options, learningRate: 0 }), /learningRate/);
    assert.throws(() => new Trainer(m, { ...options, lora: undefined }), /needs options.lora/);
    assert.throws(
      () => new Trainer(m, { ...options, lora: { rank: 0, alpha: 1, targets: ["q_proj"] } }),
      /rank must be/,
    );
    assert.throws(
      () => lossAndGrad(m, [{ tokens: [1, 2], targets: [-1, -1] }], null, null),
      /no scored targets/,
    );
    assert.throws(
      () => lossAndGrad(m, [{ tokens: [1, 2], targets: [3] }], null, null),
      /2 tokens but 1 targets/,
    );
    assert.throws(() => causalExample([5]), /at least 2 tokens/);
    const bad = join(dir, "bad.bin");
    writeFileSync(bad, "OLTRAIN1garbage");
    assert.throws(() => Trainer.resume(m, bad), CheckpointError);
    assert.throws(() => Trainer.resume(m, join(dir, "missing.bin")), /cannot read checkpoint/);
    m.free();
  });
});
