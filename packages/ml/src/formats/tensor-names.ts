// Hugging Face <-> GGUF tensor names for LLaMA-family decoders, and llama.cpp's q/k row order.

const layerParts: [hf: string, gguf: string][] = [
  ["input_layernorm", "attn_norm"],
  ["post_attention_layernorm", "ffn_norm"],
  ["self_attn.q_proj", "attn_q"],
  ["self_attn.k_proj", "attn_k"],
  ["self_attn.v_proj", "attn_v"],
  ["self_attn.o_proj", "attn_output"],
  ["mlp.gate_proj", "ffn_gate"],
  ["mlp.up_proj", "ffn_up"],
  ["mlp.down_proj", "ffn_down"],
];
const hfToGgufPart = new Map(layerParts);
const ggufToHfPart = new Map(layerParts.map(([h, g]) => [g, h]));
const globals: [string, string][] = [
  ["model.embed_tokens", "token_embd"],
  ["model.norm", "output_norm"],
  ["lm_head", "output"],
];

/** "model.layers.3.self_attn.q_proj.weight" -> "blk.3.attn_q.weight"; undefined if not a decoder tensor. */
export function hfToGgufName(name: string): string | undefined {
  const m = /^model\.layers\.(\d+)\.(.+)\.(weight|bias)$/.exec(name);
  if (m) {
    const part = hfToGgufPart.get(m[2]);
    return part && `blk.${m[1]}.${part}.${m[3]}`;
  }
  for (const [hf, g] of globals) if (name === `${hf}.weight`) return `${g}.weight`;
  return undefined;
}

export function ggufToHfName(name: string): string | undefined {
  const m = /^blk\.(\d+)\.(\w+)\.(weight|bias)$/.exec(name);
  if (m) {
    const part = ggufToHfPart.get(m[2]);
    return part && `model.layers.${m[1]}.${part}.${m[3]}`;
  }
  for (const [hf, g] of globals) if (name === `${g}.weight`) return `${hf}.weight`;
  return undefined;
}

/**
 * llama.cpp's "llama" architecture rotates adjacent pairs (x0,x1),(x2,x3)... while Hugging Face checkpoints
 * rotate halves (x_i, x_{i+d/2}). The converter reorders q/k output rows per head so both agree:
 * GGUF row 2i is HF row i and GGUF row 2i+1 is HF row i+d/2. `rows` may be a weight or a bias.
 */
export function permuteRowsForGguf(data: Float32Array, rows: number, headDim: number): Float32Array {
  return reorderRows(data, rows, headDim, (i) => (i % 2 === 0 ? i / 2 : (i - 1) / 2 + headDim / 2));
}

/** Inverse of permuteRowsForGguf. */
export function unpermuteRowsFromGguf(data: Float32Array, rows: number, headDim: number): Float32Array {
  return reorderRows(data, rows, headDim, (i) => (i < headDim / 2 ? 2 * i : 2 * (i - headDim / 2) + 1));
}

function reorderRows(data: Float32Array, rows: number, headDim: number, source: (i: number) => number) {
  const cols = data.length / rows;
  const out = new Float32Array(data.length);
  for (let r = 0; r < rows; r++) {
    const head = Math.floor(r / headDim);
    const from = head * headDim + source(r % headDim);
    out.set(data.subarray(from * cols, from * cols + cols), r * cols);
  }
  return out;
}

/** Whether llama.cpp applies pairwise (non-NeoX) RoPE to this architecture, so q/k rows are permuted. */
export function usesPairwiseRope(architecture: string): boolean {
  return architecture === "llama";
}
