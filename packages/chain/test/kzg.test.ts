// The KZG point-evaluation precompile (0x0a): the backend against the EIP-4844 test vectors of
// c-kzg-4844, and the same signed transaction on this node and on anvil (--hardfork osaka).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import { type Anvil, startAnvil } from "@openledger/devnet";
import { createChainCommon } from "../src/chainConfig.ts";
import { kzgBackend } from "../src/kzg.ts";
import { rpc, startTestNode, waitReceipt } from "./helpers.ts";

interface Vector {
  name: string;
  commitment: string;
  z: string;
  y: string;
  proof: string;
  /** null: the inputs are invalid (not a field element, not a curve point). */
  output: boolean | null;
}

const vectors = (
  JSON.parse(readFileSync(new URL("./fixtures/kzg-point-evaluation.json", import.meta.url), "utf8")) as {
    cases: Vector[];
  }
).cases;

const POINT_EVALUATION = "0x000000000000000000000000000000000000000a";
/** FIELD_ELEMENTS_PER_BLOB (4096) and the BLS modulus, the precompile's success output. */
const SUCCESS_OUTPUT =
  "0x000000000000000000000000000000000000000000000000000000000000100073eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";

/** The precompile's 192-byte input: versioned hash, z, y, commitment, proof. */
function precompileInput(v: Vector): `0x${string}` {
  const commitment = hexToBytes(v.commitment as `0x${string}`);
  const versioned = createHash("sha256").update(commitment).digest();
  versioned[0] = 1;
  return `0x${versioned.toString("hex")}${v.z.slice(2)}${v.y.slice(2)}${v.commitment.slice(2)}${v.proof.slice(2)}`;
}

function verdict(v: Vector): boolean {
  try {
    return kzgBackend.verifyProof(v.commitment, v.z, v.y, v.proof);
  } catch {
    return false;
  }
}

describe("KZG backend", () => {
  test("verifyProof matches the EIP-4844 verify_kzg_proof vectors", () => {
    for (const v of vectors) assert.equal(verdict(v), v.output === true, v.name);
  });
});

describe("point evaluation precompile 0x0a: node and anvil agree", () => {
  let node: Awaited<ReturnType<typeof startTestNode>>;
  let anvil: Anvil;
  before(async () => {
    [node, anvil] = await Promise.all([
      startTestNode({ automine: true }),
      startAnvil({ chainId: 1337, extraArgs: ["--hardfork", "osaka"] }),
    ]);
  });
  after(async () => {
    await Promise.all([node?.close(), anvil?.stop()]);
  });

  test("eth_call gives the same output or failure (valid, wrong and malformed proofs)", async () => {
    // Pure-JS pairings take tens of milliseconds each on a loaded machine: a spread of six cases.
    const names = [
      "correct_proof_1_2",
      "correct_proof_point_at_infinity_for_zero_poly_1",
      "incorrect_proof_5_3",
      "incorrect_proof_point_at_infinity_0",
      "invalid_commitment_2",
      "invalid_z_0",
    ];
    for (const v of vectors.filter((x) => names.includes(x.name))) {
      const call = { to: POINT_EVALUATION, data: precompileInput(v) };
      const [ours, theirs] = await Promise.all([
        rpc(node.url, "eth_call", [call, "latest"]),
        rpc(anvil.rpcUrl, "eth_call", [call, "latest"]),
      ]);
      assert.equal(ours.result, theirs.result, `${v.name}: result`);
      assert.equal(ours.error === undefined, theirs.error === undefined, `${v.name}: failure`);
      if (v.output === true) assert.equal(ours.result, SUCCESS_OUTPUT, v.name);
    }
  });

  test("the same signed transactions get the same status, gas and state on both", async () => {
    const common = createChainCommon(1337n);
    const key = hexToBytes(node.node.devAccounts[0].privateKey);
    const picked = [vectors[0], vectors[2], vectors[6], vectors[vectors.length - 1]];
    for (const [i, v] of picked.entries()) {
      const tx = createTx(
        {
          type: 2,
          chainId: 1337n,
          nonce: BigInt(i),
          to: POINT_EVALUATION,
          data: precompileInput(v),
          gasLimit: 200_000n,
          maxFeePerGas: 10n ** 11n,
          maxPriorityFeePerGas: 10n ** 9n,
        },
        { common },
      ).sign(key);
      const raw = bytesToHex(tx.serialize());
      const hash = bytesToHex(tx.hash());
      for (const url of [node.url, anvil.rpcUrl]) {
        const sent = await rpc(url, "eth_sendRawTransaction", [raw]);
        assert.equal(sent.result, hash, `${v.name} on ${url}: ${JSON.stringify(sent.error)}`);
      }
      const [ours, theirs] = (await Promise.all(
        [node.url, anvil.rpcUrl].map((url) => waitReceipt(url, hash)),
      )) as { status: string; gasUsed: string }[];
      assert.ok(ours, `${v.name}: the node has a receipt`);
      assert.equal(ours.status, theirs.status, `${v.name}: status`);
      assert.equal(ours.gasUsed, theirs.gasUsed, `${v.name}: gasUsed`);
      assert.equal(ours.status, v.output === true ? "0x1" : "0x0", v.name);
    }
    const sender = node.node.devAccounts[0].address;
    for (const method of ["eth_getTransactionCount", "eth_getCode"]) {
      const [a, b] = await Promise.all([
        rpc(node.url, method, [method === "eth_getCode" ? POINT_EVALUATION : sender, "latest"]),
        rpc(anvil.rpcUrl, method, [method === "eth_getCode" ? POINT_EVALUATION : sender, "latest"]),
      ]);
      assert.equal(a.result, b.result, method);
    }
    // Balances differ only by the base fee each chain charged; the state must still read normally.
    const other = await rpc(node.url, "eth_getBalance", [node.node.devAccounts[1].address, "latest"]);
    assert.equal(BigInt(other.result as string), 10_000n * 10n ** 18n);
  });
});
