// F16 matrices with rows longer than 4096 values are rearranged at load into column panels (F16P, see
// repack_f16_panels): decode, prefill, the input gradient and dequantRows on the rearranged bytes must give
// exactly what the stored rows give, in both builds, with 1 to 4 activation rows, threads that split a
// block of 128 rows, accumulation into the output and row lengths that leave 8-value and single tails,
// panel widths rounded up to 16 values and nine panels. The stored rows run the same kernel, so an
// accumulating decode is also checked against the output plus its own non-accumulating result. Decode
// carries its sums in one block's worth per thread, and the repack at load takes no more scratch than the
// fit check leaves, on any number of threads.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { encodeTensor, GgmlType } from "../src/formats/ggml-types.ts";
import { writeLlamaGguf } from "../src/formats/llama-gguf.ts";
import type { LlamaConfig } from "../src/formats/model-config.ts";
import { Engine, f16RepackScratchBytes } from "../src/kernels/engine.ts";
import { QTensor } from "../src/kernels/qtensor.ts";
import { ModelMemoryError } from "../src/model/errors.ts";
import { loadLlamaGguf } from "../src/model/load-gguf.ts";
import { randomData, randomWeights } from "./formats-util.ts";
import { packedMatrix } from "./helpers/packed.ts";

function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}: element ${i} is ${got[i]}, want ${want[i]}`);
  }
}

/** The stored rows and the same bytes repacked into panels (which must have moved). */
function storedAndPanels(e: Engine, N: number, K: number, seed: number): [QTensor, QTensor] {
  const data = randomData(N * K, seed, 0.05);
  // a few large weights and f16 subnormals among them
  for (let i = 0; i < data.length; i += 997) data[i] = i % 2 ? 6e4 : -3e-6;
  const bytes = encodeTensor("F16", data, "w");
  const stored = packedMatrix(e, "F16", bytes, N, K);
  const panels = packedMatrix(e, "F16", bytes, N, K);
  e.repackForDecode(panels);
  assert.notEqual(panels.kernelType, GgmlType.F16, `[${N}, ${K}] is rearranged`);
  assert.notDeepEqual(panels.bytes.slice(0, 8192), bytes.slice(0, 8192), `[${N}, ${K}]: its bytes moved`);
  return [stored, panels];
}

/**
 * `linear` on the panels equals the stored rows for each M, plain and accumulating; a decode-sized call
 * (M <= 4) accumulating adds the non-accumulating result to the output once (one f32 add an output, where
 * prefill adds as it goes), whichever thread owns a row.
 */
function checkLinear(e: Engine, stored: QTensor, panels: QTensor, Ms: number[], what: string): void {
  const N = stored.rows;
  const K = stored.cols;
  for (const M of Ms) {
    const xs = randomData(M * K, 40 + M, 3);
    xs[5] = 7e4; // beyond 2^15: f16_act_rows scales this row by less than 2^112
    const x = e.from(xs);
    const init = randomData(M * N, 50 + M);
    const plain = e.alloc(M * N);
    e.linear(x, stored, plain, M, N, K);
    const once = init.map((v, i) => v + plain.f32[i]);
    for (const accumulate of [false, true]) {
      const want = e.from(init);
      const got = e.from(init);
      e.linear(x, stored, want, M, N, K, { accumulate });
      e.linear(x, panels, got, M, N, K, { accumulate });
      const tag = `${what} M=${M}${accumulate ? " accumulating" : ""}`;
      sameBits(got.f32, want.f32, `${tag}, panels against stored rows`);
      if (M <= 4)
        sameBits(got.f32, accumulate ? once : plain.f32, `${tag}, against the output plus one product`);
      want.free();
      got.free();
    }
    x.free();
    plain.free();
  }
}

for (const relaxedSimd of [false, true]) {
  describe(`F16 column panels, ${relaxedSimd ? "relaxed" : "plain"} SIMD`, () => {
    let e: Engine;
    let e3: Engine;
    before(async () => {
      e = await Engine.create({ threads: 2, relaxedSimd, maxMemoryMiB: 128 });
      e3 = await Engine.create({ threads: 3, relaxedSimd, maxMemoryMiB: 64 });
    });
    after(async () => {
      await e.close();
      await e3.close();
    });

    test("decode (1 and 4 rows, accumulating), prefill, input gradient and dequantRows equal the stored rows", () => {
      // 4875 = three panels of 1632 (the last 1611: 100 16-value steps, one of 8, three single values);
      // 384 rows: three blocks of 128, which the two threads split in the middle one
      const N = 384;
      const K = 4875;
      const [stored, panels] = storedAndPanels(e, N, K, 31);
      checkLinear(e, stored, panels, [1, 4, 9], `[${N}, ${K}]`);
      for (const M of [1, 4, 9]) {
        const dy = e.from(randomData(M * N, 60 + M));
        const dxWant = e.alloc(M * K);
        const dxGot = e.alloc(M * K);
        e.linearInputGrad(dy, stored, dxWant, M, N, K);
        e.linearInputGrad(dy, panels, dxGot, M, N, K);
        sameBits(dxGot.f32, dxWant.f32, `input gradient M=${M}`);
        for (const b of [dy, dxWant, dxGot]) b.free();
      }
      const rowsWant = e.alloc(3 * K);
      const rowsGot = e.alloc(3 * K);
      e.dequantRows(stored, 126, 129, rowsWant);
      e.dequantRows(panels, 126, 129, rowsGot);
      sameBits(rowsGot.f32, rowsWant.f32, "dequantRows 126..129");
      for (const b of [rowsWant, rowsGot, stored, panels]) b.free();
    });

    test("panel widths rounded up to 16 values (K 4100, 4097) and nine panels (K 19460), 128 rows", () => {
      // 4100 and 4097: two panels of 2064 (an even split, 2050 and 2049, is not a multiple of 16), the
      // last with 4 and 1 single values; 19460: eight panels of 2176 and one of 2052
      for (const K of [4100, 4097, 19460]) {
        const [stored, panels] = storedAndPanels(e, 128, K, K);
        checkLinear(e, stored, panels, [1, 3, 9], `[128, ${K}]`);
        const rowsWant = e.alloc(128 * K);
        const rowsGot = e.alloc(128 * K);
        e.dequantRows(stored, 0, 128, rowsWant);
        e.dequantRows(panels, 0, 128, rowsGot);
        sameBits(rowsGot.f32, rowsWant.f32, `dequantRows [128, ${K}]`);
        for (const b of [rowsWant, rowsGot, stored, panels]) b.free();
      }
    });

    test("three threads whose rows start inside a block (216 and 432 of 640) each add only their own", () => {
      const [stored, panels] = storedAndPanels(e3, 640, 4100, 77);
      checkLinear(e3, stored, panels, [1, 2, 4], "[640, 4100] on 3 threads");
      stored.free();
      panels.free();
    });

    test("decode carries one block's sums per thread: a tall matrix at M=4 leaves the scratch as it was", async () => {
      // one thread: the whole matrix's sums (M·N·64 bytes, 288 KiB here) would outgrow the engine's
      // 256 KiB panel scratch
      const e1 = await Engine.create({ threads: 1, relaxedSimd, maxMemoryMiB: 64 });
      try {
        const K = 4104;
        const [small, smallPanels] = storedAndPanels(e1, 128, K, 5);
        checkLinear(e1, small, smallPanels, [4], `[128, ${K}]`);
        const free = e1.availableBytes;
        const [stored, panels] = storedAndPanels(e1, 1152, K, 6);
        const held = free - e1.availableBytes - stored.bytes.byteLength - panels.bytes.byteLength;
        checkLinear(e1, stored, panels, [4], `[1152, ${K}]`);
        const heldAfter = free - e1.availableBytes - stored.bytes.byteLength - panels.bytes.byteLength;
        assert.equal(heldAfter, held, "decode of the tall matrix took no more scratch");
        for (const b of [small, smallPanels, stored, panels]) b.free();
      } finally {
        await e1.close();
      }
    });

    test("rows up to 4096 long, or a row count not a multiple of 128, stay as stored", () => {
      for (const [rows, cols] of [
        [128, 4096],
        [200, 4875],
      ]) {
        const W = packedMatrix(e, "F16", encodeTensor("F16", randomData(rows * cols, 7), "w"), rows, cols);
        const before = W.bytes.slice();
        e.repackForDecode(W);
        assert.equal(W.kernelType, GgmlType.F16, `[${rows}, ${cols}]`);
        assert.deepEqual(W.bytes, before);
        W.free();
      }
    });
  });
}

describe("F16 column panels at load", () => {
  const dir = mkdtempSync(join(tmpdir(), "ml-f16p-"));
  let e: Engine;
  before(async () => {
    e = await Engine.create({ threads: 8, maxMemoryMiB: 48 });
  });
  after(async () => {
    await e.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("the repack takes at most f16RepackScratchBytes beside the matrix on 8 threads", () => {
    // six blocks of 2 MiB: a block per thread would be 12 MiB, the bound is 8
    const [rows, cols] = [768, 8192];
    const W = packedMatrix(e, "F16", encodeTensor("F16", randomData(rows * cols, 9, 0.05), "w"), rows, cols);
    const top = e.peakBytes;
    e.repackForDecode(W);
    assert.notEqual(W.kernelType, GgmlType.F16);
    const bound = f16RepackScratchBytes(rows, cols);
    assert.equal(bound, 8 << 20);
    assert.ok(
      e.peakBytes - top <= bound,
      `the repack took ${e.peakBytes - top} bytes, the bound is ${bound}`,
    );
    W.free();
  });

  test("a model the fit check accepts with the least room to spare loads on 8 threads", () => {
    // rows of 8192 values: each 128-row block is 2 MiB, so a block per thread would take 16 MiB at load,
    // twice the fit check's working margin for this config
    const config: LlamaConfig = {
      architecture: "llama",
      vocabSize: 256,
      hiddenSize: 8192,
      intermediateSize: 128,
      numLayers: 1,
      numHeads: 4,
      numKvHeads: 2,
      headDim: 32,
      contextLength: 64,
      ropeTheta: 10000,
      rmsNormEps: 1e-5,
      tieWordEmbeddings: true,
      attentionBias: false,
    };
    const path = join(dir, "wide.gguf");
    writeLlamaGguf(path, { config, weights: randomWeights(config, 3), tensorType: "F16" });
    // the fit check refuses before reading any tensor; every filler it accepts must load
    const loads = (filler: number): boolean => {
      const f = filler > 0 ? e.allocBytes(filler) : null;
      try {
        const { model, file } = loadLlamaGguf(e, path, { warmUp: false });
        file.close();
        assert.ok(
          [...model.params.values()].some((w) => w instanceof QTensor && w.kernelType !== w.type),
          "some matrices are in panels",
        );
        model.free();
        return true;
      } catch (err) {
        if (err instanceof ModelMemoryError) return false;
        throw err;
      } finally {
        f?.free();
      }
    };
    const step = 64 << 10;
    let lo = 0;
    let hi = Math.floor(e.availableBytes / step);
    assert.ok(loads(lo) && !loads(hi * step), "the search starts on both sides of the fit");
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (loads(mid * step)) lo = mid;
      else hi = mid;
    }
  });
});
