import {
  approveTokenWrite,
  buyLicenseWrite,
  type ContractWrite,
  callOf,
  contributeBatchWrite,
  createDatanetWrite,
  curateBatchWrite,
  publishSnapshotWrite,
} from "@openledger/sdk";
import type { Address, Hex } from "viem";
import type { ChainAccess, DatanetStores } from "./context.ts";
import { checkDecisions } from "./curation.ts";
import { type CreateDatanetInput, datanetParams } from "./datanets.ts";
import { DuplicateContentError, NotFoundError, PermissionError } from "./errors.ts";
import { licenseToBytes32, loadContributionMeta, validateAddress } from "./ingest.ts";
import { getSnapshot, prepareSnapshot } from "./publishing.ts";

// The server never signs for a caller: outside dev mode, each action that needs a transaction comes
// back as unsigned transactions for the caller's own wallet to sign and send, in order. The index
// follows the chain, so the result shows up once they are mined.

/** A transaction for the caller's wallet: `eth_sendTransaction` these fields from `from`. */
export interface UnsignedTransaction {
  chainId: number;
  from: Address;
  to: Address;
  data: Hex;
  value: "0";
  /** `Contract.function`, what the wallet is asked to approve. */
  label: string;
}

function unsigned(chain: ChainAccess, from: Address, write: ContractWrite): UnsignedTransaction {
  const call = callOf(write);
  return {
    chainId: chain.registry.chainId,
    from,
    to: call.to as Address,
    data: call.data,
    value: "0",
    label: call.label,
  };
}

export async function createDatanetTransactions(
  stores: DatanetStores,
  chain: ChainAccess,
  input: CreateDatanetInput,
): Promise<UnsignedTransaction[]> {
  const { owner, meta, params } = datanetParams(input);
  const { cid } = await stores.blobs.put(meta);
  const write = createDatanetWrite({
    registry: chain.registry.address,
    metadataURI: `ipfs://${cid}`,
    ...params,
  });
  return [unsigned(chain, owner, write as ContractWrite)];
}

export async function curateTransactions(
  stores: DatanetStores,
  chain: ChainAccess,
  curator: string,
  decisions: readonly { contributionId: bigint; accept: boolean }[],
  datanetId?: bigint,
): Promise<UnsignedTransaction[]> {
  const from = validateAddress(curator, "curator");
  await chain.sync();
  checkDecisions(stores, decisions, datanetId);
  const write = curateBatchWrite({
    registry: chain.registry.address,
    decisions: decisions.map((d) => ({ contributionId: d.contributionId, accept: d.accept })),
  });
  return [unsigned(chain, from, write as ContractWrite)];
}

export async function snapshotTransactions(
  stores: DatanetStores,
  chain: ChainAccess,
  owner: string,
  datanetId: bigint,
): Promise<UnsignedTransaction[]> {
  const from = validateAddress(owner, "owner");
  await chain.sync();
  const { commitment } = await prepareSnapshot(stores, from, datanetId);
  const write = publishSnapshotWrite({ registry: chain.registry.address, ...commitment });
  return [unsigned(chain, from, write as ContractWrite)];
}

/** The fee approval, then the purchase. */
export async function licenseTransactions(
  stores: DatanetStores,
  chain: ChainAccess,
  buyer: string,
  snapshotId: bigint,
  licensee?: string,
): Promise<UnsignedTransaction[]> {
  const from = validateAddress(buyer, "buyer");
  const holder = licensee ? validateAddress(licensee, "licensee") : from;
  getSnapshot(stores, snapshotId);
  const registry = chain.registry;
  if (await registry.hasLicense(snapshotId, holder)) {
    throw new DuplicateContentError(
      "exact_duplicate",
      `${holder} already holds a license for snapshot ${snapshotId}`,
      { snapshotId },
    );
  }
  const price = await registry.licensePrice(snapshotId);
  const approve = approveTokenWrite({
    token: await registry.token(),
    spender: registry.address,
    amount: price,
  });
  const buy = buyLicenseWrite({
    registry: registry.address,
    snapshotId: snapshotId,
    licensee: holder,
  });
  return [unsigned(chain, from, approve as ContractWrite), unsigned(chain, from, buy as ContractWrite)];
}

/** The on-chain submission of staged uploads, from their contributor (one batch per Datanet, after the bond approval). */
export async function submitTransactions(
  stores: DatanetStores,
  chain: ChainAccess,
  contributor: string,
  staged: readonly { datanetId: bigint; contentHash: Hex }[],
): Promise<UnsignedTransaction[]> {
  const from = validateAddress(contributor, "contributor");
  const byDatanet = new Map<bigint, string[]>();
  for (const s of staged) {
    const row = stores.db.getStaged(s.datanetId, s.contentHash);
    if (!row)
      throw new NotFoundError("not_staged", `no staged upload ${s.contentHash} for Datanet ${s.datanetId}`);
    if (row.contributor.toLowerCase() !== from.toLowerCase()) {
      throw new PermissionError(
        "wrong_sender",
        `upload ${s.contentHash} was signed by ${row.contributor}; only that account may submit it`,
      );
    }
    byDatanet.set(s.datanetId, [...(byDatanet.get(s.datanetId) ?? []), row.metaCid]);
  }
  const out: UnsignedTransaction[] = [];
  for (const [datanetId, metaCids] of byDatanet) {
    const metas = await Promise.all(metaCids.map((cid) => loadContributionMeta(stores.blobs, cid)));
    const write = contributeBatchWrite({
      registry: chain.registry.address,
      datanetId,
      contributions: metas.map((m) => ({
        contentHash: m.contentHash,
        byteSize: BigInt(m.byteSize),
        license: licenseToBytes32(m.license),
      })),
    });
    // A bonded Datanet pulls the bonds with transferFrom: the approval goes first.
    const bond = await chain.registry.contributionBond(datanetId);
    if (bond > 0n) {
      const approve = approveTokenWrite({
        token: await chain.registry.token(),
        spender: chain.registry.address,
        amount: bond * BigInt(metas.length),
      });
      out.push(unsigned(chain, from, approve as ContractWrite));
    }
    out.push(unsigned(chain, from, write as ContractWrite));
  }
  return out;
}
