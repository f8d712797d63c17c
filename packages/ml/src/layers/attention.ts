// The attention block: x += o(attn(rope(q(xn)), rope(k(xn)), v(xn))), xn = rmsnorm(x), causal GQA over
// each sequence (keys and values of earlier positions from its KV cache); forward and backward.
import type { Buf } from "../kernels/engine.ts";
import type { LoraTarget } from "../lora/adapter.ts";
import type { LayerActs } from "../model/forward.ts";
import type { LayerParams } from "../model/llama.ts";
import { linearBackward, linearForward, linearForwardEach } from "./linear.ts";
import { normBackward, normForward } from "./norm.ts";
import type { LayerGrad, LayerPass } from "./pass.ts";

export function attentionForward(p: LayerPass, L: LayerParams, A: LayerActs, x: Buf): void {
  const { e, N, runs, rmax, layer: l, save, pos, model } = p;
  const c = model.config;
  const hd = c.headDim;
  const nHq = c.numHeads;
  const nHkv = c.numKvHeads;
  const qd = nHq * hd;
  const kvd = nHkv * hd;

  if (A.xIn) A.xIn.f32.set(x.f32);
  normForward(e, x, L.attnNorm, A.xn1, A.rstd1, N, c.hiddenSize, c.rmsNormEps);
  // (no closures here: tsx wraps each named one in a property definition, per layer and token)
  linearForwardEach(
    e,
    A.xn1,
    N,
    [
      { W: L.q, bias: L.qBias, out: A.q, target: "q_proj", xa: A.xa.get("q_proj") },
      { W: L.k, bias: L.kBias, out: A.k, target: "k_proj", xa: A.xa.get("k_proj") },
      { W: L.v, bias: L.vBias, out: A.v, target: "v_proj", xa: A.xa.get("v_proj") },
    ],
    runs,
    l,
    rmax,
    save,
  );
  e.rope(A.q, N, qd, nHq, hd, pos, model.rope);
  e.rope(A.k, N, kvd, nHkv, hd, pos, model.rope);
  for (const s of p.seqs) {
    let kk = A.k.at(s.r0 * kvd);
    let vv = A.v.at(s.r0 * kvd);
    if (s.cache) {
      s.cache.k[l].f32.set(A.k.f32.subarray(s.r0 * kvd, (s.r0 + s.n) * kvd), s.S0 * kvd);
      s.cache.v[l].f32.set(A.v.f32.subarray(s.r0 * kvd, (s.r0 + s.n) * kvd), s.S0 * kvd);
      kk = s.cache.k[l];
      vv = s.cache.v[l];
    }
    e.attention({
      q: A.q.at(s.r0 * qd),
      qStride: qd,
      k: kk,
      v: vv,
      kvStride: kvd,
      out: A.ao.at(s.r0 * qd),
      outStride: qd,
      att: A.att.at(s.attOffset),
      T: s.n,
      S0: s.S0,
      nHq,
      nHkv,
      hd,
      scale: 1 / Math.sqrt(hd),
    });
  }
  linearForward(e, A.ao, N, L.o, null, x, true, runs, l, "o_proj", A.xa.get("o_proj"), rmax, save);
}

/** Adds the block's contribution to dX (the residual stream's gradient) and to the weight gradients. */
export function attentionBackward(p: LayerPass, g: LayerGrad, L: LayerParams, A: LayerActs, dX: Buf): void {
  const { e, N, runs, rmax, layer: l, pos, model } = p;
  const c = model.config;
  const qd = c.numHeads * c.headDim;
  const kvd = c.numKvHeads * c.headDim;
  const { dao, dq, dk, dv, dxn, dxa } = g.scratch;
  const full = g.sink.full !== null;
  const lin = (
    dy: Buf,
    x: Buf,
    W: LayerParams["q"],
    dx: Buf,
    acc: boolean,
    t: LoraTarget,
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
      g.gw(`self_attn.${t}.weight`),
      bias && full ? g.gw(`self_attn.${t}.bias`) : null,
      runs,
      l,
      t,
      A.xa.get(t),
      rmax,
      g.sink,
      dxa,
    );
  lin(dX, A.ao, L.o, dao, false, "o_proj", null);
  dq.f32.fill(0);
  dk.f32.fill(0);
  dv.f32.fill(0);
  for (const s of p.seqs) {
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
      scale: 1 / Math.sqrt(c.headDim),
    });
  }
  e.rope(dq, N, qd, c.numHeads, c.headDim, pos, model.rope, true);
  e.rope(dk, N, kvd, c.numKvHeads, c.headDim, pos, model.rope, true);
  lin(dq, A.xn1, L.q, dxn, false, "q_proj", L.qBias);
  lin(dk, A.xn1, L.k, dxn, true, "k_proj", L.kBias);
  lin(dv, A.xn1, L.v, dxn, true, "v_proj", L.vBias);
  normBackward(e, A.xIn!, L.attnNorm, A.rstd1, dxn, dX, g.gw("input_layernorm.weight"), N, c.hiddenSize);
}
