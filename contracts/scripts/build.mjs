// Compiles every contracts/src/**/*.sol with solc-js (standard JSON) and writes out/artifacts.json:
// { [ContractName]: { sourceName, abi, bytecode, deployedBytecode } } for each deployable contract.
// Skips the compile when a hash of the sources, the compiler version and the settings is unchanged.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, "package.json"));
const solc = require("solc");
const nodeModules = resolve(root, "..", "node_modules");
const outDir = join(root, "out");
const artifactsFile = join(outDir, "artifacts.json");
const cacheFile = join(outDir, ".build-hash");

const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "prague",
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};

function solidityFiles(dir) {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) return solidityFiles(path);
      return name.endsWith(".sol") ? [path] : [];
    });
}

const sources = {};
for (const file of solidityFiles(join(root, "src"))) {
  sources[relative(root, file)] = { content: readFileSync(file, "utf8") };
}

const hash = createHash("sha256")
  .update(solc.version())
  .update(JSON.stringify(settings))
  .update(JSON.stringify(sources))
  .update(readFileSync(join(nodeModules, "@openzeppelin/contracts/package.json")))
  .digest("hex");
if (existsSync(artifactsFile) && existsSync(cacheFile) && readFileSync(cacheFile, "utf8") === hash) {
  console.log("contracts: up to date");
  process.exit(0);
}

function findImport(path) {
  const candidates = [join(root, path), join(nodeModules, path)];
  for (const file of candidates) {
    if (existsSync(file)) return { contents: readFileSync(file, "utf8") };
  }
  return { error: `File not found: ${path}` };
}

const started = Date.now();
const output = JSON.parse(
  solc.compile(JSON.stringify({ language: "Solidity", sources, settings }), { import: findImport }),
);
const errors = (output.errors ?? []).filter((e) => e.severity === "error");
for (const warning of (output.errors ?? []).filter((e) => e.severity !== "error")) {
  console.warn(warning.formattedMessage.trim());
}
if (errors.length > 0) {
  for (const error of errors) console.error(error.formattedMessage.trim());
  console.error(`contracts: ${errors.length} compile error(s)`);
  process.exit(1);
}

const artifacts = {};
for (const sourceName of Object.keys(sources)) {
  for (const [name, contract] of Object.entries(output.contracts?.[sourceName] ?? {})) {
    const bytecode = contract.evm.bytecode.object;
    if (!bytecode) continue; // abstract contracts and interfaces
    if (artifacts[name]) {
      console.error(`contracts: duplicate contract name ${name} in ${sourceName}`);
      process.exit(1);
    }
    artifacts[name] = {
      sourceName,
      abi: contract.abi,
      bytecode: `0x${bytecode}`,
      deployedBytecode: `0x${contract.evm.deployedBytecode.object}`,
    };
  }
}

mkdirSync(outDir, { recursive: true });
writeFileSync(artifactsFile, `${JSON.stringify(artifacts, null, 2)}\n`);
writeFileSync(cacheFile, hash);
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `contracts: compiled ${Object.keys(artifacts).length} contracts in ${seconds}s -> out/artifacts.json`,
);
