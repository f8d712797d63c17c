import { InvalidArgumentError } from "commander";
import { CliError } from "./errors.ts";

/** What `up` may say about serving, before OpenLoRA opens. */
export interface ServingOptions {
  llamacppBase?: string[];
  remoteBase?: string[];
  remoteWorker?: RemoteWorkerOption[];
}

export interface RemoteWorkerOption {
  url: string;
  kind: "openlora" | "vllm" | "lorax";
}

/** OpenLoRA's backend choice per base model, as `openOpenLora` takes it. */
export interface BackendChoice {
  llamaCpp?: { bases: string[] };
  remote?: { bases: string[]; workers: RemoteWorkerOption[] };
}

const KINDS = ["openlora", "vllm", "lorax"] as const;

/** A base model named by its registry name or its 0x file hash. */
export function parseBaseName(value: string): string {
  if (/^0x[0-9a-fA-F]{64}$/.test(value)) return value.toLowerCase();
  if (!/^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}$/.test(value))
    throw new InvalidArgumentError("expected a base model's name or its 0x + 64 hex digit hash");
  return value;
}

/** `[kind=]URL`: an OpenAI-compatible API base on another machine; kind openlora (default), vllm or lorax. */
export function parseRemoteWorker(value: string): RemoteWorkerOption {
  const prefixed = /^([A-Za-z0-9_-]+)=(.*)$/.exec(value);
  const kind = prefixed ? prefixed[1]! : "openlora";
  const rest = prefixed ? prefixed[2]! : value;
  if (!(KINDS as readonly string[]).includes(kind))
    throw new InvalidArgumentError(`unknown worker kind "${kind}": expected ${KINDS.join(", ")}`);
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    throw new InvalidArgumentError("expected [openlora=|vllm=|lorax=]http(s)://host:port/v1");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:")
    throw new InvalidArgumentError(`expected an http(s) URL, got scheme ${url.protocol}`);
  return { url: rest.replace(/\/+$/, ""), kind: kind as RemoteWorkerOption["kind"] };
}

/** Checks the serving flags together; refused before anything starts. */
export function resolveBackends(o: ServingOptions): BackendChoice {
  const cpp = o.llamacppBase ?? [];
  const remote = o.remoteBase ?? [];
  const workers = o.remoteWorker ?? [];
  const both = cpp.filter((b) => remote.includes(b));
  if (both.length > 0)
    throw new CliError(
      `base ${both[0]} is given to both --llamacpp-base and --remote-base: choose one backend`,
    );
  if (remote.length > 0 && workers.length === 0)
    throw new CliError("--remote-base needs at least one --remote-worker URL to send its requests to");
  if (workers.length > 0 && remote.length === 0)
    throw new CliError(
      "--remote-worker is unused without --remote-base: name the base models the workers serve",
    );
  return {
    ...(cpp.length > 0 ? { llamaCpp: { bases: cpp } } : {}),
    ...(remote.length > 0 ? { remote: { bases: remote, workers } } : {}),
  };
}

/** A registered base model as `models list` shows it. */
export interface RegisteredBase {
  name: string;
  hash: string;
}

/** A flagged base that matches no registered base model (yet): `up` warns about it. */
export interface UnmatchedBase {
  flag: "--llamacpp-base" | "--remote-base";
  value: string;
}

/**
 * Resolves the bases of `--llamacpp-base` and `--remote-base` (each a name or a file hash) against
 * the registered base models, once the chain is up: the same base named by its name in one flag and
 * by its hash in the other is refused (CliError), and the flagged values that match no registered
 * base are returned. A name that several bases carry resolves to each of their hashes.
 */
export function checkFlaggedBases(
  choice: BackendChoice,
  registered: readonly RegisteredBase[],
): UnmatchedBase[] {
  const hashesOf = (value: string) =>
    registered
      .filter((b) => b.name === value || b.hash.toLowerCase() === value.toLowerCase())
      .map((b) => b.hash.toLowerCase());
  const unmatched: UnmatchedBase[] = [];
  const cpp = new Map<string, string>(); // hash -> the --llamacpp-base value naming it
  for (const value of choice.llamaCpp?.bases ?? []) {
    const hashes = hashesOf(value);
    if (hashes.length === 0) unmatched.push({ flag: "--llamacpp-base", value });
    for (const h of hashes) cpp.set(h, value);
  }
  for (const value of choice.remote?.bases ?? []) {
    const hashes = hashesOf(value);
    if (hashes.length === 0) unmatched.push({ flag: "--remote-base", value });
    for (const h of hashes) {
      const other = cpp.get(h);
      if (other === undefined) continue;
      const name = registered.find((b) => b.hash.toLowerCase() === h)!.name;
      throw new CliError(
        `--llamacpp-base ${other} and --remote-base ${value} are the same base model (${name}, ${h}): choose one backend`,
      );
    }
  }
  return unmatched;
}
