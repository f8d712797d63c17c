// Shared span-v2 test vectors (TS library = precompile = Solidity). `node --import tsx spanV2Vectors.ts`
// rewrites span-v2.json and the generated part of contracts/test/SpanV2.t.sol; a test checks both
// equal what the library computes now.
import { readFileSync, writeFileSync } from "node:fs";
import { bytesToHex, encodeAbiParameters, parseAbiParameters } from "viem";
import { computeSpanV2, nfcBytes, type SpanChunk } from "../../src/index.ts";
import { HAND, randomCase, root } from "./vectors.ts";

export interface SpanV2Vector {
  name: string;
  output: `0x${string}`;
  roots: `0x${string}`[];
  chunks: { contributionId: string; chunkIndex: number; text: `0x${string}` }[];
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
      chunks: c.chunks.map((ch) => ({
        contributionId: ch.contributionId.toString(),
        chunkIndex: ch.chunkIndex,
        text: bytesToHex(nfcBytes(ch.text)),
      })),
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

const BEGIN = "    // BEGIN GENERATED (packages/attribution/test/vectors/spanV2Vectors.ts)";
const END = "    // END GENERATED";
const VECTOR_ABI = parseAbiParameters(
  "bytes output, bytes32[] roots, (uint256 contributionId, uint32 chunkIndex, bytes text)[] chunks, bytes32 commitment, uint256[] ids, uint256[] shares",
);

/** The generated part of the forge test: the shared span-v2 vectors, ABI-encoded. */
export function spanV2SoliditySection(vectors: SpanV2Vector[]): string {
  const lines = [BEGIN, `    uint256 internal constant VECTOR_COUNT = ${vectors.length};`, ""];
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
  lines.push(END);
  return lines.join("\n");
}

export function withSpanV2Section(source: string, vectors: SpanV2Vector[]): string {
  const a = source.indexOf(BEGIN);
  const b = source.indexOf(END);
  if (a < 0 || b < 0) throw new Error("SpanV2.t.sol lacks the generated-section markers");
  return source.slice(0, a) + spanV2SoliditySection(vectors) + source.slice(b + END.length);
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
