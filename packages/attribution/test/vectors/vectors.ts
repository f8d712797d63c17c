// Shared span-v1 test vectors (TS library = precompile = Solidity). `node --import tsx vectors.ts`
// rewrites span-v1.json; a test checks the file equals what the library computes now.
import { writeFileSync } from "node:fs";
import { bytesToHex, type Hex, keccak256, stringToHex } from "viem";
import { computeSpanV1, nfcBytes, type SpanChunk } from "../../src/index.ts";

export interface VectorChunk {
  contributionId: string;
  chunkIndex: number;
  text: Hex;
}
export interface Vector {
  name: string;
  output: Hex;
  roots: Hex[];
  chunks: VectorChunk[];
  commitment: Hex;
  contributionIds: string[];
  shares: number[];
  spans: {
    wordStart: number;
    wordEnd: number;
    contributionId: string;
    chunkIndex: number;
    chunkWordOffset: number;
    weight: number;
  }[];
}

const root = (label: string) => keccak256(stringToHex(label));

const HAND: { name: string; output: string; chunks: SpanChunk[] }[] = [
  {
    name: "earliest contribution credited, later copy earns nothing",
    output: "Zebras graze quietly near the river; kangaroos jump over fences!",
    chunks: [
      { contributionId: 2n, chunkIndex: 0, text: "Copy: zebras graze quietly near the river." },
      { contributionId: 1n, chunkIndex: 0, text: "Zebras graze quietly near the river." },
      { contributionId: 5n, chunkIndex: 3, text: "Kangaroos jump over fences at dawn." },
    ],
  },
  {
    name: "common phrase earns nothing",
    output: "That was one of the most important things.",
    chunks: [{ contributionId: 7n, chunkIndex: 0, text: "It is one of the most important things in life." }],
  },
  {
    name: "overlapping maximal spans",
    output: "Alpha beta gamma delta epsilon zeta eta theta",
    chunks: [
      { contributionId: 3n, chunkIndex: 0, text: "alpha beta gamma delta epsilon" },
      { contributionId: 4n, chunkIndex: 0, text: "gamma delta epsilon zeta eta theta" },
    ],
  },
  {
    name: "unicode words and separators",
    output: "Le café « crème » naïvement servi — ÉTÉ 2024, très chaud… ok",
    chunks: [
      { contributionId: 11n, chunkIndex: 2, text: "café crème naïvement servi été 2024 très chaud" },
      { contributionId: 12n, chunkIndex: 0, text: "Le CAFÉ crème" },
    ],
  },
  {
    name: "empty output",
    output: "",
    chunks: [{ contributionId: 1n, chunkIndex: 0, text: "anything at all here" }],
  },
];

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const VOCAB = [
  "the",
  "of",
  "and",
  "zeta",
  "kappa",
  "omicron",
  "sigma",
  "tau",
  "upsilon",
  "phi",
  "Ωmega",
  "naïve",
];
const SEPS = [" ", ", ", "\n", " — ", ". "];

function randomCase(seed: number): { name: string; output: string; chunks: SpanChunk[] } {
  const rnd = mulberry32(seed);
  const int = (n: number) => Math.floor(rnd() * n);
  const render = (ws: string[]) =>
    ws.map((w) => (rnd() < 0.2 ? w.toUpperCase() : w) + SEPS[int(SEPS.length)]).join("");
  const chunkWords: string[][] = [];
  const chunks: SpanChunk[] = [];
  const n = 1 + int(5);
  for (let c = 0; c < n; c++) {
    const ws = Array.from({ length: int(30) }, () => VOCAB[int(VOCAB.length)]);
    chunkWords.push(ws);
    chunks.push({ contributionId: BigInt(1 + int(4)), chunkIndex: c, text: render(ws) });
  }
  const out: string[] = [];
  for (let p = int(5); p > 0; p--) {
    const src = chunkWords[int(n)];
    const from = int(src.length + 1);
    out.push(...src.slice(from, from + 1 + int(10)));
    for (let k = int(3); k > 0; k--) out.push(VOCAB[int(VOCAB.length)]);
  }
  return { name: `random seed ${seed}`, output: render(out), chunks };
}

export function buildVectors(): Vector[] {
  const cases = [...HAND, ...Array.from({ length: 20 }, (_, k) => randomCase(1000 + k))];
  return cases.map((c, k) => {
    const roots = [root(`snapshot ${k}`)];
    const r = computeSpanV1(c.output, c.chunks, roots);
    return {
      name: c.name,
      output: bytesToHex(nfcBytes(c.output)),
      roots,
      chunks: c.chunks.map((ch) => ({
        contributionId: ch.contributionId.toString(),
        chunkIndex: ch.chunkIndex,
        text: bytesToHex(nfcBytes(ch.text)),
      })),
      commitment: r.commitment,
      contributionIds: r.credits.map((x) => x.contributionId.toString()),
      shares: r.credits.map((x) => x.share),
      spans: r.spans.map((s) => ({
        wordStart: s.wordStart,
        wordEnd: s.wordEnd,
        contributionId: s.contributionId.toString(),
        chunkIndex: s.chunkIndex,
        chunkWordOffset: s.chunkWordOffset,
        weight: s.weight,
      })),
    };
  });
}

export const VECTORS_FILE = new URL("./span-v1.json", import.meta.url);

if (import.meta.url === `file://${process.argv[1]}`) {
  writeFileSync(VECTORS_FILE, `${JSON.stringify({ vectors: buildVectors() }, null, 2)}\n`);
  console.log(`wrote ${VECTORS_FILE.pathname}`);
}
