import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { anvilBinaryPath } from "./binary.ts";
import { DevnetError, PortInUseError } from "./errors.ts";

export interface StartAnvilOptions {
  /** Port on 127.0.0.1; a free one is picked when omitted. */
  port?: number;
  /** Chain id (default 31337). */
  chainId?: number;
  /** Seconds between blocks; omitted means a block per transaction (automine). */
  blockTime?: number;
  /** Number of funded dev accounts (default 10). */
  accounts?: number;
  /** Ether balance of each dev account (default anvil's 10000). */
  balance?: number;
  /** Extra command-line arguments passed to anvil as they are. */
  extraArgs?: string[];
  /** How long to wait for the node to answer, in milliseconds (default 30000). */
  startTimeoutMs?: number;
}

export interface Anvil {
  rpcUrl: string;
  wsUrl: string;
  port: number;
  chainId: number;
  /** Stops the node (SIGTERM, then SIGKILL after 5 s). Safe to call twice. */
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const OUTPUT_TAIL = 2000;

/** Starts the platform anvil binary on a loopback port and waits until it answers `eth_chainId`. */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const binary = anvilBinaryPath();
  const chainId = options.chainId ?? 31337;
  validate(options, chainId);
  if (options.port !== undefined) {
    if (!(await portIsFree(options.port))) {
      throw new PortInUseError(options.port, HOST);
    }
    return launch(binary, options.port, chainId, options);
  }
  // A picked port can be taken between picking and binding; try a few times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await launch(binary, await freePort(), chainId, options);
    } catch (err) {
      lastError = err;
      if (!(err instanceof DevnetError && /in use/i.test(err.message))) break;
    }
  }
  throw lastError;
}

function validate(options: StartAnvilOptions, chainId: number): void {
  const checks: [string, number | undefined, number, number][] = [
    ["port", options.port, 1, 65535],
    ["chainId", chainId, 1, Number.MAX_SAFE_INTEGER],
    ["blockTime", options.blockTime, 1, 86400],
    ["accounts", options.accounts, 1, 10000],
    ["balance", options.balance, 0, Number.MAX_SAFE_INTEGER],
  ];
  for (const [name, value, min, max] of checks) {
    if (value !== undefined && (!Number.isInteger(value) || value < min || value > max)) {
      throw new DevnetError(`${name} must be an integer in [${min}, ${max}], got ${value}`);
    }
  }
}

async function launch(
  binary: string,
  port: number,
  chainId: number,
  options: StartAnvilOptions,
): Promise<Anvil> {
  const args = ["--host", HOST, "--port", String(port), "--chain-id", String(chainId)];
  if (options.blockTime !== undefined) args.push("--block-time", String(options.blockTime));
  if (options.accounts !== undefined) args.push("--accounts", String(options.accounts));
  if (options.balance !== undefined) args.push("--balance", String(options.balance));
  args.push(...(options.extraArgs ?? []));

  const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const keepTail = (chunk: Buffer) => {
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL);
  };
  child.stdout?.on("data", keepTail);
  child.stderr?.on("data", keepTail);
  const killOnExit = () => child.kill("SIGKILL");
  process.on("exit", killOnExit);

  let exited = false;
  const exitPromise = new Promise<void>((resolve) => {
    child.once("exit", () => {
      exited = true;
      process.off("exit", killOnExit);
      resolve();
    });
  });
  let spawnError: Error | undefined;
  child.once("error", (err) => {
    spawnError = err;
  });

  const rpcUrl = `http://${HOST}:${port}`;
  const stop = async () => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
    await exitPromise;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 30_000);
  while (true) {
    if (spawnError) throw new DevnetError(`could not start anvil (${binary}): ${spawnError.message}`);
    if (exited) throw new DevnetError(`anvil exited before answering on ${rpcUrl}: ${lastLine(output)}`);
    const answered = await answersChainId(rpcUrl);
    if (answered !== undefined) {
      if (exited)
        throw new DevnetError(`anvil exited and another node answers on ${rpcUrl}: ${lastLine(output)}`);
      if (answered !== chainId) {
        await stop();
        throw new DevnetError(
          `a different node answered on ${rpcUrl} (chain id ${answered}, expected ${chainId})`,
        );
      }
      break;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new DevnetError(`anvil did not answer on ${rpcUrl} in time: ${lastLine(output)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { rpcUrl, wsUrl: `ws://${HOST}:${port}`, port, chainId, stop };
}

/** The most telling line of anvil's output: the first error line, else the last line. */
function lastLine(output: string): string {
  const lines = output
    .trim()
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean);
  return lines.find((l) => /error/i.test(l)) ?? lines[lines.length - 1] ?? "(no output)";
}

async function answersChainId(rpcUrl: string): Promise<number | undefined> {
  try {
    const res = await fetch(rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    const body = (await res.json()) as { result?: string };
    return typeof body.result === "string" ? Number(BigInt(body.result)) : undefined;
  } catch {
    return undefined;
  }
}

/** True when nothing listens on 127.0.0.1:`port` (checked by binding it briefly). */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
