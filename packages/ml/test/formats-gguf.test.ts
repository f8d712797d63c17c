import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { mulberry32 as seeded } from "@openledger/common";
import fc from "fast-check";
import { FormatError, UnsupportedTensorTypeError } from "../src/formats/errors.ts";
import { decodeTensor, encodeTensor, GgmlType } from "../src/formats/ggml-types.ts";
import { GgufFile } from "../src/formats/gguf-read.ts";
import { GgufValueType, gguf } from "../src/formats/gguf-values.ts";
import { encodeGguf, writeGguf } from "../src/formats/gguf-write.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../src/formats/half.ts";

const dir = mkdtempSync(join(tmpdir(), "ml-gguf-"));
after(() => rmSync(dir, { recursive: true, force: true }));

function randomData(n: number, seed: number): Float32Array {
  const r = seeded(seed);
  return Float32Array.from({ length: n }, () => (r() - 0.5) * 4);
}

describe("half precision", () => {
  test("f16 known values", () => {
    assert.equal(f32ToF16(1), 0x3c00);
    assert.equal(f32ToF16(-2), 0xc000);
    assert.equal(f32ToF16(65504), 0x7bff);
    assert.equal(f32ToF16(65520), 0x7c00); // rounds to infinity
    assert.equal(f32ToF16(2 ** -24), 0x0001);
    assert.equal(f16ToF32(0x0001), 2 ** -24);
    assert.equal(f16ToF32(0x7bff), 65504);
    assert.ok(Number.isNaN(f16ToF32(f32ToF16(Number.NaN))));
  });

  test("every f16 bit pattern survives f16 -> f32 -> f16", () => {
    for (let h = 0; h < 0x10000; h++) {
      const v = f16ToF32(h);
      if (Number.isNaN(v)) continue;
      assert.equal(f32ToF16(v), h, `pattern ${h.toString(16)}`);
    }
  });

  test("f16 rounds to nearest, ties to even", () => {
    assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // halfway between 1 and next: even is 1
    assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02);
  });

  test("bf16 round trip and rounding", () => {
    for (let b = 0; b < 0x10000; b += 7) {
      const v = bf16ToF32(b);
      if (Number.isNaN(v)) continue;
      assert.equal(f32ToBf16(v), b);
    }
    assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80);
  });
});

