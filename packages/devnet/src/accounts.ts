import type { Hex } from "viem";
import { mnemonicToAccount } from "viem/accounts";

/** The well-known development mnemonic anvil and hardhat fund by default. Never use it on a real chain. */
export const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export interface DevAccount {
  index: number;
  address: Hex;
  privateKey: Hex;
}

function derive(index: number): DevAccount {
  const account = mnemonicToAccount(DEV_MNEMONIC, { addressIndex: index });
  const key = account.getHdKey().privateKey;
  if (!key) throw new Error(`no private key derived for dev account ${index}`);
  return { index, address: account.address, privateKey: `0x${Buffer.from(key).toString("hex")}` };
}

/** The first 10 accounts of DEV_MNEMONIC (m/44'/60'/0'/0/i), the ones anvil funds by default. */
export const devAccounts: readonly DevAccount[] = Object.freeze(
  Array.from({ length: 10 }, (_, i) => derive(i)),
);
