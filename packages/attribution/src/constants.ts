/** span-v1 and span-v2 constants (see README). Changing any of them makes a different algorithm. */
export const MIN_WORDS = 4;
export const MIN_SPAN_COST = 40;
export const MAX_OUTPUT_BYTES = 32_768;
export const MAX_OUTPUT_WORDS = 4_096;
export const SHARE_TOTAL = 1_000_000n;
export const SPAN_V1_TAG_TEXT = "openledger.span-v1";
export const SPAN_V2_TAG_TEXT = "openledger.span-v2";
