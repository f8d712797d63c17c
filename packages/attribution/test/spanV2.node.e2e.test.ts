// span-v2 on the project's own L2 node: the precompile registered at 0x…0802 beside span-v1's, called
// with eth_call through viem, equals the library on every shared span-v2 vector; span-v1 still answers.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { type RunningNode, startNode } from "@openledger/chain";
import { createPublicClient, hexToBytes, http, toHex } from "viem";
import {
  decodeSpanV1PrecompileOutput,
  encodeSpanV1PrecompileInput,
  SPAN_V1_PRECOMPILE_ADDRESS,
  SPAN_V2_PRECOMPILE_ADDRESS,
  spanV1Precompile,
  spanV2Precompile,
} from "../src/index.ts";
import { SPAN_V2_VECTORS_FILE, type SpanV2Vector } from "./vectors/spanV2Vectors.ts";
import { VECTORS_FILE, type Vector } from "./vectors/vectors.ts";

const inputOf = (v: Vector | SpanV2Vector) =>
  toHex(
    encodeSpanV1PrecompileInput(
      hexToBytes(v.output),
      v.roots,
      v.chunks.map((c) => ({
        contributionId: BigInt(c.contributionId),
        chunkIndex: c.chunkIndex,
        text: hexToBytes(c.text),
      })),
    ),
  );

describe("span-v2 precompile on the OpenLedger node", () => {
  let running: RunningNode;
  let client: ReturnType<typeof createPublicClient>;

  before(async () => {
    running = await startNode({
      datadir: join(mkdtempSync(join(tmpdir(), "span-v2-node-")), "chain"),
      automine: true,
      precompiles: [spanV1Precompile, spanV2Precompile],
      host: "127.0.0.1",
      port: 0,
    });
    client = createPublicClient({ transport: http(running.url) });
  });
  after(() => running?.close());

  test("eth_call to 0x…0802 returns the library's commitment and shares on every span-v2 vector", async () => {
    const vectors: SpanV2Vector[] = JSON.parse(readFileSync(SPAN_V2_VECTORS_FILE, "utf8")).vectors;
    for (const v of vectors) {
      const { data } = await client.call({ to: SPAN_V2_PRECOMPILE_ADDRESS, data: inputOf(v) });
      const out = decodeSpanV1PrecompileOutput(hexToBytes(data!));
      assert.equal(out.commitment, v.commitment, v.name);
      assert.deepEqual(out.contributionIds.map(String), v.contributionIds, v.name);
      assert.deepEqual(out.shares.map(Number), v.shares, v.name);
    }
  });

  test("span-v1 at 0x…0801 still answers with the posted span-v1 commitments", async () => {
    const vectors: Vector[] = JSON.parse(readFileSync(VECTORS_FILE, "utf8")).vectors;
    for (const v of vectors.slice(0, 5)) {
      const { data } = await client.call({ to: SPAN_V1_PRECOMPILE_ADDRESS, data: inputOf(v) });
      const out = decodeSpanV1PrecompileOutput(hexToBytes(data!));
      assert.equal(out.commitment, v.commitment, v.name);
    }
  });

  test("malformed input to 0x…0802 reverts with a span-v2 message", async () => {
    await assert.rejects(client.call({ to: SPAN_V2_PRECOMPILE_ADDRESS, data: "0x010203" }), /span-v2/);
  });
});
