// Runs a node from the command line: node --import tsx packages/chain/src/bin.ts --datadir DIR [--port N]
// [--block-time S] [--automine] [--chain-id N] [--recovery-threads N] [--rebuild-state]. Prints one JSON line {"url","wsUrl"} when serving.
import { parseArgs } from "node:util";
import { startNode } from "./index.ts";

const { values } = parseArgs({
  options: {
    datadir: { type: "string" },
    port: { type: "string", default: "8545" },
    host: { type: "string", default: "127.0.0.1" },
    "block-time": { type: "string", default: "1" },
    automine: { type: "boolean", default: false },
    "chain-id": { type: "string" },
    "recovery-threads": { type: "string" },
    "rebuild-state": { type: "boolean", default: false },
  },
});
if (!values.datadir) {
  console.error("usage: bin.ts --datadir DIR [--port 8545] [--block-time 1] [--automine] [--chain-id 1337]");
  process.exit(2);
}
let running: Awaited<ReturnType<typeof startNode>>;
try {
  running = await startNode({
    datadir: values.datadir,
    port: Number(values.port),
    host: values.host,
    blockTime: Number(values["block-time"]),
    automine: values.automine,
    chainId: values["chain-id"] ? BigInt(values["chain-id"]) : undefined,
    recoveryThreads: values["recovery-threads"] ? Number(values["recovery-threads"]) : undefined,
    rebuildState: values["rebuild-state"],
  });
} catch (err) {
  console.error(`error: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
console.log(
  JSON.stringify({ url: running.url, wsUrl: running.wsUrl, chainId: Number(running.node.chainId) }),
);
const stop = () => {
  running.close().then(() => process.exit(0));
};
process.on("SIGINT", stop);
process.on("SIGTERM", stop);
