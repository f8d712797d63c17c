import type { Occurrence } from "./types.ts";

/** Orders occurrences by (contributionId, chunkIndex, chunkWordOffset). */
export function compareOccurrences(a: Occurrence, b: Occurrence): number {
  if (a.contributionId !== b.contributionId) return a.contributionId < b.contributionId ? -1 : 1;
  if (a.chunkIndex !== b.chunkIndex) return a.chunkIndex - b.chunkIndex;
  return a.chunkWordOffset - b.chunkWordOffset;
}
