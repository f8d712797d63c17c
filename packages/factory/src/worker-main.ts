// Entry point of a worker process: `node --import tsx worker-main.ts --server URL [--worker NAME]
// [--work-dir DIR] [--threads N] [--relaxed-simd] [--external-command CMD] [--once]
// [--rpc URL --datanet-registry ADDRESS [--model-registry ADDRESS]]`; the token comes from OPENLEDGER_WORKER_TOKEN. `openledger
// worker` runs the same loop.
import { hostname } from "node:os";
import { parseArgs } from "node:util";
import { type Address, isAddress } from "viem";
import { rootSourceAt } from "./chain-roots.ts";
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
    rpc: { type: "string" },
    "datanet-registry": { type: "string" },
    "model-registry": { type: "string" },
  },
});
const token = process.env.OPENLEDGER_WORKER_TOKEN;
if (!values.server || !token) {
  process.stderr.write("error: --server URL and OPENLEDGER_WORKER_TOKEN are required\n");
  process.exit(2);
}
const registry = values["datanet-registry"] ?? "";
if (values.rpc && !isAddress(registry)) {
  process.stderr.write("error: --rpc needs --datanet-registry ADDRESS (the DatanetRegistry on that chain)\n");
  process.exit(2);
}
const modelRegistry = values["model-registry"];
if (modelRegistry !== undefined && !isAddress(modelRegistry)) {
  process.stderr.write("error: --model-registry expects a 0x-prefixed 20-byte address\n");
  process.exit(2);
}
const chain = values.rpc ? rootSourceAt(values.rpc, registry as Address, modelRegistry) : undefined;
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
  chain,
  once: values.once,
  signal: controller.signal,
  log: (line) => process.stdout.write(`worker: ${line}\n`),
});
