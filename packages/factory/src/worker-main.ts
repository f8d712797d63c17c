// Entry point of a worker process: `node --import tsx worker-main.ts --server URL [--worker NAME]
// [--work-dir DIR] [--threads N] [--relaxed-simd] [--external-command CMD] [--once]`; the token comes from
// OPENLEDGER_WORKER_TOKEN. `openledger worker` runs the same loop.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { runWorker } from "./worker.ts";

const { values } = parseArgs({
  options: {
    server: { type: "string" },
    worker: { type: "string" },
    "work-dir": { type: "string" },
    threads: { type: "string" },
    "external-command": { type: "string" },
    once: { type: "boolean", default: false },
    "relaxed-simd": { type: "boolean", default: false },
  },
});
const token = process.env.OPENLEDGER_WORKER_TOKEN;
if (!values.server || !token) {
  process.stderr.write("error: --server URL and OPENLEDGER_WORKER_TOKEN are required\n");
  process.exit(2);
}
const controller = new AbortController();
for (const sig of ["SIGTERM", "SIGINT"] as const) process.once(sig, () => process.exit(0));
await runWorker({
  server: values.server,
  token,
  worker: values.worker ?? `${hostname()}-${process.pid}`,
  workDir: values["work-dir"] ?? `.openledger/worker-${process.pid}`,
  threads: values.threads ? Number(values.threads) : undefined,
  relaxedSimd: values["relaxed-simd"],
  external: values["external-command"] ? { command: values["external-command"] } : undefined,
  once: values.once,
  signal: controller.signal,
  log: (line) => process.stdout.write(`worker: ${line}\n`),
});
