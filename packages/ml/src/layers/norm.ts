// RMSNorm: y = x / rms(x) · w, and its backward (dx accumulated; dw accumulated when training norms).
import type { Buf, Engine } from "../kernels/engine.ts";

/** out = rmsnorm(x)·w over N rows of D; keeps 1/rms per row in rstd for the backward pass. */
export function normForward(
  e: Engine,
  x: Buf,
  w: Buf,
  out: Buf,
  rstd: Buf,
  N: number,
  D: number,
  eps: number,
): void {
  e.rmsnorm(x, w, out, rstd, N, D, eps);
}

/** dx += ∂loss/∂x from dy; dw += ∂loss/∂w when given. */
export function normBackward(
  e: Engine,
  x: Buf,
  w: Buf,
  rstd: Buf,
  dy: Buf,
  dx: Buf,
  dw: Buf | null,
  N: number,
  D: number,
): void {
  e.rmsnormBackward(x, w, rstd, dy, dx, dw, N, D);
}
