import { createRequire } from "node:module";

interface MmapAddon {
  /** A read-only mapping of `length` bytes at `offset` of the open file `fd`, unmapped when collected. */
  map(fd: number, offset: number, length: number): ArrayBuffer;
}

let addon: MmapAddon | null | undefined;

/**
 * The `olmmap` addon (packages/attribution/native, built by node-gyp at install), or null where it did
 * not build; index files are then read with positioned reads instead.
 */
export function mmapAddon(): MmapAddon | null {
  if (addon === undefined) {
    try {
      addon = createRequire(import.meta.url)("../native/build/Release/olmmap.node") as MmapAddon;
    } catch {
      addon = null;
    }
  }
  return addon;
}