describe("tensor encodings", () => {
  test("Q8_0 quantise then dequantise stays within half a step (plus f16 scale rounding)", () => {
    const data = randomData(32 * 8, 1);
    const back = decodeTensor(GgmlType.Q8_0, encodeTensor("Q8_0", data, "t"), data.length, "t");
    for (let b = 0; b < 8; b++) {
      const block = data.subarray(b * 32, b * 32 + 32);
      const step = Math.max(...block.map(Math.abs)) / 127;
      for (let j = 0; j < 32; j++)
        assert.ok(Math.abs(back[b * 32 + j] - block[j]) <= step * (0.5 + 127 * 2 ** -11));
    }
  });

  test("Q8_0 hand vector", () => {
    const data = new Float32Array(32);
    data[0] = 127;
    data[1] = -63.5;
    const bytes = encodeTensor("Q8_0", data, "t");
    assert.equal(bytes.length, 34);
    assert.equal(bytes[0] | (bytes[1] << 8), 0x3c00); // scale 1.0
    assert.equal(bytes[2], 127);
    assert.equal((bytes[3] << 24) >> 24, -64); // -63.5 rounds away from zero
  });

  test("Q4_0 hand vector decodes", () => {
    const block = new Uint8Array(18);
    block[0] = 0x00;
    block[1] = 0x40; // f16 2.0
    block[2] = 0x9f; // element 0: 0xf-8 = 7, element 16: 0x9-8 = 1
    const out = decodeTensor(GgmlType.Q4_0, block, 32, "t");
    assert.equal(out[0], 14);
    assert.equal(out[16], 2);
    assert.equal(out[1], -16);
  });

  for (const [type, levels] of [
    ["Q4_K", 15],
    ["Q5_K", 31],
    ["Q6_K", 63],
  ] as const) {
    test(`${type} encode then decode stays within one quantisation step of each 16-32 value group`, () => {
      const data = randomData(256 * 3, 6);
      data.fill(0, 256, 512); // an all-zero super-block
      const bytes = encodeTensor(type, data, "t");
      assert.equal(bytes.length, 3 * { Q4_K: 144, Q5_K: 176, Q6_K: 210 }[type]);
      const back = decodeTensor(GgmlType[type], bytes, data.length, "t");
      const range = 4; // randomData spans [-2, 2)
      for (let i = 0; i < data.length; i++) {
        assert.ok(
          Math.abs(back[i] - data[i]) <= (range / levels) * 1.2,
          `${type} element ${i}: ${back[i]} vs ${data[i]}`,
        );
      }
      for (let i = 256; i < 512; i++) assert.equal(back[i], 0);
    });
  }

  for (const [type, levels] of [
    ["Q4_0", 14],
    ["Q4_1", 15],
    ["Q5_0", 30],
    ["Q5_1", 31],
  ] as const) {
    test(`${type} encode then decode stays within one quantisation step per block`, () => {
      const data = randomData(32 * 6, 10);
      data.fill(0, 32, 64);
      const back = decodeTensor(GgmlType[type], encodeTensor(type, data, "t"), data.length, "t");
      for (let i = 0; i < data.length; i++) {
        assert.ok(
          Math.abs(back[i] - data[i]) <= (4 / levels) * 0.6,
          `${type} element ${i}: ${back[i]} vs ${data[i]}`,
        );
      }
      for (let i = 32; i < 64; i++) assert.equal(back[i], 0);
    });
  }

  test("Q5_1 hand vector: high bits come from the 32-bit word", () => {
    const block = new Uint8Array(24);
    block[1] = 0x3c; // d = 1
    block[3] = 0xbc; // m = -1
    new DataView(block.buffer).setUint32(4, (1 << 0) | (1 << 17), true); // value 0 and value 17 get bit 4
    block[8] = 0x32; // value 0 low nibble 2, value 16 low nibble 3
    block[9] = 0x45; // value 1 low 5, value 17 low 4
    const out = decodeTensor(GgmlType.Q5_1, block, 32, "t");
    assert.deepEqual([out[0], out[16], out[1], out[17]], [18 - 1, 3 - 1, 5 - 1, 20 - 1]);
  });

  test("Q6_K hand vector: one super-block with scale 1", () => {
    const block = new Uint8Array(210);
    block[208] = 0x00;
    block[209] = 0x3c; // d = 1
    block.fill(1, 192, 208); // all 16 scales 1
    block[0] = 0x21; // element 0 low nibble 1, element 64 low nibble 2
    block[128] = 0b10_00_00_11; // element 0 high bits 3, element 96 high bits 2
    const out = decodeTensor(GgmlType.Q6_K, block, 256, "t");
    assert.equal(out[0], (1 | (3 << 4)) - 32);
    assert.equal(out[64], 2 - 32);
    assert.equal(out[96], (2 << 4) - 32);
    assert.equal(out[1], -32);
  });

  test("unsupported type is named", () => {
    assert.throws(
      () => decodeTensor(GgmlType.IQ2_XS, new Uint8Array(144), 256, "blk.0.ffn_up.weight"),
      (e: Error) =>
        e instanceof UnsupportedTensorTypeError &&
        /blk\.0\.ffn_up\.weight/.test(e.message) &&
        /IQ2_XS/.test(e.message),
    );
  });
});

const metadata = () =>
  new Map([
    ["general.architecture", gguf.str("llama")],
    ["general.alignment", gguf.u32(64)],
    ["t.u8", gguf.u8(255)],
    ["t.i8", gguf.i8(-128)],
    ["t.u16", gguf.u16(65535)],
    ["t.i16", gguf.i16(-32768)],
    ["t.u32", gguf.u32(4294967295)],
    ["t.i32", gguf.i32(-2147483648)],
    ["t.f32", gguf.f32(0.5)],
    ["t.f64", gguf.f64(Math.PI)],
    ["t.bool", gguf.bool(true)],
    ["t.u64", gguf.u64(2n ** 64n - 1n)],
    ["t.i64", gguf.i64(-(2n ** 63n))],
    ["t.str", gguf.str("héllo ✓")],
    ["t.arr", gguf.array(GgufValueType.STRING, ["a", "", "ß"])],
    ["t.nested", gguf.array(GgufValueType.ARRAY, [{ itemType: GgufValueType.INT32, items: [1, -2] }])],
  ]);

