import { devAccounts } from "@openledger/devnet";
import { connect, readDeployment, tokenBalance } from "@openledger/sdk";
import { formatEther } from "viem";

export interface AccountRow {
  index: number;
  address: string;
  privateKey: string;
  eth?: string;
  open?: string;
}

export function formatAccountRow(r: AccountRow): string {
  const balances = [r.eth !== undefined ? `${r.eth} ETH` : "", r.open !== undefined ? `${r.open} OPEN` : ""]
    .filter(Boolean)
    .join("  ");
  return `(${r.index}) ${r.address}  ${r.privateKey}${balances ? `  ${balances}` : ""}`;
}

/** The dev accounts, with native and $OPEN balances when an RPC (and a deployment there) is known. */
export async function accountRows(options: { rpc?: string; deployments: string }): Promise<AccountRow[]> {
  const rows: AccountRow[] = devAccounts.map((a) => ({
    index: a.index,
    address: a.address,
    privateKey: a.privateKey,
  }));
  if (!options.rpc) return rows;
  const { publicClient, chain } = await connect(options.rpc);
  const deployment = readDeployment(options.deployments, chain.id);
  const token = deployment?.addresses.token;
  for (const row of rows) {
    const address = row.address as `0x${string}`;
    row.eth = formatEther(await publicClient.getBalance({ address }));
    if (token) row.open = formatEther(await tokenBalance(publicClient, { token, account: address }));
  }
  return rows;
}
