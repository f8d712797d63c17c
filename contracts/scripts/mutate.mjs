// Mutation pass over the settlement's checks (not part of `npm test`: it runs forge once per mutant).
// Each mutant removes one check: a single-line `if (COND) revert ...;` or `if (COND) return ...;` becomes
// `if (false) ...`. A mutant is caught when the forge suite fails with it. Reports caught/total and lists
// the survivors. Restores every file afterwards (also on SIGINT/SIGTERM).
//
//   node scripts/mutate.mjs [--files src/A.sol,src/B.sol] [--match <regex on the mutated line>]
//                           [--suites <forge --match-path glob, instead of the files' own>] [--list]
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { register } from "tsx/esm/api";

register();
const { foundryBinaryPath } = await import("@openledger/devnet");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const forge = foundryBinaryPath("forge"); // the platform binary (the npm wrapper exits 0 on failure)
// Each mutated file with the unit suites (a forge --match-path glob) that judge it; the invariant suite is
// too slow to run per mutant, so check survivors against it by hand.
const SUITES = {
  "src/attribution/SpanVerifier.sol": "test/SpanV{1,2}Verifier.t.sol",
  "src/attribution/SpanText.sol": "test/SpanV*.t.sol",
  "src/libraries/RecordTree.sol": "test/{InferenceSettlement,Attacks,SpanV1Verifier}.t.sol",
  "src/InferenceSettlement.sol": "test/{InferenceSettlement,Attacks,SpanV1Verifier}.t.sol",
  "src/DatanetRegistry.sol": "test/DatanetRegistry.t.sol",
};
const DEFAULT_FILES = Object.keys(SUITES);

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const files = opt("--files")?.split(",") ?? DEFAULT_FILES;
const match = opt("--match") ? new RegExp(opt("--match")) : undefined;
const suitesOf = (file) => opt("--suites") ?? SUITES[file];

const CHECK = /^(\s*)if \((.+)\) (revert |return )(.*)$/;
const BLOCK = /^(\s*)if \((.+)\) \{$/;

/**
 * Every guarded revert/return in `text`, as { line, before, after }: single-line `if (C) revert|return`
 * and `if (C) {` blocks whose first statement is a revert (forge fmt's form of long ones).
 */
function mutants(file, text) {
  const lines = text.split("\n");
  const out = [];
  lines.forEach((line, i) => {
    if (match && !match.test(line)) return;
    const m = CHECK.exec(line);
    if (m) {
      out.push({ file, line: i + 1, before: line, after: `${m[1]}if (false) ${m[3]}${m[4]}` });
      return;
    }
    const b = BLOCK.exec(line);
    if (b && /^\s*revert /.test(lines[i + 1] ?? "")) {
      out.push({ file, line: i + 1, before: line, after: `${b[1]}if (false) {` });
    }
  });
  return out;
}

const originals = new Map(files.map((f) => [f, readFileSync(join(root, f), "utf8")]));
const restore = () => {
  for (const [f, text] of originals) writeFileSync(join(root, f), text);
};
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    restore();
    process.exit(130);
  });
}

const all = files.flatMap((f) => mutants(f, originals.get(f)));
if (args.includes("--list")) {
  for (const m of all) console.log(`${m.file}:${m.line}: ${m.before.trim()}`);
  process.exit(0);
}

const survivors = [];
let caught = 0;
try {
  for (const [k, m] of all.entries()) {
    const lines = originals.get(m.file).split("\n");
    lines[m.line - 1] = m.after;
    writeFileSync(join(root, m.file), lines.join("\n"));
    const run = spawnSync(forge, ["test", "--match-path", suitesOf(m.file), "--fail-fast"], {
      cwd: root,
      encoding: "utf8",
    });
    writeFileSync(join(root, m.file), originals.get(m.file));
    if (/No tests found/.test(run.stdout)) throw new Error(`no tests match ${suitesOf(m.file)}`);
    // A removed check never breaks the build: a compile error is someone else's, not a caught mutant.
    if (/Compil(er run|ation) failed/.test(run.stdout + run.stderr))
      throw new Error(`forge did not build:\n${run.stderr}`);
    const killed = run.status !== 0;
    if (killed) caught++;
    else survivors.push(m);
    console.log(
      `[${k + 1}/${all.length}] ${killed ? "caught  " : "SURVIVED"} ${m.file}:${m.line}: ${m.before.trim()}`,
    );
  }
} finally {
  restore();
}
console.log(`\nmutants caught: ${caught}/${all.length}`);
for (const m of survivors) console.log(`survivor ${m.file}:${m.line}: ${m.before.trim()}`);
process.exit(survivors.length === 0 ? 0 : 1);
