// The dev accounts are defined once, in @openledger/common (devnet's anvil funds the same ones).
export { DEV_MNEMONIC as TEST_MNEMONIC, type DevAccount, deriveDevAccounts } from "@openledger/common";
