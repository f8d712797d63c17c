// Gradient accumulation and activation checkpointing give the same updates as plain training.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Engine } from "../src/kernels/engine.ts";
import { ModelInputError } from "../src/model/errors.ts";
import { forwardPass, freeState } from "../src/model/forward.ts";
import { LlamaModel } from "../src/model/llama.ts";
import { causalExample, lossAndGrad } from "../src/train/backprop.ts";
import { Trainer, type TrainerOptions } from "../src/train/trainer.ts";
import { tinyConfig, tinyWeights } from "./helpers/tiny.ts";

let e: Engine;
before(async () => {
  e = await Engine.create({ threads: 2, maxMemoryMiB: 64 });
});
after(() => e.close());

test("microBatchSize 1 and 2 train exactly like the whole batch (loss and adapter after 3 steps)", () => {
  const c = tinyConfig();
  const model = LlamaModel.fromWeights(e, c, tinyWeights(c, 3));
  // uneven lengths and a masked prompt, so per-micro-batch scored counts differ
  const batch = [
    causalExample([1, 5, 9, 2, 7, 3, 8], 3),
    causalExample([4, 4, 6, 1]),
    causalExample([2, 9, 11, 13, 17, 19, 23, 29, 31]),
    causalExample([30, 1, 2]),
  ];
  const options: TrainerOptions = {
    mode: "lora",
    lora: { rank: 4, alpha: 8, targets: ["q_proj", "v_proj", "up_proj"] },
    learningRate: 5e-3,
    warmupSteps: 0,
    totalSteps: 3,
    seed: 7,
  };
  const run = (microBatchSize?: number) => {
    const t = new Trainer(model, { ...options, microBatchSize });
    const losses = [0, 1, 2].map(() => t.trainStep(batch).loss);
    const weights = t.adapter!.slots.flatMap((m) => [...m.values()].flatMap((s) => [...s.A.f32, ...s.B.f32]));
    t.free();
    return { losses, weights };
  };
  const whole = run();
  for (const micro of [1, 2]) {
    const acc = run(micro);
    for (const [i, l] of acc.losses.entries()) {
      assert.ok(Math.abs(l - whole.losses[i]) < 1e-5, `micro ${micro} step ${i}`);
    }
    let worst = 0;
    for (let i = 0; i < whole.weights.length; i++)
      worst = Math.max(worst, Math.abs(acc.weights[i] - whole.weights[i]));
    assert.ok(worst < 1e-5, `micro ${micro}: adapter differs by ${worst}`);
  }
  assert.ok(whole.losses[2] < whole.losses[0]);
  assert.throws(() => new Trainer(model, { ...options, microBatchSize: 0 }), ModelInputError);
  model.free();
});

test("activation checkpointing gives the same loss and gradients (LoRA and full), bit for bit", () => {
  const c = tinyConfig({ attentionBias: true });
  const model = LlamaModel.fromWeights(e, c, tinyWeights(c, 5));
  const batch = [causalExample([1, 5, 9, 2, 7, 3, 8, 4], 2), causalExample([6, 3, 1, 12, 30])];
  const grads = (checkpoint: boolean) => {
    const out: Float32Array[] = [];
    const full = new Map([...model.params].map(([n, w]) => [n, e.alloc(w.length)]));
    const r = lossAndGrad(model, batch, null, { full, lora: null }, { checkpoint });
    for (const g of full.values()) {
      out.push(g.f32.slice());
      g.free();
    }
    return { loss: r.loss, out };
  };
  // checkpointing keeps one set of activations and each layer's input instead of every layer's set
  const inputs = batch.map((ex) => ({ tokens: ex.tokens, cache: null, adapter: null }));
  const kept = forwardPass(model, inputs, true, true);
  assert.equal(kept.acts.length, 1);
  assert.equal(kept.layerInputs.length, c.numLayers);
  freeState(kept);
  const plain = grads(false);
  const ckpt = grads(true);
  assert.equal(ckpt.loss, plain.loss);
  assert.deepEqual(ckpt.out, plain.out);
  const t = new Trainer(model, {
    mode: "lora",
    lora: { rank: 2, alpha: 4, targets: ["q_proj", "down_proj"] },
    learningRate: 1e-2,
    warmupSteps: 0,
    totalSteps: 2,
    seed: 3,
    checkpointActivations: true,
    microBatchSize: 1,
  });
  assert.ok(Number.isFinite(t.trainStep(batch).loss));
  t.free();
  model.free();
});
