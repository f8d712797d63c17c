// Loss and gradients of the decoder, llm.c style: each layer's backward mirrors its forward in
// model/forward.ts (same buffers, reverse order). Gradients go to the full weights, to one LoRA
// adapter's A/B matrices, or both.
import type { Buf, Engine } from "../kernels/engine.ts";
import type { Weight } from "../kernels/qtensor.ts";
import type { LoraAdapter, LoraSlot, LoraTarget } from "../lora/adapter.ts";
import { ModelInputError } from "../model/errors.ts";
import { type AdapterRun, forwardPass, freeState, type PassInput } from "../model/forward.ts";
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

function linearBackward(
  e: Engine,
  dy: Buf,
  x: Buf,
  N: number,
  W: Weight,
  dx: Buf | null,
  dxAccumulate: boolean,
  gradW: Buf | null,
  gradBias: Buf | null,
  runs: AdapterRun[],
  layer: number,
  target: LoraTarget,
  xa: Buf | undefined,
  rmax: number,
  sink: GradSink,
  dxa: Buf,
): void {
  const inDim = x.length / N;
  const outDim = W.length / inDim;
  if (dx) e.linearInputGrad(dy, W, dx, N, outDim, inDim, dxAccumulate);
  if (gradW) e.matmulAtB(dy, x, gradW, outDim, inDim, N, { accumulate: true });
  if (gradBias) {
    const g = gradBias.f32;
    const d = dy.f32;
    for (let r = 0; r < N; r++) for (let j = 0; j < outDim; j++) g[j] += d[r * outDim + j];
  }
  for (const run of runs) {
    const slot = run.adapter?.slots[layer].get(target);
    if (!slot || !xa) continue;
    const n = run.r1 - run.r0;
    const dyr = dy.at(run.r0 * outDim);
    const xr = x.at(run.r0 * inDim);
    const g = sink.lora?.get(slot);
    if (g)
      e.matmulAtB(dyr, xa.at(run.r0 * rmax), g.dB, outDim, slot.rank, n, { ldb: rmax, accumulate: true });
    e.matmulAB(dyr, slot.B, dxa, n, slot.rank, outDim);
    const v = dxa.f32;
    for (let i = 0; i < n * slot.rank; i++) v[i] *= slot.scale;
    if (g) e.matmulAtB(dxa, xr, g.dA, slot.rank, inDim, n, { accumulate: true });
    if (dx) e.matmulAB(dxa, slot.A, dx.at(run.r0 * inDim), n, inDim, slot.rank, { accumulate: true });
  }
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
  const st = forwardPass(model, inputs, sink !== null);
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
    weight.f32.fill(1 / scored);
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
    const dh = tmp(N * F);
    const dg = tmp(N * F);
    const du = tmp(N * F);
    const dxn = tmp(N * D);
    const dao = tmp(N * qd);
    const dq = tmp(N * qd);
    const dk = tmp(N * kvd);
    const dv = tmp(N * kvd);
    const dxa = tmp(Math.max(1, N * st.rmax));
    const scale = 1 / Math.sqrt(c.headDim);
    for (let l = c.numLayers - 1; l >= 0; l--) {
      const L = model.layers[l];
      const A = st.acts[l];
      const p = `model.layers.${l}.`;
      const lin = (
        dy: Buf,
        x: Buf,
        W: Weight,
        dx: Buf,
        acc: boolean,
        t: LoraTarget,
        wName: string,
        bias: Buf | null,
      ) =>
        linearBackward(
          e,
          dy,
          x,
          N,
          W,
          dx,
          acc,
          gw(`${p}${wName}.weight`),
          bias && full ? gw(`${p}${wName}.bias`) : null,
          st.runs,
          l,
          t,
          A.xa.get(t),
          st.rmax,
          sink,
          dxa,
        );
      // MLP: x += down(silu(gate(xn2)) * up(xn2)),  xn2 = rmsnorm(xMid)
      lin(dX, A.h, L.down, dh, false, "down_proj", "mlp.down_proj", null);
      e.swigluBackward(A.g, A.u, dh, dg, du, N * F);
      lin(dg, A.xn2, L.gate, dxn, false, "gate_proj", "mlp.gate_proj", null);
      lin(du, A.xn2, L.up, dxn, true, "up_proj", "mlp.up_proj", null);
      e.rmsnormBackward(
        A.xMid!,
        L.ffnNorm,
        A.rstd2,
        dxn,
        dX,
        gw(`${p}post_attention_layernorm.weight`),
        N,
        D,
      );
      // attention: x += o(attn(rope(q(xn1)), rope(k(xn1)), v(xn1))),  xn1 = rmsnorm(xIn)
      lin(dX, A.ao, L.o, dao, false, "o_proj", "self_attn.o_proj", null);
      dq.f32.fill(0);
      dk.f32.fill(0);
      dv.f32.fill(0);
      for (const s of st.seqs) {
        e.attentionBackward({
          q: A.q.at(s.r0 * qd),
          qStride: qd,
          k: A.k.at(s.r0 * kvd),
          v: A.v.at(s.r0 * kvd),
          kvStride: kvd,
          out: dao,
          outStride: qd,
          att: A.att.at(s.attOffset),
          dout: dao.at(s.r0 * qd),
          dq: dq.at(s.r0 * qd),
          dk: dk.at(s.r0 * kvd),
          dv: dv.at(s.r0 * kvd),
          T: s.n,
          S0: 0,
          nHq: c.numHeads,
          nHkv: c.numKvHeads,
          hd: c.headDim,
          scale,
        });
      }
      e.rope(dq, N, qd, c.numHeads, c.headDim, st.pos, model.rope, true);
      e.rope(dk, N, kvd, c.numKvHeads, c.headDim, st.pos, model.rope, true);
      lin(dq, A.xn1, L.q, dxn, false, "q_proj", "self_attn.q_proj", L.qBias);
      lin(dk, A.xn1, L.k, dxn, true, "k_proj", "self_attn.k_proj", L.kBias);
      lin(dv, A.xn1, L.v, dxn, true, "v_proj", "self_attn.v_proj", L.vBias);
      e.rmsnormBackward(A.xIn!, L.attnNorm, A.rstd1, dxn, dX, gw(`${p}input_layernorm.weight`), N, D);
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
