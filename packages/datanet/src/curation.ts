import type { ChainAccess, DatanetStores } from "./context.ts";
import type { ContributionRow } from "./db.ts";
import { InvalidInputError, NotFoundError } from "./errors.ts";

/** Every decision names an existing, pending contribution (of `datanetId`, when given). */
export function checkDecisions(
  stores: DatanetStores,
  decisions: readonly { contributionId: bigint; accept: boolean }[],
  datanetId?: bigint,
): void {
  if (decisions.length === 0) throw new InvalidInputError("empty_batch", "no curation decisions given");
  if (datanetId !== undefined && !stores.db.getDatanet(datanetId)) {
    throw new NotFoundError("unknown_datanet", `Datanet ${datanetId} does not exist`);
  }
  for (const d of decisions) {
    const row = stores.db.getContribution(d.contributionId);
    if (!row)
      throw new NotFoundError("unknown_contribution", `contribution ${d.contributionId} does not exist`);
    if (datanetId !== undefined && row.datanetId !== datanetId) {
      throw new InvalidInputError(
        "wrong_datanet",
        `contribution ${d.contributionId} belongs to Datanet ${row.datanetId}, not Datanet ${datanetId}; curate it under its own Datanet`,
      );
    }
    if (row.status !== "pending") {
      throw new InvalidInputError(
        "not_pending",
        `contribution ${d.contributionId} is already ${row.status}; only pending ones can be curated`,
      );
    }
  }
}

/** Accepts or rejects pending contributions on-chain (one curateBatch call) as `curator`. */
export async function curate(
  stores: DatanetStores,
  chain: ChainAccess,
  curator: string,
  decisions: readonly { contributionId: bigint; accept: boolean }[],
  /** When given, every contribution must belong to this Datanet. */
  datanetId?: bigint,
): Promise<ContributionRow[]> {
  const sender = chain.sender(curator, "curator");
  if (decisions.length === 0) throw new InvalidInputError("empty_batch", "no curation decisions given");
  await chain.sync();
  checkDecisions(stores, decisions, datanetId);
  await chain.registry.curateBatch(
    sender,
    decisions.map((d) => ({ contributionId: d.contributionId, accept: d.accept })),
  );
  await chain.sync();
  return decisions.map((d) => stores.db.getContribution(d.contributionId)!);
}
