import {
  expectedShapes,
  type LlamaConfig,
  SUPPORTED_ARCHITECTURES,
  type Weights,
} from "../formats/model-config.ts";
import type { Buf, Engine, RopeTable } from "../kernels/engine.ts";
import { QTensor, type Weight } from "../kernels/qtensor.ts";
import { Rng } from "../kernels/rng.ts";
import type { LoraTarget } from "../lora/adapter.ts";
import { ModelInputError, WeightShapeError } from "./errors.ts";

/** A layer's parameters: norms and biases in f32, matrices in f32 or packed in their GGUF format. */
export interface LayerParams {
  attnNorm: Buf;
  ffnNorm: Buf;
  q: Weight;
  k: Weight;
  v: Weight;
  o: Weight;
  gate: Weight;
  up: Weight;
  down: Weight;
  qBias: Buf | null;
  kBias: Buf | null;
  vBias: Buf | null;
}

/** Layer field holding each LoRA target's base weight. */
export const TARGET_FIELD: Record<LoraTarget, "q" | "k" | "v" | "o" | "gate" | "up" | "down"> = {
  q_proj: "q",
  k_proj: "k",
  v_proj: "v",
  o_proj: "o",
  gate_proj: "gate",
  up_proj: "up",
  down_proj: "down",
};

/** A layer's seven matrices and their tensor names (after `model.layers.N.`). */
export const LAYER_MATRIX_NAMES: [keyof LayerParams, string][] = [
  ["q", "self_attn.q_proj.weight"],
  ["k", "self_attn.k_proj.weight"],
  ["v", "self_attn.v_proj.weight"],
  ["o", "self_attn.o_proj.weight"],
  ["gate", "mlp.gate_proj.weight"],
  ["up", "mlp.up_proj.weight"],
  ["down", "mlp.down_proj.weight"],
];

const LAYER_NAMES: [keyof LayerParams, string][] = [
  ["attnNorm", "input_layernorm.weight"],
  ["ffnNorm", "post_attention_layernorm.weight"],
  ...LAYER_MATRIX_NAMES,
  ["qBias", "self_attn.q_proj.bias"],
  ["kBias", "self_attn.k_proj.bias"],
  ["vBias", "self_attn.v_proj.bias"],
];

export interface ModelOptions {
  /** cap on positions (RoPE table and KV caches); default min(contextLength, 4096) */
  maxContext?: number;
}

/**
 * One part of a model split across engines (each WebAssembly memory holds at most 4 GiB): the layers
 * first..end-1 live in this part's engine; the embedding in the first part, the final norm and output
 * head in the last. A part built with this receives the other parts' tensors it does not hold.
 */
export interface ModelPart {
  first: number;
  end: number;
  /** the tensors held elsewhere (embedding of the first part, norm and head of the last) */
  embed?: Weight;
  norm?: Buf;
  lmHead?: Weight;
}

