// Kernel worker: instantiates the kernels module on the shared memory and runs its slot of each job.
// Protocol (Int32 control words at ctrlPtr): [0] job generation (the caller increments it),
// [2] 1 + a part that failed (0: none), [8 + part] the last generation this worker completed.
// Each part has 32 float64 words at slotPtr + part*256: [fn index, argc, args...]; fn -1 = idle, -2 = exit.
import { parentPort, workerData } from "node:worker_threads";

const { module, memory, names, ctrlPtr, slotPtr, part } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => instance.exports[n]);
const ctrl = new Int32Array(memory.buffer, ctrlPtr, 32);
const slot = new Float64Array(memory.buffer, slotPtr + part * 256, 32);
let done = Atomics.load(ctrl, 0);
parentPort.postMessage("ready");
for (;;) {
  let gen = Atomics.load(ctrl, 0);
  for (let spins = 0; gen === done && spins < 20000; spins++) gen = Atomics.load(ctrl, 0);
  if (gen === done) {
    Atomics.wait(ctrl, 0, done);
    continue;
  }
  const f = slot[0];
  if (f === -2) break;
  if (f >= 0) {
    try {
      fns[f](...slot.subarray(2, 2 + slot[1]));
    } catch {
      // report instead of dying (the caller is waiting for this part); it re-runs the part to get the error
      Atomics.store(ctrl, 2, part + 1);
    }
  }
  done = gen;
  Atomics.store(ctrl, 8 + part, gen);
  Atomics.notify(ctrl, 8 + part);
}
