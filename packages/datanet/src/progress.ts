/** A one-line progress bar on stderr (redrawn in place on a TTY, a line per 10% otherwise). */
export function progressBar(label: string, stream: NodeJS.WriteStream = process.stderr) {
  const width = 28;
  let lastDecile = -1;
  let lastDraw = 0;
  const draw = (done: number, total: number, force = false) => {
    const ratio = total > 0 ? Math.min(1, done / total) : 1;
    if (stream.isTTY) {
      const now = Date.now();
      if (!force && now - lastDraw < 50 && ratio < 1) return;
      lastDraw = now;
      const filled = Math.round(ratio * width);
      stream.write(
        `\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}% ${done}/${total}`,
      );
    } else {
      const decile = Math.floor(ratio * 10);
      if (decile === lastDecile) return;
      lastDecile = decile;
      stream.write(`${label} ${decile * 10}% (${done}/${total})\n`);
    }
  };
  return {
    update: (done: number, total: number) => draw(done, total),
    finish: (done: number, total: number) => {
      draw(done, total, true);
      if (stream.isTTY) stream.write("\n");
    },
  };
}

/** Passes chunks through while reporting the bytes seen so far. */
export async function* countingStream(
  source: AsyncIterable<Uint8Array>,
  onBytes: (bytes: number) => void,
): AsyncGenerator<Uint8Array> {
  let seen = 0;
  for await (const chunk of source) {
    seen += chunk.length;
    onBytes(seen);
    yield chunk;
  }
}
