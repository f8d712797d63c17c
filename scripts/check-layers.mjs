// Checks the import graph between the workspaces against the layer map in docs/ARCHITECTURE.md:
// every import of another workspace goes through an entry point its package.json exports (never its
// src/ or test/ files by path); a package's src imports only its own layer or lower ones; and the
// src import graph has no cycle.
// Scans packages/*/src, packages/*/test and bench/. Run: node scripts/check-layers.mjs
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The layer map (docs/ARCHITECTURE.md): a workspace may import its own layer or lower ones. */
export const LAYERS = {
  common: 0,
  contracts: 1,
  merkle: 1,
  devnet: 1,
  chain: 1,
  sdk: 2,
  ml: 2,
  attribution: 2,
  datanet: 2,
  factory: 3,
  openlora: 3,
  payments: 3,
  agents: 3,
  cli: 4,
};

function sourceFiles(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name === "fixtures" || name === "generated") return [];
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|mjs|js)$/.test(name) ? [path] : [];
  });
}

const SPECIFIER =
  /(?:^|[^\w.])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;

function specifiers(text) {
  return [...text.matchAll(SPECIFIER)].map((m) => m[1] ?? m[2]);
}

/** Whether workspace `name` declares `subpath` (e.g. "./protocol-suite") in its package.json exports. */
function exported(name, subpath) {
  const dir = name === "contracts" ? join(root, "contracts") : join(root, "packages", name);
  try {
    const { exports } = JSON.parse(readFileSync(join(dir, "package.json"), "utf8"));
    return typeof exports === "object" && exports !== null && subpath in exports;
  } catch {
    return false;
  }
}

/** The workspace a file belongs to (packages/<name>/..., or "bench"). */
function ownerOf(file) {
  const rel = relative(root, file).split("/");
  return rel[0] === "packages" ? rel[1] : rel[0];
}

export function checkLayers() {
  const problems = [];
  const edges = new Map(); // from -> Set(to), src files only
  const packages = readdirSync(join(root, "packages")).filter((p) =>
    existsSync(join(root, "packages", p, "package.json")),
  );
  for (const name of packages) {
    if (!(name in LAYERS))
      problems.push(`packages/${name} has no layer in scripts/check-layers.mjs (see docs/ARCHITECTURE.md)`);
  }
  const files = [
    ...packages.flatMap((p) => [
      ...sourceFiles(join(root, "packages", p, "src")),
      ...sourceFiles(join(root, "packages", p, "test")),
    ]),
    ...sourceFiles(join(root, "bench")),
  ];
  for (const file of files) {
    const from = ownerOf(file);
    const isSrc = relative(root, file).split("/")[2] === "src";
    const where = relative(root, file);
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      let to;
      if (spec.startsWith("@openledger/")) {
        const [, name, ...rest] = spec.split("/");
        to = name;
        if (rest.length > 0 && !exported(name, `./${rest.join("/")}`)) {
          problems.push(
            `${where}: imports ${spec}, which @openledger/${name} does not export; use its entry point`,
          );
        }
      } else if (spec.startsWith(".")) {
        const target = resolve(dirname(file), spec);
        const owner = ownerOf(target);
        const isWorkspace = relative(root, target).startsWith("packages/") || owner === "contracts";
        if (owner !== from && isWorkspace) {
          problems.push(`${where}: imports ${spec} from another workspace; use @openledger/${owner}`);
          to = owner;
        }
      }
      if (!to || to === from) continue;
      // tests may drive a lower part with a higher one (the sdk's protocol suite against the node)
      if (isSrc && from in LAYERS && to in LAYERS && LAYERS[to] > LAYERS[from]) {
        problems.push(
          `${where}: ${from} (layer ${LAYERS[from]}) imports ${to} (layer ${LAYERS[to]}), which is above it`,
        );
      }
      if (isSrc) {
        if (!edges.has(from)) edges.set(from, new Set());
        edges.get(from).add(to);
      }
    }
  }
  // cycles among the src imports (depth-first search, reporting one path per cycle)
  const state = new Map();
  const visit = (node, path) => {
    if (state.get(node) === "done") return;
    if (state.get(node) === "open") {
      problems.push(`import cycle: ${[...path.slice(path.indexOf(node)), node].join(" -> ")}`);
      return;
    }
    state.set(node, "open");
    for (const next of edges.get(node) ?? []) visit(next, [...path, node]);
    state.set(node, "done");
  };
  for (const node of edges.keys()) visit(node, []);
  return { problems, edges };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { problems, edges } = checkLayers();
  if (problems.length > 0) {
    for (const p of problems) console.error(p);
    console.error(`layers: ${problems.length} problem(s)`);
    process.exit(1);
  }
  const count = [...edges.values()].reduce((n, s) => n + s.size, 0);
  console.log(`layers: ${count} package imports, all pointing down the layer map, no cycle`);
}