function checkSupported(c: LlamaConfig): void {
  if (!(SUPPORTED_ARCHITECTURES as readonly string[]).includes(c.architecture)) {
    throw new WeightShapeError(
      `architecture '${c.architecture}' is not supported; supported: llama (Llama 2/3, Mistral, SmolLM, TinyLlama) and qwen2 (Qwen2, Qwen2.5)`,
    );
  }
  for (const k of [
    "vocabSize",
    "hiddenSize",
    "intermediateSize",
    "numLayers",
    "numHeads",
    "numKvHeads",
    "headDim",
  ] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new WeightShapeError(`config.${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.numHeads % c.numKvHeads !== 0) {
    throw new WeightShapeError(`numHeads ${c.numHeads} is not a multiple of numKvHeads ${c.numKvHeads}`);
  }
  if (c.headDim % 2 !== 0) throw new WeightShapeError(`headDim ${c.headDim} must be even for RoPE`);
}

/**
 * A LLaMA-family decoder whose weights live in the engine's shared memory. Weights use Hugging Face
 * names and layout (q/k rows in rotate-half order), as the formats module produces them.
 */
export class LlamaModel {
  readonly params: Map<string, Weight>;
  readonly embed: Weight;
  readonly lmHead: Weight;
  readonly norm: Buf;
  /** this part's layers: layers[l - first] is layer l */
  readonly layers: LayerParams[] = [];
  readonly rope: RopeTable;
  readonly maxContext: number;
  /** the layers this engine holds: first..end-1 (all of them unless the model is split) */
  readonly first: number;
  readonly end: number;
  /** the part holding the next layers, when the model is split across engines */
  next: LlamaModel | null = null;

  /** the config as given, copied by sameShape */
  readonly config: LlamaConfig;

  /**
   * `params` holds every tensor of expectedShapes(config) (or of this part's layers), already in engine
   * memory (the model owns them).
   */
  constructor(
    readonly engine: Engine,
    config: LlamaConfig,
    params: Map<string, Weight>,
    options: ModelOptions = {},
    part?: ModelPart,
  ) {
    checkSupported(config);
    this.config = sameShape(config);
    this.first = part?.first ?? 0;
    this.end = part?.end ?? config.numLayers;
    const inPart = (name: string) => {
      const m = /^model\.layers\.(\d+)\./.exec(name);
      return m ? Number(m[1]) >= this.first && Number(m[1]) < this.end : !part;
    };
    for (const name of expectedShapes(config).keys()) {
      if (inPart(name) && !params.has(name)) throw new WeightShapeError(`weight '${name}' is missing`);
    }
    this.params = params;
    this.embed = part?.embed ?? this.params.get("model.embed_tokens.weight")!;
    this.lmHead =
      part?.lmHead ?? (config.tieWordEmbeddings ? this.embed : this.params.get("lm_head.weight")!);
    this.norm = part?.norm ?? f32Param(this.params, "model.norm.weight");
    for (let l = this.first; l < this.end; l++) {
      const layer = {} as Record<keyof LayerParams, Weight | null>;
      for (const [field, suffix] of LAYER_NAMES)
        layer[field] = this.params.get(`model.layers.${l}.${suffix}`) ?? null;
      this.layers.push(layer as unknown as LayerParams);
    }
    const cap = options.maxContext ?? Math.min(config.contextLength || 4096, 4096);
    if (!Number.isInteger(cap) || cap < 1)
      throw new ModelInputError(`maxContext must be a positive integer, got ${cap}`);
    this.maxContext = Math.min(cap, config.contextLength || cap);
    this.rope = engine.ropeTable(this.maxContext, config.headDim, config.ropeTheta, true);
  }

  /** Copies named float32 weights into engine memory; errors name any missing or mis-shaped tensor. */
  static fromWeights(
    engine: Engine,
    config: LlamaConfig,
    weights: Weights,
    options: ModelOptions = {},
  ): LlamaModel {
    checkSupported(config);
    const shapes = expectedShapes(config);
    for (const [name, shape] of shapes) {
      const w = weights.get(name);
      if (!w) throw new WeightShapeError(`weight '${name}' is missing`);
      const n = shape.reduce((a, b) => a * b, 1);
      if (w.data.length !== n) {
        throw new WeightShapeError(
          `weight '${name}' has ${w.data.length} values (shape [${w.shape.join(", ")}]); the config needs [${shape.join(", ")}]`,
        );
      }
    }
    for (const name of weights.keys()) {
      if (!shapes.has(name))
        throw new WeightShapeError(`weight '${name}' is not part of this model's config`);
    }
    const params = new Map<string, Weight>();
    try {
      for (const [name] of shapes) params.set(name, engine.from(weights.get(name)!.data));
      return new LlamaModel(engine, config, params, options);
    } catch (err) {
      for (const p of params.values()) p.free();
      throw err;
    }
  }

  /** Whether any matrix stays packed in its storage format (then full-parameter training is refused). */
  get packed(): boolean {
    for (const p of this.params.values()) if (p instanceof QTensor) return true;
    return this.next?.packed ?? false;
  }

  /** Bytes of weights held in engine memory (all parts of a split model). */
  get weightBytes(): number {
    let n = this.next?.weightBytes ?? 0;
    for (const p of this.params.values()) n += p instanceof QTensor ? p.byteLength : p.length * 4;
    return n;
  }

  /** A freshly initialised model (N(0, 0.02), residual projections scaled by 1/√(2·layers), norms 1). */
  static random(engine: Engine, config: LlamaConfig, seed: number, options: ModelOptions = {}): LlamaModel {
    return LlamaModel.fromWeights(engine, config, initWeights(config, seed), options);
  }

  /** The weights, copied out, under Hugging Face names. */
  exportWeights(): Weights {
    const out: Weights = new Map();
    const shapes = expectedShapes(this.config);
    for (let part: LlamaModel | null = this; part; part = part.next) {
      for (const [name, w] of part.params) {
        let data: Float32Array;
        if (w instanceof QTensor) {
          const tmp = part.engine.alloc(w.length, false);
          part.engine.dequantRows(w, 0, w.rows, tmp);
          data = tmp.f32.slice();
          tmp.free();
        } else data = w.f32.slice();
        out.set(name, { shape: shapes.get(name)!, data });
      }
    }
    return out;
  }

  get parameterCount(): number {
    let n = this.next?.parameterCount ?? 0;
    for (const b of this.params.values()) n += b.length;
    return n;
  }

  /** The part that holds the last layers, the final norm and the output head (this one unless split). */
  get last(): LlamaModel {
    let m: LlamaModel = this;
    while (m.next) m = m.next;
    return m;
  }

  free(): void {
    this.next?.free();
    for (const b of this.params.values()) b.free();
    this.params.clear();
    this.rope.cos.free();
    this.rope.sin.free();
  }
}

