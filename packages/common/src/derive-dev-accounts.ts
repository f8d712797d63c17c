import { bytesToHex } from "viem";
import { mnemonicToAccount } from "viem/accounts";
import { DEV_MNEMONIC, type DevAccount } from "./dev-accounts.ts";

/** Accounts `0..count-1` of `mnemonic` on the path m/44'/60'/0'/0/i. */
export function deriveDevAccounts(count: number, mnemonic = DEV_MNEMONIC): DevAccount[] {
  return Array.from({ length: count }, (_, index) => {
    const account = mnemonicToAccount(mnemonic, { addressIndex: index });
    const key = account.getHdKey().privateKey;
    if (!key) throw new Error(`no private key derived for dev account ${index}`);
    return { index, address: account.address, privateKey: bytesToHex(key) };
  });
}
