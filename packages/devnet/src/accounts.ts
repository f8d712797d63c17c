// The dev accounts are defined once, in @openledger/common (the chain's genesis funds the same ones).
export { DEV_MNEMONIC, type DevAccount, devAccounts } from "@openledger/common";