/**
 * A copy of the config built at one site, so every model's config has the same hidden class whatever
 * made it (GGUF, Hugging Face, a literal): the per-token code that reads it stays monomorphic, and the
 * warm-up's stand-in model (warm-up.ts) trains V8 on the class the real model uses.
 */
function sameShape(c: LlamaConfig): LlamaConfig {
  return {
    architecture: c.architecture,
    vocabSize: c.vocabSize,
    hiddenSize: c.hiddenSize,
    intermediateSize: c.intermediateSize,
    numLayers: c.numLayers,
    numHeads: c.numHeads,
    numKvHeads: c.numKvHeads,
    headDim: c.headDim,
    contextLength: c.contextLength,
    ropeTheta: c.ropeTheta,
    rmsNormEps: c.rmsNormEps,
    tieWordEmbeddings: c.tieWordEmbeddings,
    attentionBias: c.attentionBias,
  };
}

function f32Param(params: Map<string, Weight>, name: string): Buf {
  const p = params.get(name);
  if (!p || p instanceof QTensor) throw new WeightShapeError(`'${name}' must be a float32 vector`);
  return p;
}

export function initWeights(config: LlamaConfig, seed: number): Weights {
  checkSupported(config);
  const rng = new Rng(seed);
  const w: Weights = new Map();
  const residualStd = 0.02 / Math.sqrt(2 * config.numLayers);
  for (const [name, shape] of expectedShapes(config)) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (name.endsWith("norm.weight")) data.fill(1);
    else if (!name.endsWith(".bias")) {
      const std = /o_proj|down_proj/.test(name) ? residualStd : 0.02;
      for (let i = 0; i < n; i++) data[i] = rng.normal() * std;
    }
    w.set(name, { shape, data });
  }
  return w;
}

/** Keys and values of one sequence for every layer, up to `capacity` positions. */
export class KVCache {
  readonly k: Buf[] = [];
  readonly v: Buf[] = [];
  private readonly blocks: Buf[] = [];
  /** positions filled so far */
  length = 0;

  constructor(
    readonly model: LlamaModel,
    readonly capacity = model.maxContext,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > model.maxContext) {
      throw new ModelInputError(`KV cache capacity must be 1..${model.maxContext}, got ${capacity}`);
    }
    const kvd = model.config.numKvHeads * model.config.headDim;
    // each part keeps its layers' keys and values in its own engine
    try {
      for (let part: LlamaModel | null = model; part; part = part.next) {
        const n = part.end - part.first;
        const block = part.engine.alloc(2 * n * capacity * kvd);
        this.blocks.push(block);
        for (let i = 0; i < n; i++) {
          this.k.push(block.at(2 * i * capacity * kvd, capacity * kvd));
          this.v.push(block.at((2 * i + 1) * capacity * kvd, capacity * kvd));
        }
      }
    } catch (err) {
      this.free();
      throw err;
    }
  }

  /** Forget positions from `length` on (e.g. to reuse a shared prompt prefix). */
  truncate(length: number): void {
    if (length < 0 || length > this.length)
      throw new ModelInputError(`cannot truncate cache of ${this.length} to ${length}`);
    this.length = length;
  }

  free(): void {
    for (const b of this.blocks) b.free();
    this.blocks.length = 0;
  }
}
