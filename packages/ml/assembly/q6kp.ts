// Prefill on Q6_K matrices kept in the decode layout Q6K_P (quant.ts): each panel of rows is written back
// in the stored layout into a per-thread buffer and run through the integer GEMM of qgemm.ts, which reads
// Q6_K as stored. The copy is a few operations a weight byte against the GEMM's M multiply-adds a value.
import { mmq_abt } from "./qgemm";
import { q6p_to_stored } from "./quant";

const Q6_K: i32 = 14;

/**
 * As mmq_abt for a Q6K_P matrix: rows n0..n1 P at a time (P and n0 multiples of 4), tmp holds P rows of
 * rowBytes.
 */
export function mmq_q6p(aq: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32, scratch: usize, P: i32, tmp: usize): void {
  const nsb = K >> 8;
  for (let nb = n0; nb < n1; nb += P) {
    const ne = min(nb + P, n1);
    for (let r = nb; r < ne; r++) {
      for (let b = 0; b < nsb; b++) {
        const o = <usize>b * 210;
        q6p_to_stored(w + <usize>r * rowBytes + o, tmp + <usize>(r - nb) * rowBytes + o);
      }
    }
    mmq_abt(Q6_K, aq, tmp, rowBytes, c + (<usize>nb << 2), ldc, K, m0, m1, 0, ne - nb, accumulate, scratch, P);
  }
}
