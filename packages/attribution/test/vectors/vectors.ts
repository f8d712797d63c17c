// Shared span-v1 test vectors (TS library = precompile = Solidity). `node --import tsx vectors.ts`
// rewrites span-v1.json; a test checks the file equals what the library computes now.
import { readFileSync, writeFileSync } from "node:fs";
import { mulberry32 } from "@openledger/common";
import { MerkleTree } from "@openledger/merkle";
import { bytesToHex, encodeAbiParameters, type Hex, keccak256, parseAbiParameters, stringToHex } from "viem";
import {
  computeSpanV1,
  costTableEntries,
  encodeSpanV1Evidence,
  nfcBytes,
  type SpanChunk,
  spanChunkLeaf,
  spanV1RecordLeaf,
} from "../../src/index.ts";

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

export const root = (label: string) => keccak256(stringToHex(label));

export const HAND: { name: string; output: string; chunks: SpanChunk[] }[] = [
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

export function randomCase(seed: number): { name: string; output: string; chunks: SpanChunk[] } {
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
      chunks: storedChunks(c.chunks),
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

/** A case's chunks as the vector files store them: ids as decimal strings, texts as NFC UTF-8 hex. */
export function storedChunks(chunks: readonly SpanChunk[]): VectorChunk[] {
  return chunks.map((ch) => ({
    contributionId: ch.contributionId.toString(),
    chunkIndex: ch.chunkIndex,
    text: bytesToHex(nfcBytes(ch.text)),
  }));
}

export const VECTORS_FILE = new URL("./span-v1.json", import.meta.url);
export const SOLIDITY_LIBRARY = new URL(
  "../../../../contracts/src/attribution/SpanText.sol",
  import.meta.url,
);
export const SOLIDITY_TEST = new URL("../../../../contracts/test/SpanV1Verifier.t.sol", import.meta.url);

/** The cost table as the Solidity library embeds it: sorted 4-byte keys, each followed by its cost. */
export function costTableHex(): string {
  return costTableEntries()
    .map(([key, cost]) => key.toString(16).padStart(8, "0") + cost.toString(16).padStart(2, "0"))
    .join("");
}

const COST_LINE = /bytes internal constant COST_TABLE = hex"[0-9a-f]*";/;

export function withCostTable(source: string): string {
  return source.replace(COST_LINE, `bytes internal constant COST_TABLE = hex"${costTableHex()}";`);
}

/** What every version's vectors share: the inputs and the commitment, ids and shares they must give. */
type SolidityVector = Pick<
  Vector,
  "output" | "roots" | "chunks" | "commitment" | "contributionIds" | "shares"
>;

const VECTOR_ABI = parseAbiParameters(
  "bytes output, bytes32[] roots, (uint256 contributionId, uint32 chunkIndex, bytes text)[] chunks, bytes32 commitment, uint256[] ids, uint256[] shares",
);

/** A forge test's `VECTOR_COUNT` and `_vector(k)`: each vector ABI-encoded as VECTOR_ABI. */
export function solidityVectors(vectors: readonly SolidityVector[]): string[] {
  const lines = [`    uint256 internal constant VECTOR_COUNT = ${vectors.length};`, ""];
  lines.push("    function _vector(uint256 k) internal pure returns (bytes memory) {");
  vectors.forEach((v, k) => {
    const data = encodeAbiParameters(VECTOR_ABI, [
      v.output,
      v.roots,
      v.chunks.map((c) => ({
        contributionId: BigInt(c.contributionId),
        chunkIndex: c.chunkIndex,
        text: c.text,
      })),
      v.commitment,
      v.contributionIds.map(BigInt),
      v.shares.map(BigInt),
    ]);
    lines.push(`        if (k == ${k}) return hex"${data.slice(2)}";`);
  });
  lines.push('        revert("no such vector");', "    }");
  return lines;
}

const END = "    // END GENERATED";

/** `source` with its section generated by `generator` (a path in the BEGIN marker) replaced by `lines`. */
export function replaceGenerated(source: string, generator: string, lines: readonly string[]): string {
  const begin = `    // BEGIN GENERATED (${generator})`;
  const a = source.indexOf(begin);
  const b = source.indexOf(END);
  if (a < 0 || b < 0) throw new Error(`the forge test lacks the markers of ${generator}'s section`);
  return source.slice(0, a) + [begin, ...lines, END].join("\n") + source.slice(b + END.length);
}

/** The generated part of the span-v1 forge test: the shared vectors and a challenge scenario. */
export function generatedSoliditySection(vectors: Vector[]): string[] {
  const lines = [...solidityVectors(vectors), ""];
  for (const [name, value] of Object.entries(challengeScenario())) {
    lines.push(
      value.length === 66
        ? `    bytes32 internal constant ${name} = ${value};`
        : `    bytes internal constant ${name} = hex"${value.slice(2)}";`,
    );
  }
  return lines;
}

export function withGeneratedSection(source: string, vectors: Vector[]): string {
  return replaceGenerated(
    source,
    "packages/attribution/test/vectors/vectors.ts",
    generatedSoliditySection(vectors),
  );
}

/**
 * A settlement challenge on the real contracts (snapshot id 1): an operator that paid a later copy
 * (contribution 3) instead of the original (1), and an honest operator, each with one record.
 */
export function challengeScenario(): Record<string, Hex> {
  const chunks: SpanChunk[] = [
    { contributionId: 1n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
    {
      contributionId: 2n,
      chunkIndex: 0,
      text: "Honeybees communicate flower locations through a waggle dance.",
    },
    { contributionId: 3n, chunkIndex: 0, text: "Octopuses have three hearts and blue copper-based blood." },
    { contributionId: 4n, chunkIndex: 0, text: "Saturn's rings are made mostly of water ice particles." },
  ];
  const output =
    "Fun facts: octopuses have three hearts and blue copper-based blood, and honeybees communicate flower locations through dancing.";
  const tree = MerkleTree.build(chunks.map(spanChunkLeaf));
  const proven = (cid: bigint) => {
    const k = chunks.findIndex((c) => c.contributionId === cid);
    return { ...chunks[k], snapshotId: 1n, proof: tree.proof(k) };
  };
  const record = (settled: bigint[], added: bigint[], forged = false) => {
    const r = computeSpanV1(output, settled.map(proven), [tree.root]);
    const leaf = spanV1RecordLeaf(r.outputHash, r.commitment, [1n], r.witnesses);
    const evidenceChunks = [...settled, ...added].map(proven);
    if (forged)
      evidenceChunks[evidenceChunks.length - 1] = {
        ...evidenceChunks[evidenceChunks.length - 1],
        text: "Octopuses have three hearts and blue copper-based blood!",
      };
    const evidence = encodeSpanV1Evidence({
      output,
      commitment: r.commitment,
      snapshotIds: [1n],
      witnesses: r.witnesses,
      recordProof: [],
      chunks: evidenceChunks,
    });
    return { leaf, evidence };
  };
  const dishonest = record([2n, 3n], [1n]);
  const honest = record([1n, 2n], [4n, 3n]);
  const forged = record([2n, 3n], [1n], true);
  return {
    SNAPSHOT_ROOT: tree.root,
    DISHONEST_RECORD: dishonest.leaf,
    DISHONEST_EVIDENCE: dishonest.evidence,
    FORGED_EVIDENCE: forged.evidence,
    HONEST_RECORD: honest.leaf,
    HONEST_EVIDENCE: honest.evidence,
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const vectors = buildVectors();
  writeFileSync(VECTORS_FILE, `${JSON.stringify({ vectors }, null, 2)}\n`);
  writeFileSync(SOLIDITY_LIBRARY, withCostTable(readFileSync(SOLIDITY_LIBRARY, "utf8")));
  writeFileSync(SOLIDITY_TEST, withGeneratedSection(readFileSync(SOLIDITY_TEST, "utf8"), vectors));
  console.log("wrote span-v1.json, the cost table in SpanText.sol and the vectors in SpanV1Verifier.t.sol");
}
