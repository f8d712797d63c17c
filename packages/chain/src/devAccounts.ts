import { bytesToHex } from "viem";
import { type HDAccount, mnemonicToAccount } from "viem/accounts";

/** The well-known test mnemonic (the one anvil and hardhat use). */
export const TEST_MNEMONIC = "test test test test test test test test test test test junk";

export interface DevAccount {
  address: `0x${string}`;
  privateKey: `0x${string}`;
}

/** The first `count` accounts of the test mnemonic (m/44'/60'/0'/0/i). */
export function deriveDevAccounts(count: number, mnemonic = TEST_MNEMONIC): DevAccount[] {
  const accounts: DevAccount[] = [];
  for (let i = 0; i < count; i++) {
    const account: HDAccount = mnemonicToAccount(mnemonic, { addressIndex: i });
    const key = account.getHdKey().privateKey;
    if (!key) throw new Error(`no private key derived for dev account ${i}`);
    accounts.push({ address: account.address, privateKey: bytesToHex(key) });
  }
  return accounts;
}
