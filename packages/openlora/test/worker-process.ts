// A second OpenLoRA server in its own process, the remote backend's worker in the tests: the embedded
// engine on the same chain and content store (openOpenLora), the OpenAI routes and /health on
// 127.0.0.1. Usage: node --import tsx worker-process.ts RPC_URL MODEL_REGISTRY DATA_DIR [PORT].
// Prints its URL on one line once it listens; stops when its stdin closes (the test ended or died).
import Fastify from "fastify";
import type { Address } from "viem";
import { openOpenLora } from "../src/open.ts";
import { openaiRoutes } from "../src/routes.ts";

const [rpcUrl, modelRegistry, dataDir, port] = process.argv.slice(2);
if (!rpcUrl || !modelRegistry || !dataDir) {
  process.stderr.write("error: usage: worker-process.ts RPC_URL MODEL_REGISTRY DATA_DIR [PORT]\n");
  process.exit(2);
}
const lora = await openOpenLora({ rpcUrl, modelRegistry: modelRegistry as Address, dataDir, threads: 1 });
const app = Fastify({ logger: false });
// the pid lets a test tell this process from its own
app.get("/health", async () => ({ ok: true, pid: process.pid }));
await app.register(openaiRoutes, { openlora: lora });
const url = await app.listen({ host: "127.0.0.1", port: Number(port ?? 0) });
process.stdout.write(`${url}\n`);
process.stdin.resume();
process.stdin.on("end", async () => {
  await app.close();
  await lora.close();
  process.exit(0);
});
