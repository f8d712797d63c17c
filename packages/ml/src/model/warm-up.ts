// Compiles the engine's per-token JavaScript before the first request. V8 optimises a function only
// after it has run many times, and then compiles it on background threads whose CPU the process pays:
// for a small model (SmolLM-135M) that is most of the difference between the first 32 decoded tokens
// and the next (measured: docs/performance.md, "The first tokens"). A tiny stand-in model on the same engine,
// whose every matrix has the stored type of the real one's matrix in the same place (and its decode
// layout, where the stand-in's 256-wide shape allows it: not F16's column panels for rows over 4096),
// runs a prompt and enough decode steps for V8 to optimise the same functions with the same types; it
// is freed afterwards. Its cost does not grow with the model's width (a few MB of zeros, ~0.1 s of CPU).
import type { LlamaConfig } from "../formats/model-config.ts";
import { type Buf, MAX_DECODE_ROWS } from "../kernels/engine.ts";
import { packedRowBytes, QTensor, type Weight } from "../kernels/qtensor.ts";
import { forward } from "./infer.ts";
import { KVCache, LAYER_MATRIX_NAMES, LlamaModel } from "./llama.ts";

/**
 * Layer calls of the warm-up's decode steps: V8 optimises the layer functions (once per layer a step)
 * after about 600-900 calls (measured with --trace-opt on SmolLM-135M's 30 layers: 20-30 steps).
 */
const LAYER_CALLS = 1024;
/**
 * The stand-in's prompt: longer than any layout's decode rows, so that it runs the prefill path (the
 * integer GEMM or the panels) as a real prompt does. A prompt short enough for the decode kernels left
 * the prefill code to be compiled, and the decode code V8 had optimised for small numbers to be
 * deoptimised, during the first real request.
 */
const PROMPT = MAX_DECODE_ROWS + 8;

/** The stand-in's shape: every dimension a whole number of 256-value super-blocks and four-row groups. */
function standInConfig(c: LlamaConfig, steps: number): LlamaConfig {
  return {
    ...c,
    vocabSize: 256,
    hiddenSize: 256,
    intermediateSize: 256,
    numHeads: 4,
    numKvHeads: c.numKvHeads === c.numHeads ? 4 : 2,
    headDim: 64,
    contextLength: PROMPT + steps,
  };
}

/** Type signatures already warmed in this process: V8's compiled code is shared by every engine. */
const warmed = new Set<string>();

function kindOf(w: Weight): string {
  return w instanceof QTensor ? `${w.type}/${w.kernelType}` : "f32";
}

/**
 * Runs a tiny model with `model`'s matrix types through a prompt and decode steps on the first
 * part's engine, once per process and type signature; leaves the engine's allocations as they were.
 */
export function warmUp(model: LlamaModel): void {
  const parts: LlamaModel[] = [];
  for (let p: LlamaModel | null = model; p; p = p.next) parts.push(p);
  const layers = parts.flatMap((p) => p.layers);
  const last = parts[parts.length - 1];
  const signature = [
    kindOf(model.embed),
    kindOf(last.lmHead),
    model.config.attentionBias,
    ...layers.map((L) => LAYER_MATRIX_NAMES.map(([f]) => kindOf(L[f] as Weight)).join(",")),
  ].join(";");
  if (warmed.has(signature)) return;
  const e = model.engine;
  const steps = Math.min(128, Math.ceil(LAYER_CALLS / layers.length));
  const c = standInConfig(model.config, steps);
  const made: (Buf | QTensor)[] = [];
  // one zero matrix per (shape, type): the stand-in's layers share them
  const byKind = new Map<string, Weight>();
  const like = (w: Weight, rows: number, cols: number): Weight => {
    const key = `${kindOf(w)}:${rows}x${cols}`;
    let m = byKind.get(key);
    if (!m) {
      if (w instanceof QTensor) {
        m = new QTensor(e.alloc(Math.ceil((rows * packedRowBytes(w.type, cols)) / 4)), w.type, rows, cols);
        made.push(m);
        if (w.kernelType !== w.type) e.repackForDecode(m);
      } else {
        m = e.alloc(rows * cols);
        made.push(m);
      }
      byKind.set(key, m);
    }
    return m;
  };
  const vec = (n: number, value: number) => {
    const b = e.alloc(n);
    b.f32.fill(value);
    made.push(b);
    return b;
  };
  let standIn: LlamaModel | null = null;
  let cache: KVCache | null = null;
  try {
    const D = c.hiddenSize;
    const qd = c.numHeads * c.headDim;
    const kvd = c.numKvHeads * c.headDim;
    const norm = vec(D, 1);
    const params = new Map<string, Weight>();
    params.set("model.embed_tokens.weight", like(model.embed, c.vocabSize, D));
    params.set("model.norm.weight", norm);
    if (!c.tieWordEmbeddings) params.set("lm_head.weight", like(last.lmHead, c.vocabSize, D));
    const shape: Record<string, [number, number]> = {
      q: [qd, D],
      k: [kvd, D],
      v: [kvd, D],
      o: [D, qd],
      gate: [c.intermediateSize, D],
      up: [c.intermediateSize, D],
      down: [D, c.intermediateSize],
    };
    const biases = c.attentionBias ? [vec(qd, 0), vec(kvd, 0), vec(kvd, 0)] : null;
    layers.forEach((L, l) => {
      const p = `model.layers.${l}.`;
      params.set(`${p}input_layernorm.weight`, norm);
      params.set(`${p}post_attention_layernorm.weight`, norm);
      for (const [f, name] of LAYER_MATRIX_NAMES) params.set(p + name, like(L[f] as Weight, ...shape[f]));
      if (biases) {
        params.set(`${p}self_attn.q_proj.bias`, biases[0]);
        params.set(`${p}self_attn.k_proj.bias`, biases[1]);
        params.set(`${p}self_attn.v_proj.bias`, biases[2]);
      }
    });
    standIn = new LlamaModel(e, c, params, { maxContext: c.contextLength });
    cache = new KVCache(standIn);
    const prompt = Array.from({ length: PROMPT }, (_, i) => (i * 31 + 7) % c.vocabSize);
    forward(standIn, [{ tokens: prompt, cache }]);
    for (let i = 0; i < steps; i++) forward(standIn, [{ tokens: [i % c.vocabSize], cache }]);
    warmed.add(signature);
  } finally {
    cache?.free();
    // the stand-in's tensors are shared between its layers: freed once each here, not by standIn.free()
    if (standIn) {
      standIn.rope.cos.free();
      standIn.rope.sin.free();
    }
    for (const b of made) b.free();
  }
}
