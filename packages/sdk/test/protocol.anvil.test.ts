// Runs the protocol suite against a fresh anvil, or against OPENLEDGER_TEST_RPC when set (any chain
// whose dev accounts are funded, e.g. the project's own node).
import { after, before } from "node:test";
import { type Anvil, startAnvil } from "@openledger/devnet";
import { protocolSuite } from "./protocol-suite.ts";

const external = process.env.OPENLEDGER_TEST_RPC;
let anvil: Anvil | undefined;
before(async () => {
  if (!external) anvil = await startAnvil();
});
after(() => anvil?.stop());

protocolSuite(() => external ?? anvil!.rpcUrl);
