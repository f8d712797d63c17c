// Kernel worker: instantiates the kernels module on the shared memory and runs its slot of each job.
// Protocol (Int32 control words at ctrlPtr): [0] job generation, [1] workers still running.
// Each part has 32 float64 words at slotPtr + part*256: [fn index, argc, args...]; fn -1 = idle, -2 = exit.
import { parentPort, workerData } from "node:worker_threads";

const { module, memory, names, ctrlPtr, slotPtr, part } = workerData;
const instance = new WebAssembly.Instance(module, { env: { memory } });
const fns = names.map((n) => instance.exports[n]);
const ctrl = new Int32Array(memory.buffer, ctrlPtr, 4);
const slot = new Float64Array(memory.buffer, slotPtr + part * 256, 32);
let seen = Atomics.load(ctrl, 0);
parentPort.postMessage("ready");
for (;;) {
  let spins = 0;
  while (Atomics.load(ctrl, 0) === seen && spins++ < 20000);
  Atomics.wait(ctrl, 0, seen);
  seen = Atomics.load(ctrl, 0);
  const f = slot[0];
  if (f === -2) break;
  if (f >= 0) {
    fns[f](...slot.subarray(2, 2 + slot[1]));
  }
  if (Atomics.sub(ctrl, 1, 1) === 1) Atomics.notify(ctrl, 1);
}
