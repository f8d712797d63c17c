// Loss and gradients of the decoder, llm.c style: each layer's backward mirrors its forward in
// model/forward.ts (same buffers, reverse order). Gradients go to the full weights, to one LoRA
// adapter's A/B matrices, or both.
import type { Buf } from "../kernels/engine.ts";
import { attentionBackward, attentionForward } from "../layers/attention.ts";
import { mlpBackward, mlpForward } from "../layers/mlp.ts";
import type { LayerGrad, LayerPass, LayerScratch } from "../layers/pass.ts";
import type { LoraAdapter, LoraSlot } from "../lora/adapter.ts";
import { ModelInputError } from "../model/errors.ts";
import { forwardPass, freeState, type PassInput } from "../model/forward.ts";
import type { LlamaModel } from "../model/llama.ts";

/** One training sequence: targets[i] is the token after tokens[i], or -1 where no loss is taken. */
export interface TrainExample {
  tokens: ArrayLike<number>;
  targets: ArrayLike<number>;
}

export interface LoraGrad {
  dA: Buf;
  dB: Buf;
}

export interface GradSink {
  /** gradients of the base weights by Hugging Face name (full training), accumulated */
  full: Map<string, Buf> | null;
  /** gradients of LoRA slots (adapter training), accumulated */
  lora: Map<LoraSlot, LoraGrad> | null;
}

export interface LossResult {
  /** mean cross-entropy over the scored targets */
  loss: number;
  /** number of targets scored */
  scored: number;
  /** tokens run through the model */
  tokens: number;
}

/** Builds next-token examples from a token sequence; the first `promptLength` targets are masked. */
export function causalExample(sequence: ArrayLike<number>, promptLength = 0): TrainExample {
  const n = sequence.length - 1;
  if (n < 1) throw new ModelInputError("a training sequence needs at least 2 tokens");
  const tokens = Array.from({ length: n }, (_, i) => sequence[i]);
  const targets = Array.from({ length: n }, (_, i) => (i + 1 < promptLength ? -1 : sequence[i + 1]));
  return { tokens, targets };
}

export interface LossAndGradOptions {
  /**
   * Divide the summed loss gradient by this instead of the examples' own scored count: with the scored
   * count of a whole batch, micro-batches accumulate exactly the gradient of that batch.
   */
  gradientDivisor?: number;
  /**
   * activation checkpointing: keep only each layer's input during the forward pass and recompute the
   * layer's activations just before its backward (about a third more compute, a fraction of the memory)
   */
  checkpoint?: boolean;
}

/**
 * Mean next-token cross-entropy over the examples (one batch, any lengths), and, when `sink` is given,
 * its gradient accumulated into the sink. `adapter` applies to every example.
 */
