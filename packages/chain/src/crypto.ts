import type { CustomCrypto } from "@ethereumjs/common";

/** Crypto primitives handed to @ethereumjs (sender recovery is the hot path of block building). */
export function fastCrypto(): CustomCrypto {
  return {};
}
