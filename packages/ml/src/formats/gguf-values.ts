// GGUF metadata values: the type tags of the spec and helpers to build typed entries for the writer.

export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;

export type GgufScalar = number | bigint | boolean | string;
export interface GgufArray {
  itemType: number;
  items: GgufValue[];
}
export type GgufValue = GgufScalar | GgufArray;
/** One metadata value with its GGUF type tag (64-bit integers are bigint, arrays carry their item type). */
export interface GgufEntry {
  type: number;
  value: GgufValue;
}
export type GgufMetadata = Map<string, GgufEntry>;

const T = GgufValueType;
export const gguf = {
  u8: (v: number): GgufEntry => ({ type: T.UINT8, value: v }),
  i8: (v: number): GgufEntry => ({ type: T.INT8, value: v }),
  u16: (v: number): GgufEntry => ({ type: T.UINT16, value: v }),
  i16: (v: number): GgufEntry => ({ type: T.INT16, value: v }),
  u32: (v: number): GgufEntry => ({ type: T.UINT32, value: v }),
  i32: (v: number): GgufEntry => ({ type: T.INT32, value: v }),
  f32: (v: number): GgufEntry => ({ type: T.FLOAT32, value: v }),
  f64: (v: number): GgufEntry => ({ type: T.FLOAT64, value: v }),
  u64: (v: bigint): GgufEntry => ({ type: T.UINT64, value: v }),
  i64: (v: bigint): GgufEntry => ({ type: T.INT64, value: v }),
  bool: (v: boolean): GgufEntry => ({ type: T.BOOL, value: v }),
  str: (v: string): GgufEntry => ({ type: T.STRING, value: v }),
  array: (itemType: number, items: GgufValue[]): GgufEntry => ({ type: T.ARRAY, value: { itemType, items } }),
};

export function isGgufArray(value: GgufValue): value is GgufArray {
  return typeof value === "object" && value !== null && "items" in value;
}
