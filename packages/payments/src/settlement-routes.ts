import { openAIError } from "@openledger/common";
import { buildRecordTree, type RecordTree } from "@openledger/sdk";
import type { FastifyInstance, FastifyReply } from "fastify";
import { type Address, getAddress, isAddress } from "viem";
import type { BatchRow, PaymentsDb } from "./db.ts";

export interface SettlementRoutesOptions {
  db: PaymentsDb;
  settlement: Address;
  operator: Address;
}

const DECIMAL = /^(0|[1-9][0-9]{0,76})$/;
const MAX_LIST = 100;

/** The public view of a batch: everything but its records' contents. */
function summary(b: BatchRow, tree: RecordTree) {
  return {
    object: "settlement.batch",
    id: b.batchId.toString(),
    modelId: b.modelId.toString(),
    status: b.status,
    fee: b.fee.toString(),
    prepaid: b.prepaid.toString(),
    challengeDeadline: b.challengeDeadline.toString(),
    transaction: b.txHash,
    recordsRoot: tree.root,
    recordsTotal: tree.total.toString(),
    records: b.records.length,
  };
}

/**
 * The operator's published batches, so anyone can check and challenge them:
 * `GET /v1/settlement/batches[?limit=N&before=ID]` (newest first), `GET /v1/settlement/batches/:id`
 * (with the debits and each record's payouts), `GET /v1/settlement/batches/:id/records/:index` (the
 * record's attribution bytes, payouts and sum-tree proof, the answer's text and its span-v2 evidence:
 * credits, credited segments and the witness chunks with their Merkle proofs),
 * `GET /v1/settlement/accounts/:address/payouts` (every payout to an account, ready to claim).
 */
export async function settlementRoutes(app: FastifyInstance, o: SettlementRoutesOptions): Promise<void> {
  const trees = new Map<bigint, RecordTree>();
  const treeOf = (b: BatchRow): RecordTree => {
    let t = trees.get(b.batchId);
    if (!t) {
      t = buildRecordTree(
        b.records.map((r) => ({
          attribution: r.attribution,
          payouts: r.payouts.map((p) => ({ account: p.account, amount: BigInt(p.amount) })),
        })),
      );
      if (trees.size >= 64) trees.delete(trees.keys().next().value!);
      trees.set(b.batchId, t);
    }
    return t;
  };
  const bad = (reply: FastifyReply, status: number, message: string, code: string) =>
    reply.code(status).send(openAIError(message, "invalid_request_error", code));
  const batchOf = (reply: FastifyReply, id: string): BatchRow | undefined => {
    if (!DECIMAL.test(id)) {
      bad(reply, 400, `batch id '${id.slice(0, 80)}' must be a decimal integer`, "invalid_batch_id");
      return undefined;
    }
    const b = o.db.batch(BigInt(id));
    if (!b) bad(reply, 404, `no batch ${id} was posted by operator ${o.operator}`, "batch_not_found");
    return b;
  };

  app.get<{ Querystring: { limit?: string; before?: string } }>(
    "/v1/settlement/batches",
    async (req, reply) => {
      const { limit = "20", before } = req.query;
      if (!/^[1-9][0-9]{0,2}$/.test(limit) || Number(limit) > MAX_LIST)
        return bad(reply, 400, `'limit' must be an integer from 1 to ${MAX_LIST}`, "invalid_limit");
      if (before !== undefined && !DECIMAL.test(before))
        return bad(reply, 400, "'before' must be a decimal batch id", "invalid_batch_id");
      const rows = o.db.batches({
        limit: Number(limit),
        before: before === undefined ? undefined : BigInt(before),
      });
      return {
        object: "list",
        settlement: o.settlement,
        operator: o.operator,
        data: rows.map((b) => summary(b, treeOf(b))),
      };
    },
  );

  app.get<{ Params: { id: string } }>("/v1/settlement/batches/:id", async (req, reply) => {
    const b = batchOf(reply, req.params.id);
    if (!b) return reply;
    return {
      ...summary(b, treeOf(b)),
      debits: b.debits,
      data: b.records.map((r, index) => ({ index, requestId: b.requestIds[index], payouts: r.payouts })),
    };
  });

  app.get<{ Params: { id: string; index: string } }>(
    "/v1/settlement/batches/:id/records/:index",
    async (req, reply) => {
      const b = batchOf(reply, req.params.id);
      if (!b) return reply;
      const { index } = req.params;
      if (!/^(0|[1-9][0-9]{0,8})$/.test(index))
        return bad(
          reply,
          400,
          `record index '${index.slice(0, 80)}' must be a decimal integer`,
          "invalid_record_index",
        );
      const i = Number(index);
      if (i >= b.records.length)
        return bad(
          reply,
          404,
          `batch ${b.batchId} has ${b.records.length} records (indexes 0 to ${b.records.length - 1})`,
          "record_not_found",
        );
      const proof = treeOf(b).proof(i);
      const usage = o.db.usage(b.requestIds[i]!);
      return {
        object: "settlement.record",
        batchId: b.batchId.toString(),
        index: i,
        requestId: b.requestIds[i],
        attribution: proof.attribution,
        attributionHash: proof.attributionHash,
        payouts: b.records[i]!.payouts,
        proof: proof.proof.map((n) => ({ hash: n.hash, sum: n.sum.toString() })),
        output: usage?.output ?? null,
        snapshotIds: (usage?.snapshotIds ?? []).map(String),
        evidence: usage?.attribution ?? null,
        // what the batch's uncredited records were paid by (the off-chain rule the watcher checks)
        training: b.training ?? [],
      };
    },
  );

  app.get<{ Params: { address: string } }>("/v1/settlement/accounts/:address/payouts", async (req, reply) => {
    if (!isAddress(req.params.address))
      return bad(reply, 400, `'${req.params.address.slice(0, 80)}' is not an address`, "invalid_address");
    const account = getAddress(req.params.address);
    // the payouts index (SQLite) names the account's entries; only their batches are read
    const data = o.db.payoutsTo(account).map(({ batch: b, index, entry }) => {
      const r = b.records[index]!;
      const credits = o.db.usage(b.requestIds[index]!)?.attribution?.credits ?? [];
      const proof = treeOf(b).proof(index);
      return {
        batchId: b.batchId.toString(),
        modelId: b.modelId.toString(),
        status: b.status,
        index,
        entry,
        amount: r.payouts[entry]!.amount,
        // a credited record pays its credits in order; an uncredited one pays training snapshots' contributors
        contributionId: credits.length ? (credits[entry]?.contributionId ?? null) : null,
        attributionHash: proof.attributionHash,
        payouts: r.payouts,
        proof: proof.proof.map((n) => ({ hash: n.hash, sum: n.sum.toString() })),
      };
    });
    return { object: "list", account, data };
  });
}
