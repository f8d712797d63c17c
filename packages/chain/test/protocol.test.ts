// The sdk's protocol suite (deploy, Datanets, models, settlement, staking through viem) run unchanged
// against this node, as it runs against anvil in packages/sdk.
import { after, before } from "node:test";
import { protocolSuite } from "@openledger/sdk/protocol-suite";
import { startTestNode } from "./helpers.ts";

let node: Awaited<ReturnType<typeof startTestNode>> | undefined;
before(async () => {
  node = await startTestNode({ automine: true });
});
after(async () => {
  await node?.close();
});

protocolSuite(() => {
  if (!node) throw new Error("node not started");
  return node.url;
});
