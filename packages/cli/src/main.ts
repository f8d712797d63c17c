import { oneLine } from "./errors.ts";
import { run } from "./program.ts";

for (const event of ["uncaughtException", "unhandledRejection"] as const) {
  process.on(event, (err: unknown) => {
    process.stderr.write(`error: ${oneLine(err)}\n`);
    process.exit(1);
  });
}

process.exitCode = await run(process.argv);
