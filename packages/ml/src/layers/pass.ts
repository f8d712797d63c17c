// What a decoder layer's forward and backward need besides its own weights and activations.
import type { Buf, Engine } from "../kernels/engine.ts";
import type { AdapterRun, SeqRows } from "../model/forward.ts";
import type { LlamaModel } from "../model/llama.ts";
import type { GradSink } from "../train/backprop.ts";

/** The batch as one layer sees it: rows, their sequences and positions, and the adapter runs. */
export interface LayerPass {
  e: Engine;
  model: LlamaModel;
  layer: number;
  /** rows in the batch */
  N: number;
  seqs: SeqRows[];
  runs: AdapterRun[];
  /** largest LoRA rank among the runs (stride of the x·Aᵀ buffers) */
  rmax: number;
  /** position of each row */
  pos: Buf;
  /** training: activations are kept per layer and matmuls stay exact */
  save: boolean;
}

/** Scratch gradients shared by all layers of one backward pass (sizes from the config and N). */
export interface LayerScratch {
  dh: Buf;
  dg: Buf;
  du: Buf;
  dxn: Buf;
  dao: Buf;
  dq: Buf;
  dk: Buf;
  dv: Buf;
  /** [N, rmax]: dy·B for the LoRA runs */
  dxa: Buf;
}

/** Where one layer's gradients go. */
export interface LayerGrad {
  sink: GradSink;
  /** the full-weight gradient buffer of this layer's parameter `name` (e.g. "mlp.up_proj.weight"), or null */
  gw: (name: string) => Buf | null;
  scratch: LayerScratch;
}
