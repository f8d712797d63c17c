// The decoder's forward pass over a flat batch of rows (tokens of one or more sequences), shared by
// inference (keys/values go to each sequence's KV cache) and training (activations kept per layer for
// the backward pass in train/backprop.ts). LoRA updates are applied per run of rows that share an
// adapter: the base matmul covers the whole batch once, each adapter touches only its rows.
import { LORA_TARGETS } from "../formats/lora-formats.ts";
import type { Buf, Engine } from "../kernels/engine.ts";
import { QTensor, type Weight } from "../kernels/qtensor.ts";
import { attentionForward } from "../layers/attention.ts";
import { mlpForward } from "../layers/mlp.ts";
import type { LayerPass } from "../layers/pass.ts";
import type { LoraAdapter, LoraTarget } from "../lora/adapter.ts";
import { ModelInputError } from "./errors.ts";
import type { KVCache, LayerParams, LlamaModel } from "./llama.ts";

export interface SeqRows {
  /** first row of this sequence in the batch */
  r0: number;
  /** rows (new tokens) */
  n: number;
  /** position of the first new token */
  S0: number;
  cache: KVCache | null;
  /** offset of this sequence's attention probabilities in each layer's att buffer */
  attOffset: number;
}

/** Consecutive rows that share one adapter (null: base model only). */
export interface AdapterRun {
  r0: number;
  r1: number;
  adapter: LoraAdapter | null;
}

export interface LayerActs {
  xIn: Buf | null;
  rstd1: Buf;
  xn1: Buf;
  q: Buf;
  k: Buf;
  v: Buf;
  att: Buf;
  ao: Buf;
  xMid: Buf | null;
  rstd2: Buf;
  xn2: Buf;
  g: Buf;
  u: Buf;
  h: Buf;
  /** x·Aᵀ·scale per LoRA target, [N, rmax] */
  xa: Map<LoraTarget, Buf>;
}

export interface PassState {
  N: number;
  seqs: SeqRows[];
  runs: AdapterRun[];
  rmax: number;
  pos: Buf;
  /** residual stream [N, D]; after the pass, the output of the last layer */
  x: Buf;
  /** per layer when saving for backward, otherwise one scratch set */
  acts: LayerActs[];
  /** the model part whose engine holds this state (the last part after the pass) */
  part: LlamaModel;
  /** with activation checkpointing: each layer's input (acts then holds one reusable set) */
  layerInputs: Buf[];
}

export interface PassInput {
  tokens: ArrayLike<number>;
  cache: KVCache | null;
  adapter: LoraAdapter | null;
}

function allocActs(
  e: Engine,
  model: LlamaModel,
  N: number,
  attSize: number,
  rmax: number,
  save: boolean,
): LayerActs {
  const c = model.config;
  const D = c.hiddenSize;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  const F = c.intermediateSize;
  const made: Buf[] = [];
  const alloc = (n: number) => {
    const b = e.alloc(n, false);
    made.push(b);
    return b;
  };
  try {
    return buildActs(alloc, N, D, qd, kvd, F, attSize, rmax, save);
  } catch (err) {
    for (const b of made) b.free();
    throw err;
  }
}

function buildActs(
  alloc: (n: number) => Buf,
  N: number,
  D: number,
  qd: number,
  kvd: number,
  F: number,
  attSize: number,
  rmax: number,
  save: boolean,
): LayerActs {
  const xa = new Map<LoraTarget, Buf>();
  if (rmax > 0) for (const t of LORA_TARGETS) xa.set(t, alloc(N * rmax));
  return {
    xIn: save ? alloc(N * D) : null,
    rstd1: alloc(N),
    xn1: alloc(N * D),
    q: alloc(N * qd),
    k: alloc(N * kvd),
    v: alloc(N * kvd),
    att: alloc(attSize),
    ao: alloc(N * qd),
    xMid: save ? alloc(N * D) : null,
    rstd2: alloc(N),
    xn2: alloc(N * D),
    g: alloc(N * F),
    u: alloc(N * F),
    h: alloc(N * F),
    xa,
  };
}

export function freeState(s: PassState): void {
  s.pos.free();
  s.x.free();
  for (const b of s.layerInputs) b.free();
  for (const a of s.acts) {
    for (const b of [
      a.xIn,
      a.rstd1,
      a.xn1,
      a.q,
      a.k,
      a.v,
      a.att,
      a.ao,
      a.xMid,
      a.rstd2,
      a.xn2,
      a.g,
      a.u,
      a.h,
    ])
      b?.free();
    for (const b of a.xa.values()) b.free();
  }
}

/** Splits rows into runs of one adapter. Inputs must already be grouped by adapter for one run each. */
function adapterRuns(inputs: PassInput[], seqs: SeqRows[]): AdapterRun[] {
  const runs: AdapterRun[] = [];
  inputs.forEach((inp, i) => {
    const last = runs[runs.length - 1];
    const s = seqs[i];
    if (last && last.adapter === inp.adapter && last.r1 === s.r0) last.r1 = s.r0 + s.n;
    else runs.push({ r0: s.r0, r1: s.r0 + s.n, adapter: inp.adapter });
  });
  return runs;
}

