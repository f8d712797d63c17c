// Float64 forward pass of a LLaMA-family decoder built only from the reference kernels: the oracle
// for the WebAssembly model in tests (logits, and loss for finite-difference gradients).
import type { LlamaConfig } from "../../src/formats/model-config.ts";
import * as ref from "../../src/kernels/reference.ts";

export type RefWeights = Map<string, { shape: number[]; data: Float32Array | Float64Array }>;

function linear(x: Float64Array, N: number, w: ArrayLike<number>, inDim: number, bias?: ArrayLike<number>) {
  const outDim = w.length / inDim;
  const y = ref.matmulABt(x, w as Float64Array, N, outDim, inDim);
  if (bias) for (let r = 0; r < N; r++) for (let j = 0; j < outDim; j++) y[r * outDim + j] += bias[j];
  return y;
}

/** Logits [T, V] for one sequence starting at position 0. */
export function referenceLogits(c: LlamaConfig, w: RefWeights, tokens: number[]): Float64Array {
  const D = c.hiddenSize;
  const T = tokens.length;
  const get = (n: string) => w.get(n)?.data as Float64Array;
  let x = new Float64Array(T * D);
  const emb = get("model.embed_tokens.weight");
  tokens.forEach((t, i) => {
    for (let j = 0; j < D; j++) x[i * D + j] = emb[t * D + j];
  });
  const pos = tokens.map((_, i) => i);
  const shape = { T, nHq: c.numHeads, nHkv: c.numKvHeads, hd: c.headDim };
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    const xn = ref.rmsnorm(x, get(`${p}input_layernorm.weight`), T, D, c.rmsNormEps).out;
    const q = ref.rope(
      linear(xn, T, get(`${p}self_attn.q_proj.weight`), D, get(`${p}self_attn.q_proj.bias`)),
      T,
      c.numHeads,
      c.headDim,
      pos,
      c.ropeTheta,
      true,
    );
    const k = ref.rope(
      linear(xn, T, get(`${p}self_attn.k_proj.weight`), D, get(`${p}self_attn.k_proj.bias`)),
      T,
      c.numKvHeads,
      c.headDim,
      pos,
      c.ropeTheta,
      true,
    );
    const v = linear(xn, T, get(`${p}self_attn.v_proj.weight`), D, get(`${p}self_attn.v_proj.bias`));
    const ao = ref.attention(q, k, v, shape).out;
    const o = linear(ao, T, get(`${p}self_attn.o_proj.weight`), c.numHeads * c.headDim);
    x = x.map((xi, i) => xi + o[i]);
    const xn2 = ref.rmsnorm(x, get(`${p}post_attention_layernorm.weight`), T, D, c.rmsNormEps).out;
    const g = linear(xn2, T, get(`${p}mlp.gate_proj.weight`), D);
    const u = linear(xn2, T, get(`${p}mlp.up_proj.weight`), D);
    const h = ref.swiglu(g, u);
    const d = linear(h, T, get(`${p}mlp.down_proj.weight`), c.intermediateSize);
    x = x.map((xi, i) => xi + d[i]);
  }
  const xf = ref.rmsnorm(x, get("model.norm.weight"), T, D, c.rmsNormEps).out;
  return linear(xf, T, get(c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight"), D);
}

/** Mean cross-entropy of next-token targets (negative targets are masked). */
export function referenceLoss(c: LlamaConfig, w: RefWeights, tokens: number[], targets: number[]): number {
  const logits = referenceLogits(c, w, tokens);
  const n = targets.filter((t) => t >= 0).length;
  const { losses } = ref.crossEntropy(
    logits,
    targets,
    targets.map(() => 1),
    tokens.length,
    c.vocabSize,
  );
  return losses.reduce((a, b) => a + b, 0) / n;
}

/** Weights with a LoRA update merged in: W + scale·B·A (float64 math, stored back as float32 copy). */
export function mergedWeights(w: RefWeights, lora: RefWeights, scale: number): RefWeights {
  const out = new Map<string, { shape: number[]; data: Float64Array }>();
  for (const [n, t] of w) out.set(n, { shape: t.shape, data: Float64Array.from(t.data) });
  for (const [n, a] of lora) {
    if (!n.endsWith(".lora_A.weight")) continue;
    const base = n.replace(".lora_A.weight", "");
    const b = lora.get(`${base}.lora_B.weight`)!;
    const W = out.get(`${base}.weight`)! as { data: Float64Array };
    const [r, inDim] = a.shape;
    const outDim = b.shape[0];
    for (let o = 0; o < outDim; o++)
      for (let i = 0; i < inDim; i++) {
        let s = 0;
        for (let k = 0; k < r; k++) s += b.data[o * r + k] * a.data[k * inDim + i];
        W.data[o * inDim + i] += scale * s;
      }
  }
  return out;
}
