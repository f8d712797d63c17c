// Runs a node from the command line: node --import tsx packages/chain/src/bin.ts --datadir DIR [--port N]
// [--block-time S] [--automine] [--chain-id N] [--gas-limit N] [--recovery-threads N] [--rebuild-state].
// Prints one JSON line {"url","wsUrl","chainId"} when serving; bad arguments: one `error:` line, exit 2.
import { startNode } from "./index.ts";
import { type NodeArgs, NodeArgsError, parseNodeArgs } from "./nodeArgs.ts";

let args: NodeArgs;
try {
  args = parseNodeArgs(process.argv.slice(2));
} catch (err) {
  if (!(err instanceof NodeArgsError)) throw err;
  console.error(`error: ${err.message}`);
  process.exit(2);
}
let running: Awaited<ReturnType<typeof startNode>>;
try {
  running = await startNode(args);
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
