// Worker thread of SenderRecovery (plain JavaScript: workers do not inherit the tsx loader).
// In: 97 bytes per item (32 message hash, 64 signature r||s, 1 recovery id).
// Out: 65 bytes per item (1 ok flag, 64 public key without the 0x04 prefix).
import { parentPort } from "node:worker_threads";
import * as secp from "tiny-secp256k1";

parentPort?.on("message", (msg) => {
  const count = msg.items.length / 97;
  const out = new Uint8Array(count * 65);
  for (let i = 0; i < count; i++) {
    const base = i * 97;
    try {
      const pub = secp.recover(
        msg.items.subarray(base, base + 32),
        msg.items.subarray(base + 32, base + 96),
        msg.items[base + 96],
        false,
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
