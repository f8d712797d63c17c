// Shared span-v2 test vectors (TS library = precompile = Solidity). `node --import tsx spanV2Vectors.ts`
// rewrites span-v2.json and the generated part of contracts/test/SpanV2.t.sol; a test checks both
// equal what the library computes now.
import { readFileSync, writeFileSync } from "node:fs";
import { bytesToHex } from "viem";
import { computeSpanV2, nfcBytes, type SpanChunk } from "../../src/index.ts";
import {
  HAND,
  randomCase,
  replaceGenerated,
  root,
  solidityVectors,
  storedChunks,
  type VectorChunk,
} from "./vectors.ts";

export interface SpanV2Vector {
  name: string;
  output: `0x${string}`;
  roots: `0x${string}`[];
  chunks: VectorChunk[];
  commitment: `0x${string}`;
  contributionIds: string[];
  shares: number[];
  segments: { wordStart: number; wordEnd: number; contributionId: string; weight: number }[];
}

const GLOSS = "a small burrowing marsupial with coarse brown fur and stubby legs";

/** Cases where span-v2 differs from span-v1 by design: extended copies and later additions. */
const V2_HAND: { name: string; output: string; chunks: SpanChunk[] }[] = [
  {
    name: "copy extended by one word on each side earns nothing",
    output: `The wombat, and ${GLOSS}, while it digs.`,
    chunks: [
      { contributionId: 1n, chunkIndex: 0, text: `${GLOSS}.` },
      { contributionId: 9n, chunkIndex: 0, text: `and ${GLOSS}, while` },
    ],
  },
  {
    name: "copy extended by two words on one side, in another snapshot, earns nothing",
    output: `Indeed it is ${GLOSS}.`,
    chunks: [
      { contributionId: 4n, chunkIndex: 1, text: `Wombat: ${GLOSS}.` },
      { contributionId: 12n, chunkIndex: 0, text: `it is ${GLOSS}` },
    ],
  },
  {
    name: "a later contribution keeps the rare run it added",
    output: "Alpha beta gamma delta epsilon zeta eta theta iota",
    chunks: [
      { contributionId: 3n, chunkIndex: 0, text: "alpha beta gamma delta epsilon" },
      { contributionId: 4n, chunkIndex: 0, text: "gamma delta epsilon zeta eta theta iota" },
    ],
  },
];

export function buildSpanV2Vectors(): SpanV2Vector[] {
  const cases = [...V2_HAND, ...HAND, ...Array.from({ length: 20 }, (_, k) => randomCase(2000 + k))];
  return cases.map((c, k) => {
    const roots = [root(`span-v2 snapshot ${k}`)];
    const r = computeSpanV2(c.output, c.chunks, roots);
    return {
      name: c.name,
      output: bytesToHex(nfcBytes(c.output)),
      roots,
      chunks: storedChunks(c.chunks),
      commitment: r.commitment,
      contributionIds: r.credits.map((x) => x.contributionId.toString()),
      shares: r.credits.map((x) => x.share),
      segments: r.spans.map((s) => ({
        wordStart: s.wordStart,
        wordEnd: s.wordEnd,
        contributionId: s.contributionId.toString(),
        weight: s.weight,
      })),
    };
  });
}

export const SPAN_V2_VECTORS_FILE = new URL("./span-v2.json", import.meta.url);
export const SPAN_V2_SOLIDITY_TEST = new URL("../../../../contracts/test/SpanV2.t.sol", import.meta.url);

/** The generated part of the span-v2 forge test: the shared span-v2 vectors, ABI-encoded. */
export function withSpanV2Section(source: string, vectors: SpanV2Vector[]): string {
  return replaceGenerated(
    source,
    "packages/attribution/test/vectors/spanV2Vectors.ts",
    solidityVectors(vectors),
  );
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const vectors = buildSpanV2Vectors();
  writeFileSync(SPAN_V2_VECTORS_FILE, `${JSON.stringify({ vectors }, null, 2)}\n`);
  writeFileSync(
    SPAN_V2_SOLIDITY_TEST,
    withSpanV2Section(readFileSync(SPAN_V2_SOLIDITY_TEST, "utf8"), vectors),
  );
  console.log("wrote span-v2.json and the vectors in SpanV2.t.sol");
}
