export { DEV_MNEMONIC, type DevAccount, devAccounts } from "./accounts.ts";
export { type Anvil, portIsFree, type StartAnvilOptions, startAnvil } from "./anvil.ts";
export { anvilBinaryPath, type FoundryTool, foundryBinaryPath } from "./binary.ts";
export { DevnetError, PortInUseError } from "./errors.ts";