describe("GGUF read/write", () => {
  const tensors = [
    { name: "a.f32", shape: [3, 5], data: randomData(15, 2) },
    { name: "b.f16", shape: [2, 32], data: randomData(64, 3), type: "F16" as const },
    { name: "c.bf16", shape: [7], data: randomData(7, 4), type: "BF16" as const },
    { name: "d.q8", shape: [2, 64], data: randomData(128, 5), type: "Q8_0" as const },
  ];
  const path = join(dir, "all.gguf");
  writeGguf(path, { metadata: metadata(), tensors });

  test("metadata of every type round-trips", () => {
    const f = GgufFile.open(path);
    try {
      assert.deepEqual(f.metadata, metadata().set("t.f32", gguf.f32(0.5)));
      assert.equal(f.alignment, 64);
      assert.equal(f.getString("general.architecture"), "llama");
      assert.deepEqual(f.getArray("t.arr"), ["a", "", "ß"]);
    } finally {
      f.close();
    }
  });

  test("tensors: shapes, alignment, exact F32 and bounded F16/BF16/Q8_0 error", () => {
    const f = GgufFile.open(path);
    try {
      for (const t of f.tensors) assert.equal(t.fileOffset % 64, 0);
      assert.deepEqual(f.tensor("a.f32").ne, [5, 3]);
      assert.deepEqual(f.readTensor("a.f32").data, tensors[0].data);
      const h = f.readTensor("b.f16").data;
      for (const [i, v] of tensors[1].data.entries()) assert.ok(Math.abs(h[i] - v) <= Math.abs(v) * 2 ** -11);
      const b = f.readTensor("c.bf16").data;
      for (const [i, v] of tensors[2].data.entries()) assert.ok(Math.abs(b[i] - v) <= Math.abs(v) * 2 ** -8);
      assert.equal(f.tensor("d.q8").byteSize, 4 * 34);
      assert.equal(f.readTensor("d.q8").data.length, 128);
    } finally {
      f.close();
    }
  });

  test("in-memory encoding equals the file and re-encoding is byte-identical", () => {
    const bytes = encodeGguf({ metadata: metadata(), tensors });
    assert.deepEqual(bytes, new Uint8Array(readFileSync(path)));
    const f = GgufFile.fromBytes(bytes);
    const again = encodeGguf({
      metadata: f.metadata,
      tensors: f.tensors
        .filter((t) => t.type === GgmlType.F32)
        .map((t) => ({ name: t.name, shape: t.shape, data: f.readTensor(t.name).data })),
    });
    const g = GgufFile.fromBytes(again);
    assert.deepEqual(g.readTensor("a.f32").data, tensors[0].data);
  });

  test("truncated file names the tensor and its offset", () => {
    const bytes = readFileSync(path);
    const cut = join(dir, "cut.gguf");
    const q8 = GgufFile.fromBytes(bytes).tensor("d.q8");
    writeFileSync(cut, bytes.subarray(0, q8.fileOffset + 10));
    assert.throws(
      () => GgufFile.open(cut),
      (e: Error) =>
        e instanceof FormatError && e.message.includes("'d.q8'") && e.message.includes(String(q8.fileOffset)),
    );
  });

  test("header truncated at any point is a FormatError, never a crash", () => {
    const bytes = readFileSync(path);
    const f = GgufFile.fromBytes(bytes);
    for (let n = 0; n < f.dataOffset; n += 13) {
      assert.throws(() => GgufFile.fromBytes(bytes.subarray(0, n)), FormatError);
    }
  });

  test("corrupt headers: magic, version, counts, dims, offsets", () => {
    const bytes = new Uint8Array(readFileSync(path));
    const mut = (at: number, v: number) => {
      const c = bytes.slice();
      c[at] = v;
      return c;
    };
    assert.throws(() => GgufFile.fromBytes(mut(0, 0x47 + 1)), /not a GGUF file/);
    assert.throws(() => GgufFile.fromBytes(mut(4, 9)), /version 9/);
    assert.throws(() => GgufFile.fromBytes(mut(13, 0x10)), /more than the file holds/);
    assert.throws(() => GgufFile.fromBytes(mut(21, 0x10)), /more than the file holds/);
  });

  test("random byte corruption only ever raises FormatError", () => {
    const bytes = new Uint8Array(readFileSync(path));
    const f = GgufFile.fromBytes(bytes);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: f.dataOffset - 1 }),
        fc.integer({ min: 0, max: 255 }),
        (at, v) => {
          const c = bytes.slice();
          c[at] = v;
          try {
            const g = GgufFile.fromBytes(c);
            for (const t of g.tensors) g.readTensor(t.name);
          } catch (e) {
            assert.ok(e instanceof FormatError, String(e));
          }
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  test("writer rejects bad input", () => {
    const bad =
      (tensors: Parameters<typeof encodeGguf>[0]["tensors"], md = new Map()) =>
      () =>
        encodeGguf({ metadata: md, tensors });
    assert.throws(bad([{ name: "x", shape: [2, 3], data: new Float32Array(5) }]), /does not match/);
    assert.throws(
      bad([{ name: "x", shape: [2, 31], data: new Float32Array(62), type: "Q8_0" }]),
      /multiple of 32/,
    );
    assert.throws(
      bad(
        [
          { name: "x", shape: [1], data: new Float32Array(1) },
          { name: "x", shape: [1], data: new Float32Array(1) },
        ],
        new Map(),
      ),
      /duplicate/,
    );
    assert.throws(bad([], new Map([["k", gguf.u8(256)]])), /not an integer/);
    assert.throws(bad([], new Map([["general.alignment", gguf.u32(24)]])), /power of two/);
  });
});
