// Compiles test/fixtures/*.sol with solc-js (the project's compiler), cached under os.tmpdir() by a
// hash of the sources, so test files can deploy test-only contracts on any chain.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Abi, Hex } from "viem";

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, "../../..");
const require = createRequire(join(repoRoot, "package.json"));

export interface CompiledContract {
  abi: Abi;
  bytecode: Hex;
}

export function compileFixtures(): Record<string, CompiledContract> {
  const fixtureDir = join(here, "fixtures");
  const sources: Record<string, { content: string }> = {};
  for (const name of readdirSync(fixtureDir).filter((f) => f.endsWith(".sol"))) {
    sources[`packages/sdk/test/fixtures/${name}`] = { content: readFileSync(join(fixtureDir, name), "utf8") };
  }
  const solc = require("solc") as { version(): string; compile(input: string, opts: object): string };
  const hash = createHash("sha256").update(solc.version()).update(JSON.stringify(sources)).digest("hex");
  const cacheFile = join(tmpdir(), "openledger-sdk-fixtures", `${hash.slice(0, 16)}.json`);
  if (existsSync(cacheFile)) return JSON.parse(readFileSync(cacheFile, "utf8"));

  const findImport = (path: string) => {
    for (const base of [repoRoot, join(repoRoot, "node_modules"), fixtureDir]) {
      const file = resolve(base, path);
      if (existsSync(file)) return { contents: readFileSync(file, "utf8") };
    }
    return { error: `not found: ${path}` };
  };
  const input = {
    language: "Solidity",
    sources,
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: "prague",
      outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: findImport }));
  const errors = (output.errors ?? []).filter((e: { severity: string }) => e.severity === "error");
  if (errors.length)
    throw new Error(errors.map((e: { formattedMessage: string }) => e.formattedMessage).join("\n"));
  const out: Record<string, CompiledContract> = {};
  for (const file of Object.values(output.contracts) as Record<
    string,
    { abi: Abi; evm: { bytecode: { object: string } } }
  >[]) {
    for (const [name, c] of Object.entries(file)) {
      if (c.evm.bytecode.object) out[name] = { abi: c.abi, bytecode: `0x${c.evm.bytecode.object}` };
    }
  }
  mkdirSync(dirname(cacheFile), { recursive: true });
  writeFileSync(cacheFile, JSON.stringify(out));
  return out;
}
