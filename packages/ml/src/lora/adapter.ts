import { LORA_TARGETS, type LoraAdapterFile } from "../formats/lora-formats.ts";
import type { LlamaConfig, Weights } from "../formats/model-config.ts";
import type { Buf, Engine } from "../kernels/engine.ts";
import { Rng } from "../kernels/rng.ts";
import { WeightShapeError } from "../model/errors.ts";

export type LoraTarget = (typeof LORA_TARGETS)[number];

/** One adapted projection: ΔW = scale · B·A with A [rank, in] and B [out, rank]. */
export interface LoraSlot {
  A: Buf;
  B: Buf;
  rank: number;
  scale: number;
  inDim: number;
  outDim: number;
}

export interface LoraOptions {
  rank: number;
  alpha: number;
  targets: LoraTarget[];
}

/** Input and output sizes of each adaptable projection. */
export function projectionDims(c: LlamaConfig, target: LoraTarget): { inDim: number; outDim: number } {
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const D = c.hiddenSize;
  const F = c.intermediateSize;
  switch (target) {
    case "q_proj":
      return { inDim: D, outDim: q };
    case "k_proj":
    case "v_proj":
      return { inDim: D, outDim: kv };
    case "o_proj":
      return { inDim: q, outDim: D };
    case "gate_proj":
    case "up_proj":
      return { inDim: D, outDim: F };
    case "down_proj":
      return { inDim: F, outDim: D };
  }
}

export function moduleName(layer: number, target: LoraTarget): string {
  const group = ["gate_proj", "up_proj", "down_proj"].includes(target) ? "mlp" : "self_attn";
  return `model.layers.${layer}.${group}.${target}`;
}

function checkOptions(o: LoraOptions): void {
  if (!Number.isInteger(o.rank) || o.rank < 1 || o.rank > 1024) {
    throw new WeightShapeError(`LoRA rank must be an integer in 1..1024, got ${o.rank}`);
  }
  if (!(o.alpha > 0)) throw new WeightShapeError(`LoRA alpha must be positive, got ${o.alpha}`);
  if (o.targets.length === 0) throw new WeightShapeError("LoRA needs at least one target module");
  for (const t of o.targets) {
    if (!LORA_TARGETS.includes(t)) {
      throw new WeightShapeError(`unknown LoRA target '${t}'; use any of ${LORA_TARGETS.join(", ")}`);
    }
  }
}

/** A LoRA adapter living in the engine's memory, one slot per (layer, target). */
export class LoraAdapter {
  /** slots[layer].get(target) */
  readonly slots: Map<LoraTarget, LoraSlot>[];
  private freed = false;

  private constructor(
    readonly engine: Engine,
    readonly config: LlamaConfig,
    readonly options: LoraOptions,
  ) {
    checkOptions(options);
    this.slots = Array.from({ length: config.numLayers }, () => new Map());
  }

  /** A fresh adapter: A ~ N(0, 1/in) from the seed, B = 0, so it starts as the identity update. */
  static create(engine: Engine, config: LlamaConfig, options: LoraOptions, seed: number): LoraAdapter {
    const a = new LoraAdapter(engine, config, { ...options, targets: [...options.targets] });
    const rng = new Rng(seed);
    for (let l = 0; l < config.numLayers; l++) {
      for (const t of options.targets) {
        const { inDim, outDim } = projectionDims(config, t);
        const A = engine.alloc(options.rank * inDim);
        const av = A.f32;
        const std = 1 / Math.sqrt(inDim);
        for (let i = 0; i < av.length; i++) av[i] = rng.normal() * std;
        a.slots[l].set(t, {
          A,
          B: engine.alloc(outDim * options.rank),
          rank: options.rank,
          scale: options.alpha / options.rank,
          inDim,
          outDim,
        });
      }
    }
    return a;
  }

  /** Loads an adapter from its file form (PEFT or GGUF, read by the formats module). */
  static fromFile(engine: Engine, config: LlamaConfig, file: LoraAdapterFile): LoraAdapter {
    const targets = new Set<LoraTarget>();
    for (const name of file.weights.keys()) {
      const m = /\.(\w+_proj)\.lora_[AB]\.weight$/.exec(name);
      if (!m) throw new WeightShapeError(`adapter tensor '${name}' is not a LoRA A/B weight`);
      targets.add(m[1] as LoraTarget);
    }
    const a = new LoraAdapter(engine, config, { rank: file.rank, alpha: file.alpha, targets: [...targets] });
    for (const [name, t] of file.weights) {
      const m = /^model\.layers\.(\d+)\.(?:self_attn|mlp)\.(\w+)\.lora_([AB])\.weight$/.exec(name);
      if (!m)
        throw new WeightShapeError(`adapter tensor '${name}' is not a LoRA A/B weight of a decoder layer`);
      const layer = Number(m[1]);
      if (layer >= config.numLayers) {
        a.free();
        throw new WeightShapeError(
          `adapter tensor '${name}' targets layer ${layer}; the base has ${config.numLayers}`,
        );
      }
      const target = m[2] as LoraTarget;
      const { inDim, outDim } = projectionDims(config, target);
      const want = m[3] === "A" ? [file.rank, inDim] : [outDim, file.rank];
      if (t.data.length !== want[0] * want[1]) {
        a.free();
        throw new WeightShapeError(
          `adapter tensor '${name}' has ${t.data.length} values (shape [${t.shape.join(", ")}]) but the base model needs [${want.join(", ")}]`,
        );
      }
      let slot = a.slots[layer].get(target);
      if (!slot) {
        slot = {
          A: engine.alloc(file.rank * inDim),
          B: engine.alloc(outDim * file.rank),
          rank: file.rank,
          scale: file.alpha / file.rank,
          inDim,
          outDim,
        };
        a.slots[layer].set(target, slot);
      }
      (m[3] === "A" ? slot.A : slot.B).f32.set(t.data);
    }
    return a;
  }

  /** The file form, with PEFT tensor names; copies out of engine memory. */
  toFile(baseModel?: string): LoraAdapterFile {
    const weights: Weights = new Map();
    this.slots.forEach((m, l) => {
      for (const [t, s] of m) {
        weights.set(`${moduleName(l, t)}.lora_A.weight`, { shape: [s.rank, s.inDim], data: s.A.f32.slice() });
        weights.set(`${moduleName(l, t)}.lora_B.weight`, {
          shape: [s.outDim, s.rank],
          data: s.B.f32.slice(),
        });
      }
    });
    return {
      rank: this.options.rank,
      alpha: this.options.alpha,
      targetModules: [...this.options.targets],
      weights,
      ...(baseModel ? { baseModel } : {}),
    };
  }

  /** Every slot in a fixed order (layer, then target order), for optimisers and gradients. */
  orderedSlots(): LoraSlot[] {
    const out: LoraSlot[] = [];
    for (const m of this.slots) for (const t of LORA_TARGETS) if (m.has(t)) out.push(m.get(t)!);
    return out;
  }

  get parameterCount(): number {
    return this.orderedSlots().reduce((s, x) => s + x.A.length + x.B.length, 0);
  }

  get maxRank(): number {
    return this.options.rank;
  }

  free(): void {
    if (this.freed) return;
    this.freed = true;
    for (const m of this.slots) {
      for (const s of m.values()) {
        s.A.free();
        s.B.free();
      }
    }
  }
}
