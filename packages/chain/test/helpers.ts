import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { Abi, Hex } from "viem";
import { type NodeOptions, type RunningNode, startNode } from "../src/index.ts";

const require = createRequire(import.meta.url);

export function tempDir(prefix = "ol-chain-"): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A node with RPC on a free loopback port in a fresh temp datadir; close() also removes the dir. */
export async function startTestNode(
  opts: Partial<NodeOptions> = {},
): Promise<RunningNode & { datadir: string }> {
  const tmp = tempDir();
  const running = await startNode({ datadir: tmp.dir, port: 0, blockTime: 0, automine: true, ...opts });
  return {
    ...running,
    datadir: tmp.dir,
    async close() {
      await running.close();
      tmp.remove();
    },
  };
}

export interface Compiled {
  abi: Abi;
  bytecode: Hex;
}

let probeCache: Compiled | undefined;

/** Compiles test/fixtures/Probe.sol with solc-js (OpenZeppelin imports resolved from node_modules). */
export function compileProbe(): Compiled {
  if (probeCache) return probeCache;
  const solc = require("solc");
  const source = readFileSync(new URL("./fixtures/Probe.sol", import.meta.url), "utf8");
  const ozRoot = dirname(require.resolve("@openzeppelin/contracts/package.json"));
  const input = {
    language: "Solidity",
    sources: { "Probe.sol": { content: source } },
    settings: {
      optimizer: { enabled: true, runs: 200 },
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const findImports = (path: string) => {
    const prefix = "@openzeppelin/contracts/";
    if (!path.startsWith(prefix)) return { error: `not found: ${path}` };
    return { contents: readFileSync(join(ozRoot, path.slice(prefix.length)), "utf8") };
  };
  const out = JSON.parse(solc.compile(JSON.stringify(input), { import: findImports }));
  const errors = (out.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
  if (errors.length > 0)
    throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join("\n"));
  const c = out.contracts["Probe.sol"].Probe;
  probeCache = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
  return probeCache;
}

/** Raw JSON-RPC POST; returns the parsed body and HTTP status. */
export async function rpcRaw(
  url: string,
  body: string,
): Promise<{ status: number; json: unknown; text: string }> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export async function rpc(
  url: string,
  method: string,
  params: unknown[] = [],
): Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }> {
  const { json } = await rpcRaw(url, JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }));
  return json as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
}

/** The receipt of `hash`, polled until the node has it (anvil may answer a send before it mines). */
export async function waitReceipt(url: string, hash: string): Promise<Record<string, unknown>> {
  for (;;) {
    const { result } = await rpc(url, "eth_getTransactionReceipt", [hash]);
    if (result) return result as Record<string, unknown>;
    await new Promise((r) => setTimeout(r, 20));
  }
}
