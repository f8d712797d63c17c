// `up`'s backend flags: which base models go to llama.cpp or to remote workers, refused before anything starts.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  checkFlaggedBases,
  parseBaseName,
  parseRemoteWorker,
  resolveBackends,
} from "../src/serving-options.ts";
import { assertOneLineError, runCli } from "./helpers.ts";

describe("up's serving flags", () => {
  test("a worker is [kind=]URL; the kind defaults to another OpenLoRA server", () => {
    assert.deepEqual(parseRemoteWorker("http://10.0.0.5:8080/v1/"), {
      url: "http://10.0.0.5:8080/v1",
      kind: "openlora",
    });
    assert.deepEqual(parseRemoteWorker("vllm=https://gpu1:8000/v1"), {
      url: "https://gpu1:8000/v1",
      kind: "vllm",
    });
    assert.deepEqual(parseRemoteWorker("lorax=http://gpu2/v1"), { url: "http://gpu2/v1", kind: "lorax" });
    assert.throws(() => parseRemoteWorker("tgi=http://gpu3/v1"), /unknown worker kind "tgi"/);
    assert.throws(() => parseRemoteWorker("gpu1:8000"), /expected an http\(s\) URL, got scheme gpu1:/);
    assert.throws(() => parseRemoteWorker("vllm=not a url"), /\[openlora=\|vllm=\|lorax=\]http/);
    assert.throws(() => parseRemoteWorker("ftp://gpu1/v1"), /got scheme ftp:/);
  });

  test("a base is a name or a file hash", () => {
    assert.equal(parseBaseName("demo-base"), "demo-base");
    assert.equal(parseBaseName(`0x${"AB".repeat(32)}`), `0x${"ab".repeat(32)}`);
    assert.throws(() => parseBaseName("two words"), /name or its 0x/);
    assert.throws(() => parseBaseName(""), /name or its 0x/);
  });

  test("the flags are checked together", () => {
    assert.deepEqual(resolveBackends({}), {});
    const worker = { url: "http://10.0.0.5:8080/v1", kind: "openlora" as const };
    assert.deepEqual(
      resolveBackends({ llamacppBase: ["qwen"], remoteBase: ["demo-base"], remoteWorker: [worker] }),
      {
        llamaCpp: { bases: ["qwen"] },
        remote: { bases: ["demo-base"], workers: [worker] },
      },
    );
    assert.throws(() => resolveBackends({ remoteBase: ["demo-base"] }), /needs at least one --remote-worker/);
    assert.throws(() => resolveBackends({ remoteWorker: [worker] }), /unused without --remote-base/);
    assert.throws(
      () =>
        resolveBackends({ llamacppBase: ["demo-base"], remoteBase: ["demo-base"], remoteWorker: [worker] }),
      /both --llamacpp-base and --remote-base/,
    );
  });

  test("flagged bases are resolved against the registered ones: the same base by name and by hash is refused, unknown ones are reported", () => {
    const demo = { name: "demo-base", hash: `0x${"a1".repeat(32)}` };
    const qwen = { name: "qwen", hash: `0x${"b2".repeat(32)}` };
    const registered = [demo, qwen];
    const worker = { url: "http://10.0.0.5:8080/v1", kind: "openlora" as const };
    const choice = (cpp: string[], remote: string[]) =>
      resolveBackends({ llamacppBase: cpp, remoteBase: remote, remoteWorker: remote.length ? [worker] : [] });
    // the exact-string check before start lets these through; resolved, they are one base
    assert.throws(
      () => checkFlaggedBases(choice(["demo-base"], [demo.hash]), registered),
      /--llamacpp-base demo-base and --remote-base 0xa1a1.* are the same base model \(demo-base, 0xa1a1[0-9a-f]*\)/,
    );
    assert.throws(
      () => checkFlaggedBases(choice([qwen.hash.toUpperCase().replace("0X", "0x")], ["qwen"]), registered),
      /same base model \(qwen,/,
    );
    assert.deepEqual(checkFlaggedBases(choice(["qwen"], ["demo-base"]), registered), []);
    assert.deepEqual(checkFlaggedBases(choice(["qwen", "llama-8b"], [`0x${"c3".repeat(32)}`]), registered), [
      { flag: "--llamacpp-base", value: "llama-8b" },
      { flag: "--remote-base", value: `0x${"c3".repeat(32)}` },
    ]);
    // two unregistered values are not known to be one base: reported, not refused
    assert.equal(checkFlaggedBases(choice(["x"], ["y"]), []).length, 2);
    // a name two registered bases carry covers both hashes
    const older = { name: "qwen", hash: `0x${"d4".repeat(32)}` };
    assert.throws(
      () => checkFlaggedBases(choice(["qwen"], [older.hash]), [...registered, older]),
      /same base model \(qwen, 0xd4/,
    );
  });

  test("up refuses bad serving flags in one line before it starts anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ol-serving-"));
    const datadir = join(dir, "never");
    assertOneLineError(
      await runCli(["up", "--datadir", datadir, "--remote-base", "demo-base"], { cwd: dir }),
      /--remote-base needs at least one --remote-worker/,
    );
    assertOneLineError(
      await runCli(["up", "--datadir", datadir, "--remote-worker", "tgi=http://gpu/v1"], { cwd: dir }),
      /unknown worker kind "tgi"/,
    );
    assert.ok(!existsSync(datadir), "nothing was started");
  });
});
