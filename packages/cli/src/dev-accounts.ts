import { devAccounts } from "@openledger/common/dev-accounts";

export interface AccountRow {
  index: number;
  address: string;
  privateKey: string;
  /** Native balance, in whole units, labelled `nativeSymbol` (OPEN on the L2, ETH elsewhere). */
  native?: string;
  nativeSymbol?: "OPEN" | "ETH";
  /** The protocol token's balance (OpenToken, or WrappedOpen on the L2). */
  open?: string;
}

export function formatAccountRow(r: AccountRow): string {
  const balances = [
    r.native !== undefined ? `${r.native} ${r.nativeSymbol ?? "ETH"}` : "",
    r.open !== undefined ? `${r.open} ${r.nativeSymbol === "OPEN" ? "WOPEN" : "OPEN"}` : "",
  ]
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
  // the chain client loads only when balances are asked for, through viem's CommonJS build (fast-chain.ts)
  const { deployedToken, readOnlyChain, viemCjs } = await import("./fast-chain.ts");
  const { nativeSymbol } = await import("./wallet.ts");
  const { erc20Abi, formatEther } = viemCjs();
  const { publicClient, chainId } = await readOnlyChain(options.rpc);
  const symbol = await nativeSymbol(publicClient);
  const token = deployedToken(options.deployments, chainId)?.address;
  await Promise.all(
    rows.map(async (row) => {
      const address = row.address as `0x${string}`;
      row.native = formatEther(await publicClient.getBalance({ address }));
      row.nativeSymbol = symbol;
      if (token) {
        const held = await publicClient.readContract({
          address: token,
          abi: erc20Abi,
          functionName: "balanceOf",
          args: [address],
        });
        row.open = formatEther(held);
      }
    }),
  );
  return rows;
}
