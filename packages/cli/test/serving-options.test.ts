// `up`'s backend flags: which base models go to llama.cpp or to remote workers, refused before anything starts.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, test } from "node:test";
import { parseBaseName, parseRemoteWorker, resolveBackends } from "../src/serving-options.ts";
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