export function lossAndGrad(
  model: LlamaModel,
  examples: TrainExample[],
  adapter: LoraAdapter | null,
  sink: GradSink | null,
  options: LossAndGradOptions = {},
): LossResult {
  const e = model.engine;
  const c = model.config;
  const D = c.hiddenSize;
  const V = c.vocabSize;
  let scored = 0;
  for (const ex of examples) {
    if (ex.tokens.length !== ex.targets.length) {
      throw new ModelInputError(`example has ${ex.tokens.length} tokens but ${ex.targets.length} targets`);
    }
    for (let i = 0; i < ex.targets.length; i++) {
      const t = ex.targets[i];
      if (t >= V || !Number.isInteger(t))
        throw new ModelInputError(`target ${t} outside the vocabulary of ${V}`);
      if (t >= 0) scored++;
    }
  }
  if (scored === 0) throw new ModelInputError("the batch has no scored targets (all masked)");
  if (sink?.full && model.packed) {
    throw new ModelInputError(
      "full-parameter training needs float32 weights; this model keeps quantised weights packed: train a LoRA adapter, or load it with readLlamaGguf + LlamaModel.fromWeights",
    );
  }
  const inputs: PassInput[] = examples.map((ex) => ({ tokens: ex.tokens, cache: null, adapter }));
  const st = forwardPass(model, inputs, sink !== null, options.checkpoint === true);
  const N = st.N;
  const bufs: Buf[] = [];
  const tmp = (n: number, zero = false) => {
    const b = e.alloc(n, zero);
    bufs.push(b);
    return b;
  };
  try {
    const rstdF = tmp(N);
    const xf = tmp(N * D);
    const logits = tmp(N * V);
    const targets = tmp(N);
    const weight = tmp(N);
    const losses = tmp(N);
    const tv = targets.i32;
    let r = 0;
    for (const ex of examples) for (let i = 0; i < ex.targets.length; i++) tv[r++] = ex.targets[i];
    weight.f32.fill(1 / (options.gradientDivisor ?? scored));
    e.rmsnorm(st.x, model.norm, xf, rstdF, N, D, c.rmsNormEps);
    e.linear(xf, model.lmHead, logits, N, V, D, { exact: sink !== null });
    e.crossEntropy(logits, targets, weight, losses, sink ? logits : null, N, V);
    let total = 0;
    for (const l of losses.f32) total += l;
    const result = { loss: total / scored, scored, tokens: N };
    if (!sink) return result;

    const full = sink.full;
    const gw = (name: string) => {
      if (!full) return null;
      const g = full.get(name);
      if (!g) throw new ModelInputError(`no gradient buffer for '${name}'`);
      return g;
    };
    // logits = xf · lmHeadᵀ
    const dxf = tmp(N * D);
    e.linearInputGrad(logits, model.lmHead, dxf, N, V, D);
    const lmName = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
    const gLm = gw(lmName);
    if (gLm) e.matmulAtB(logits, xf, gLm, V, D, N, { accumulate: true });
    const dX = tmp(N * D, true);
    e.rmsnormBackward(st.x, model.norm, rstdF, dxf, dX, gw("model.norm.weight"), N, D);

    const qd = c.numHeads * c.headDim;
    const kvd = c.numKvHeads * c.headDim;
    const F = c.intermediateSize;
    const scratch: LayerScratch = {
      dh: tmp(N * F),
      dg: tmp(N * F),
      du: tmp(N * F),
      dxn: tmp(N * D),
      dao: tmp(N * qd),
      dq: tmp(N * qd),
      dk: tmp(N * kvd),
      dv: tmp(N * kvd),
      dxa: tmp(Math.max(1, N * st.rmax)),
    };
    // each layer's backward mirrors its forward (layers/attention.ts, layers/mlp.ts), in reverse order
    for (let l = c.numLayers - 1; l >= 0; l--) {
      const pass: LayerPass = {
        e,
        model,
        layer: l,
        N,
        seqs: st.seqs,
        runs: st.runs,
        rmax: st.rmax,
        pos: st.pos,
        save: true,
      };
      const g: LayerGrad = { sink, gw: (name) => gw(`model.layers.${l}.${name}`), scratch };
      let A = st.acts[l];
      if (st.layerInputs.length > 0) {
        // checkpointed: recompute this layer's activations from its saved input
        A = st.acts[0];
        st.x.f32.set(st.layerInputs[l].f32);
        attentionForward(pass, model.layers[l], A, st.x);
        mlpForward(pass, model.layers[l], A, st.x);
      }
      mlpBackward(pass, g, model.layers[l], A, dX);
      attentionBackward(pass, g, model.layers[l], A, dX);
    }
    const gEmb = gw("model.embed_tokens.weight");
    if (gEmb) {
      const g = gEmb.f32;
      const d = dX.f32;
      let row = 0;
      for (const ex of examples) {
        for (let i = 0; i < ex.tokens.length; i++, row++) {
          const t = ex.tokens[i];
          for (let j = 0; j < D; j++) g[t * D + j] += d[row * D + j];
        }
      }
    }
    return result;
  } finally {
    for (const b of bufs) b.free();
    freeState(st);
  }
}
