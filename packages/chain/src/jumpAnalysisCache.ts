import { bytesToHex } from "@ethereumjs/util";
import { wasmKeccak256 } from "./crypto.ts";

/** Code shorter than this is analysed each time (hashing it would cost about as much). */
const MIN_CODE = 256;
/** Analyses kept per EVM, most recent last. */
const PER_EVM = 512;

type Analyse = (this: { _evm: object }, code: Uint8Array) => unknown;

/**
 * @ethereumjs/evm re-runs its jump-destination analysis (a pass over the whole code, allocating an
 * array per byte) every time a contract is called: measured at about a tenth of the node's time on
 * an ERC-20 eth_call. The analysis depends only on the code and the EVM's opcode table, and the
 * interpreter only reads it, so it is kept per EVM instance by code hash. Patched on @ethereumjs's
 * own Interpreter class (the module the EVM imports); if a later version renames the method, nothing
 * is patched and the EVM works as before.
 */
export async function installJumpAnalysisCache(): Promise<boolean> {
  const index = import.meta.resolve("@ethereumjs/evm");
  const ext = index.endsWith(".ts") ? ".ts" : ".js";
  let proto: { _getValidJumpDestinations?: Analyse; __openledgerCached?: boolean } | undefined;
  try {
    const mod = (await import(new URL(`./interpreter${ext}`, index).href)) as {
      Interpreter?: { prototype: typeof proto };
    };
    proto = mod.Interpreter?.prototype;
  } catch {
    return false;
  }
  const original = proto?._getValidJumpDestinations;
  if (!proto || typeof original !== "function") return false;
  if (proto.__openledgerCached) return true;
  const caches = new WeakMap<object, Map<string, unknown>>();
  // The same code array comes back from the node's trie database on every call of a contract, so
  // the analysis is first looked up by that array (hashing 10 KB of code costs more than the call).
  const byArray = new WeakMap<object, WeakMap<Uint8Array, unknown>>();
  proto._getValidJumpDestinations = function (this: { _evm: object }, code: Uint8Array) {
    if (code.length < MIN_CODE || typeof this._evm !== "object") return original.call(this, code);
    let seen = byArray.get(this._evm);
    if (!seen) {
      seen = new WeakMap();
      byArray.set(this._evm, seen);
    }
    const known = seen.get(code);
    if (known !== undefined) return known;
    let cache = caches.get(this._evm);
    if (!cache) {
      cache = new Map();
      caches.set(this._evm, cache);
    }
    const key = bytesToHex(wasmKeccak256(code));
    let analysis = cache.get(key);
    if (analysis === undefined) {
      analysis = original.call(this, code);
      if (cache.size >= PER_EVM) cache.delete(cache.keys().next().value as string);
      cache.set(key, analysis);
    }
    seen.set(code, analysis);
    return analysis;
  };
  proto.__openledgerCached = true;
  return true;
}