/** The embedding of one token into `out` (D values), from f32 or packed embeddings. */
function embedRow(e: Engine, embed: Weight, token: number, out: Buf): void {
  if (embed instanceof QTensor) e.dequantRows(embed, token, token + 1, out);
  else out.f32.set(embed.f32.subarray(token * out.length, (token + 1) * out.length));
}

/** Runs every layer over the inputs; the caller turns state.x into logits and frees the state. */
/**
 * Runs every layer over the inputs; the caller turns state.x into logits and frees the state. `save`
 * keeps every layer's activations for the backward pass; with `checkpoint` only each layer's input is
 * kept (one set of activations is reused) and the backward pass recomputes a layer before its gradient.
 */
export function forwardPass(
  model: LlamaModel,
  inputs: PassInput[],
  save: boolean,
  checkpoint = false,
): PassState {
  const e = model.engine;
  const c = model.config;
  const D = c.hiddenSize;
  const nHq = c.numHeads;
  const nHkv = c.numKvHeads;
  const F = c.intermediateSize;
  const V = c.vocabSize;

  const seqs: SeqRows[] = [];
  let N = 0;
  let attSize = 0;
  let rmax = 0;
  for (const inp of inputs) {
    const n = inp.tokens.length;
    if (n === 0) throw new ModelInputError("a sequence in the batch has no tokens");
    const S0 = inp.cache ? inp.cache.length : 0;
    const cap = inp.cache ? inp.cache.capacity : model.maxContext;
    if (S0 + n > cap) {
      throw new ModelInputError(
        `${n} new tokens after ${S0} cached ones exceed the context of ${cap} positions; shorten the prompt or raise maxContext`,
      );
    }
    seqs.push({ r0: N, n, S0, cache: inp.cache, attOffset: attSize });
    N += n;
    attSize += nHq * n * (S0 + n);
    if (inp.adapter) {
      const ac = inp.adapter.config;
      if (
        ac.hiddenSize !== D ||
        ac.numLayers !== c.numLayers ||
        ac.intermediateSize !== F ||
        ac.numKvHeads !== nHkv
      ) {
        throw new ModelInputError("the adapter was made for a base model of different shape");
      }
      rmax = Math.max(rmax, inp.adapter.maxRank);
    }
  }
  const runs = adapterRuns(inputs, seqs);
  if (model.next && (save || rmax > 0)) {
    throw new ModelInputError(
      "a model split across engines serves without adapters and cannot train; load a smaller quantisation to use LoRA",
    );
  }

  seqs.forEach((s, i) => {
    const toks = inputs[i].tokens;
    for (let j = 0; j < s.n; j++) {
      const t = toks[j];
      if (!Number.isInteger(t) || t < 0 || t >= V)
        throw new ModelInputError(`token id ${t} outside the vocabulary of ${V}`);
    }
  });
  // fully written below (positions, embeddings), so not zeroed
  const pos = e.alloc(N, false);
  const x = e.alloc(N * D, false);
  const acts: LayerActs[] = [];
  const layerInputs: Buf[] = [];
  try {
    const sets = save && !checkpoint ? c.numLayers : 1;
    for (let l = 0; l < sets; l++) acts.push(allocActs(e, model, N, attSize, rmax, save));
    if (save && checkpoint) for (let l = 0; l < c.numLayers; l++) layerInputs.push(e.alloc(N * D, false));
  } catch (err) {
    freeState({ N, seqs, runs, rmax, pos, x, acts, part: model, layerInputs });
    throw err;
  }
  const pv = pos.i32;
  seqs.forEach((s, i) => {
    const toks = inputs[i].tokens;
    for (let j = 0; j < s.n; j++) {
      pv[s.r0 + j] = s.S0 + j;
      embedRow(e, model.embed, toks[j], x.at((s.r0 + j) * D, D));
    }
  });
  let state: PassState = { N, seqs, runs, rmax, pos, x, acts, part: model, layerInputs };
  for (;;) {
    const part = state.part;
    for (let l = part.first; l < part.end; l++) {
      const L: LayerParams = part.layers[l - part.first];
      const A = state.acts[save && !checkpoint ? l : 0];
      if (save && checkpoint) layerInputs[l].f32.set(state.x.f32);
      const p: LayerPass = {
        e: part.engine,
        model: part,
        layer: l,
        N,
        seqs,
        runs,
        rmax,
        pos: state.pos,
        save,
      };
      attentionForward(p, L, A, state.x);
      mlpForward(p, L, A, state.x);
    }
    if (!part.next) break;
    state = handOff(state, part.next, attSize);
  }
  for (const s of seqs) if (s.cache) s.cache.length = s.S0 + s.n;
  return state;
}

/** Moves a pass to the next part of a split model: positions and residual stream copied to its engine. */
function handOff(st: PassState, next: LlamaModel, attSize: number): PassState {
  const e = next.engine;
  const pos = e.alloc(st.N, false);
  const x = e.alloc(st.x.length, false);
  let acts: LayerActs[];
  try {
    acts = [allocActs(e, next, st.N, attSize, 0, false)];
  } catch (err) {
    pos.free();
    x.free();
    freeState(st);
    throw err;
  }
  pos.i32.set(st.pos.i32);
  x.f32.set(st.x.f32);
  freeState(st);
  return { ...st, pos, x, acts, part: next, layerInputs: [] };
}
