export { deriveDevAccounts } from "./derive-dev-accounts.ts";
export { DEV_MNEMONIC, type DevAccount, devAccounts } from "./dev-accounts.ts";
export { internalErrorBody, type OpenAIErrorBody, openAIError } from "./openai-error.ts";
export {
  MERKLE_MULTIPROOF_ADDRESS,
  PRECOMPILE_ADDRESSES,
  type PrecompileDefinition,
  SPAN_V1_PRECOMPILE_ADDRESS,
  SPAN_V2_PRECOMPILE_ADDRESS,
} from "./precompiles.ts";
export { mulberry32, SeededRandom } from "./prng.ts";
export { KeyedSerialQueue, SerialQueue } from "./serial-queue.ts";
export { nfc, nfcUtf8, normalizeText } from "./text.ts";
