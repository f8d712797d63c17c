// The SwiGLU MLP block: x += down(silu(gate(xn)) · up(xn)), xn = rmsnorm(x); forward and backward.
import type { Buf } from "../kernels/engine.ts";
import type { LayerActs } from "../model/forward.ts";
import type { LayerParams } from "../model/llama.ts";
import { linearBackward, linearForward, linearForwardEach } from "./linear.ts";
import { normBackward, normForward } from "./norm.ts";
import type { LayerGrad, LayerPass } from "./pass.ts";

export function mlpForward(p: LayerPass, L: LayerParams, A: LayerActs, x: Buf): void {
  const { e, N, runs, rmax, layer, save } = p;
  const c = p.model.config;
  if (A.xMid) A.xMid.f32.set(x.f32);
  normForward(e, x, L.ffnNorm, A.xn2, A.rstd2, N, c.hiddenSize, c.rmsNormEps);
  linearForwardEach(
    e,
    A.xn2,
    N,
    [
      { W: L.gate, bias: null, out: A.g, target: "gate_proj", xa: A.xa.get("gate_proj") },
      { W: L.up, bias: null, out: A.u, target: "up_proj", xa: A.xa.get("up_proj") },
    ],
    runs,
    layer,
    rmax,
    save,
  );
  e.swiglu(A.g, A.u, A.h, N * c.intermediateSize);
  linearForward(
    e,
    A.h,
    N,
    L.down,
    null,
    x,
    true,
    runs,
    layer,
    "down_proj",
    A.xa.get("down_proj"),
    rmax,
    save,
  );
}

/** Adds the block's contribution to dX (the residual stream's gradient) and to the weight gradients. */
export function mlpBackward(p: LayerPass, g: LayerGrad, L: LayerParams, A: LayerActs, dX: Buf): void {
  const { e, N, runs, rmax, layer } = p;
  const c = p.model.config;
  const { dh, dg, du, dxn, dxa } = g.scratch;
  const lin = (
    dy: Buf,
    x: Buf,
    W: LayerParams["down"],
    dx: Buf,
    acc: boolean,
    t: "down_proj" | "gate_proj" | "up_proj",
  ) =>
    linearBackward(
      e,
      dy,
      x,
      N,
      W,
      dx,
      acc,
      g.gw(`mlp.${t}.weight`),
      null,
      runs,
      layer,
      t,
      A.xa.get(t),
      rmax,
      g.sink,
      dxa,
    );
  lin(dX, A.h, L.down, dh, false, "down_proj");
  e.swigluBackward(A.g, A.u, dh, dg, du, N * c.intermediateSize);
  lin(dg, A.xn2, L.gate, dxn, false, "gate_proj");
  lin(du, A.xn2, L.up, dxn, true, "up_proj");
  normBackward(
    e,
    A.xMid!,
    L.ffnNorm,
    A.rstd2,
    dxn,
    dX,
    g.gw("post_attention_layernorm.weight"),
    N,
    c.hiddenSize,
  );
}
