import { LORA_TARGETS, type LoraAdapterFile, type Weights } from "@openledger/ml";

/**
 * Several adapters applied together with weights, as one adapter: Σ wᵢ·sᵢ·Bᵢ·Aᵢ equals
 * [w₁s₁B₁ | w₂s₂B₂ | …]·[A₁; A₂; …] with scale 1, so the ensemble runs as one row segment of
 * rank Σ rᵢ. Modules an adapter does not target get zero blocks.
 */
export function combineAdapters(parts: { file: LoraAdapterFile; weight: number }[]): LoraAdapterFile {
  const rank = parts.reduce((s, p) => s + p.file.rank, 0);
  const modules = new Set<string>();
  const shapes = new Map<string, { inDim: number; outDim: number }>();
  for (const { file } of parts) {
    for (const [name, t] of file.weights) {
      const m = /^(.+)\.lora_([AB])\.weight$/.exec(name);
      if (!m) continue;
      modules.add(m[1]);
      const s = shapes.get(m[1]) ?? { inDim: 0, outDim: 0 };
      if (m[2] === "A") s.inDim = t.shape[1];
      else s.outDim = t.shape[0];
      shapes.set(m[1], s);
    }
  }
  const weights: Weights = new Map();
  for (const mod of [...modules].sort()) {
    const { inDim, outDim } = shapes.get(mod)!;
    const A = new Float32Array(rank * inDim);
    const B = new Float32Array(outDim * rank);
    let r0 = 0;
    for (const { file, weight } of parts) {
      const a = file.weights.get(`${mod}.lora_A.weight`);
      const b = file.weights.get(`${mod}.lora_B.weight`);
      const r = file.rank;
      if (a && b) {
        A.set(a.data, r0 * inDim);
        const scale = (weight * file.alpha) / r;
        for (let o = 0; o < outDim; o++)
          for (let k = 0; k < r; k++) B[o * rank + r0 + k] = scale * b.data[o * r + k];
      }
      r0 += r;
    }
    weights.set(`${mod}.lora_A.weight`, { shape: [rank, inDim], data: A });
    weights.set(`${mod}.lora_B.weight`, { shape: [outDim, rank], data: B });
  }
  const targets = LORA_TARGETS.filter((t) => [...modules].some((m) => m.endsWith(`.${t}`)));
  // alpha = rank makes the engine's scale alpha/rank exactly 1
  return { rank, alpha: rank, targetModules: [...targets], weights };
}
