// Prefill on matrices kept in a decode layout (quant.ts): Q6_K permuted (Q6K_P) and Q4_K/Q5_K with four
// rows interleaved (Q4K_X4, Q5K_X4). Each panel of rows is written back in the stored layout into a
// per-thread buffer and run through the integer GEMM of qgemm.ts, which reads the types as stored. The
// copy is a few operations a weight byte against the GEMM's M multiply-adds a value.
import { mmq_abt } from "./qgemm";
import { kx4_to_stored, q6p_to_stored } from "./quant";

const Q4_K: i32 = 12;
const Q5_K: i32 = 13;
const Q6_K: i32 = 14;
const Q4K_X4: i32 = 112;
const Q5K_X4: i32 = 113;

/**
 * As mmq_abt for a Q6K_P, Q4K_X4 or Q5K_X4 matrix (`type`): rows n0..n1 P at a time (P and n0 multiples
 * of 4), tmp holds P rows of rowBytes.
 */
export function mmq_restored(type: i32, aq: usize, w: usize, rowBytes: i32, c: usize, ldc: i32, K: i32, m0: i32, m1: i32, n0: i32, n1: i32, accumulate: i32, scratch: usize, P: i32, tmp: usize): void {
  const nsb = K >> 8;
  const kx4 = type == Q4K_X4 || type == Q5K_X4;
  const five = type == Q5K_X4 ? 1 : 0;
  const bs: usize = type == Q4K_X4 ? 144 : type == Q5K_X4 ? 176 : 210;
  for (let nb = n0; nb < n1; nb += P) {
    const ne = min(nb + P, n1);
    for (let r = nb; r < ne; r++) {
      const row = tmp + <usize>(r - nb) * rowBytes;
      for (let b = 0; b < nsb; b++) {
        const o = <usize>b * bs;
        if (kx4) kx4_to_stored(w + <usize>(r >> 2) * (<usize>rowBytes << 2) + (o << 2), r & 3, row + o, five);
        else q6p_to_stored(w + <usize>r * rowBytes + o, row + o);
      }
    }
    const stored = kx4 ? (five ? Q5_K : Q4_K) : Q6_K;
    mmq_abt(stored, aq, tmp, rowBytes, c + (<usize>nb << 2), ldc, K, m0, m1, 0, ne - nb, accumulate, scratch, P);
  }
}
