// The WordNet seed's two phases advance together: on a terminal they share one line, so neither
// overwrites the other, and the line ends with a newline; elsewhere progress goes through the log.
import assert from "node:assert/strict";
import { test } from "node:test";
import { createLogger } from "../src/log.ts";
import { multiProgress } from "../src/progress.ts";

test("on a terminal both phases are drawn in every redraw, and finish ends the line", () => {
  let out = "";
  const tty = { isTTY: true, write: (t: string) => (out += t) };
  const progress = multiProgress(["contributions", "snapshots"], { stream: tty, log: createLogger() });
  progress.update("contributions", 10, 20);
  progress.update("snapshots", 1, 2);
  progress.update("contributions", 20, 20);
  progress.update("snapshots", 2, 2);
  progress.finish();
  progress.finish();
  const frames = out.split("\r").filter(Boolean);
  assert.ok(frames.length >= 2, out);
  for (const frame of frames) {
    assert.match(frame, /contributions \[[#-]+\] \d+\/\d+/);
    assert.match(frame, /snapshots \[[#-]+\] \d+\/\d+/);
  }
  const last = frames.at(-1)!;
  assert.ok(last.endsWith("\x1b[K\n"), JSON.stringify(last));
  assert.match(last, /^contributions \[#+\] 20\/20 {2}snapshots \[#+\] 2\/2/);
  assert.equal(out.match(/\n/g)?.length, 1, "exactly one newline, at the end");
});

test("elsewhere each phase logs every 10% through the logger (JSON lines with --log-format json)", () => {
  const logged: string[] = [];
  const pipe = { isTTY: false, write: () => assert.fail("nothing raw on a pipe") };
  const log = createLogger({ format: "json", write: (l) => logged.push(l) });
  const progress = multiProgress(["contributions", "snapshots"], { stream: pipe, log });
  for (let i = 0; i <= 40; i++) progress.update("contributions", i, 40);
  progress.update("snapshots", 1, 1);
  progress.finish();
  const entries = logged.map((l) => JSON.parse(l));
  assert.deepEqual(
    entries.filter((e) => e.phase === "contributions").map((e) => e.percent),
    [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100],
  );
  assert.deepEqual(
    entries.filter((e) => e.phase === "snapshots").map((e) => e.percent),
    [100],
  );
});
