import type { Logger } from "./log.ts";

/** Where progress is drawn: stderr, or any stream with the same two members. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Progress of several phases that advance at the same time (the seed's contributions and snapshots).
 * On a terminal: ONE line redrawn in place, so no phase overwrites another, ended by `finish()`.
 * Elsewhere (a pipe, a log file): a log entry per phase per 10% through `log`, so `--log-format json`
 * output stays one JSON object per line.
 */
export function multiProgress(phases: readonly string[], options: { stream?: ProgressStream; log: Logger }) {
  const stream = options.stream ?? process.stderr;
  const width = 20;
  const state = new Map(phases.map((p) => [p, { done: 0, total: 0, decile: -1 }]));
  let lastDraw = 0;
  let drawn = false;
  let finished = false;
  const bar = (done: number, total: number) => {
    const ratio = total > 0 ? Math.min(1, done / total) : 0;
    const filled = Math.round(ratio * width);
    return `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total}`;
  };
  const redraw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 50) return;
    lastDraw = now;
    const line = [...state].map(([phase, s]) => `${phase} ${bar(s.done, s.total)}`).join("  ");
    // \x1b[K clears what a longer earlier line left at the end
    stream.write(`\r${line}\x1b[K`);
    drawn = true;
  };
  return {
    update(phase: string, done: number, total: number): void {
      const s = state.get(phase);
      if (!s || finished) return;
      s.done = done;
      s.total = total;
      if (stream.isTTY) {
        redraw(done >= total);
        return;
      }
      const decile = total > 0 ? Math.floor(Math.min(1, done / total) * 10) : 0;
      if (decile === s.decile) return;
      s.decile = decile;
      options.log.info("progress", { phase, percent: decile * 10, done, total });
    },
    /** Draws the final state and ends the line (once; later calls do nothing). */
    finish(): void {
      if (finished) return;
      finished = true;
      if (stream.isTTY && drawn) {
        redraw(true);
        stream.write("\n");
      }
    },
  };
}
