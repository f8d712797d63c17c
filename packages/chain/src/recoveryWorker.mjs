// Worker thread of SenderRecovery (plain JavaScript: workers do not inherit the tsx loader).
// In: 97 bytes per item (32 message hash, 64 signature r||s, 1 recovery id).
// Out: 65 bytes per item (1 ok flag, 64 public key without the 0x04 prefix).
// Recovers with native libsecp256k1 (npm `secp256k1`) where its prebuilt binding loads, else with
// libsecp256k1 compiled to WebAssembly (npm `tiny-secp256k1`); both answer the same keys.
import { createRequire } from "node:module";
import { parentPort } from "node:worker_threads";
import * as wasm from "tiny-secp256k1";

function loadNative() {
  try {
    const lib = createRequire(import.meta.url)("secp256k1/bindings");
    return typeof lib.ecdsaRecover === "function" ? lib.ecdsaRecover : undefined;
  } catch {
    return undefined;
  }
}

const native = loadNative();
const recover = native
  ? (hash, sig, recid) => native(sig, recid, hash, false)
  : (hash, sig, recid) => wasm.recover(hash, sig, recid, false);

parentPort?.on("message", (msg) => {
  const count = msg.items.length / 97;
  const out = new Uint8Array(count * 65);
  for (let i = 0; i < count; i++) {
    const base = i * 97;
    try {
      const pub = recover(
        msg.items.subarray(base, base + 32),
        msg.items.subarray(base + 32, base + 96),
        msg.items[base + 96],
      );
      if (pub) {
        out[i * 65] = 1;
        out.set(pub.subarray(1), i * 65 + 1);
      }
    } catch {
      // ok flag stays 0: the caller recovers inline and reports the bad signature
    }
  }
  parentPort?.postMessage({ id: msg.id, out }, [out.buffer]);
});
