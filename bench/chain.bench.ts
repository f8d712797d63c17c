// The OpenLedger node beside anvil on this machine, in one run: simple and ERC-20 transfers per
// second through eth_sendRawTransaction until every receipt is in (pre-signed, 64 in flight, 1 s
// blocks), latency of eth_call and of the reads wallets poll (eth_blockNumber, eth_getBalance,
// eth_getTransactionReceipt) or send before a transfer (eth_estimateGas), eth_call on a busy node
// (while more ERC-20 transfers go in and are mined), and the CPU time each node process spent per
// transaction and per request (robust to a loaded machine, where the rates are not). Both nodes run
// as child processes on loopback with the same pre-signed transactions (chain id 1337 on both).
// Two passes, each with a fresh pair of nodes given the same block gas limit: the default 30,000,000
// (what a user of either sees; 4,000 transfers then fill three 1 s blocks on both, so the rates are
// bound by gas per block and their ratio stays near 1 whatever the nodes' speed), and a limit no
// block reaches (1,000,000,000, transfers only), where the rates measure how fast each node processes.
// A third pair runs with automine (ours `--automine`, anvil without a block time: a block per
// transaction), sending as a test suite does: one transaction, then its receipt, then the next
// (BENCH_AUTOMINE_TXS transfers, then as many ERC-20 transfers).
// eth_call is measured twice on each node, alike: the first BENCH_CALLS calls ("JIT cold": in a
// Node.js process the first ~2,000 HTTP calls run while V8 is still compiling the call path, and
// cost about twice the CPU of later ones; block building does not warm it) and, after WARMUP more
// calls on both nodes, another BENCH_CALLS ("warm", what a long-running node serves). The other reads
// follow those 5,000 calls, so their HTTP path is warm already and they get no warm-up of their own.
// Run: node --import tsx bench/chain.bench.ts
// Env: BENCH_TXS (default 4000), BENCH_AUTOMINE_TXS (default 500), BENCH_CALLS (default 1000), BENCH_WARMUP (default 3000),
// BENCH_NODE_ARGS (extra bin.ts arguments),
// BENCH_SKIP_ANVIL (ours only), BENCH_NODE_FLAGS (extra node flags for the OpenLedger process, e.g.
// --cpu-prof).
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { createTx } from "@ethereumjs/tx";
import { bytesToHex, hexToBytes } from "@ethereumjs/util";
import { createChainCommon, createSharedCommon } from "@openledger/chain";
import { devAccounts } from "@openledger/common";
import { startAnvil } from "@openledger/devnet";
import { openTokenAbi as abi, openTokenBytecode } from "@openledger/sdk";
import { encodeDeployData, encodeFunctionData, getContractAddress, type Hex } from "viem";

const N = Number(process.env.BENCH_TXS ?? 4000);
const N_AUTOMINE = Number(process.env.BENCH_AUTOMINE_TXS ?? 500);
const CALLS = Number(process.env.BENCH_CALLS ?? 1000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 3000);
const IN_FLIGHT = 64;
const SENDERS = 10;
const CHAIN_ID = 1337n;
const common = createSharedCommon(createChainCommon(CHAIN_ID));
const accounts = devAccounts.slice(0, SENDERS);
const keys = accounts.map((a) => hexToBytes(a.privateKey));
const nonces = accounts.map(() => 0n);
// The ERC-20 is the protocol's own $OPEN (OpenZeppelin ERC20), its supply minted to account 0.
const bytecode = encodeDeployData({
  abi,
  bytecode: openTokenBytecode,
  args: [accounts[0].address, accounts[0].address, 10n ** 27n],
});

function sign(sender: number, fields: { to?: Hex; data?: Hex; value?: bigint; gas: bigint }): Hex {
  const tx = createTx(
    {
      type: 2,
      chainId: CHAIN_ID,
      nonce: nonces[sender]++,
      to: fields.to,
      data: fields.data ?? "0x",
      value: fields.value ?? 0n,
      gasLimit: fields.gas,
      maxFeePerGas: 100_000_000_000n,
      maxPriorityFeePerGas: 1_000_000_000n,
    },
    { common },
  );
  return bytesToHex(tx.sign(keys[sender]).serialize());
}

let id = 0;
async function rpc(url: string, body: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return res.json();
}
async function call(url: string, method: string, params: unknown[]): Promise<unknown> {
  const out = (await rpc(url, { jsonrpc: "2.0", id: ++id, method, params })) as {
    result?: unknown;
    error?: { message: string };
  };
  if (out.error) throw new Error(`${method}: ${out.error.message}`);
  return out.result;
}

/** Sends `raws` with IN_FLIGHT concurrent requests, then waits for every receipt; returns tx/s. */
async function throughput(url: string, raws: Hex[]): Promise<number> {
  const start = performance.now();
  const hashes: string[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < raws.length) {
        const raw = raws[next++];
        hashes.push((await call(url, "eth_sendRawTransaction", [raw])) as string);
      }
    }),
  );
  const sent = performance.now();
  await waitReceipts(url, hashes);
  const end = performance.now();
  console.log(
    `  ${raws.length} txs: all acknowledged after ${(sent - start).toFixed(0)} ms, last receipt after ${(end - start).toFixed(0)} ms`,
  );
  return raws.length / ((end - start) / 1000);
}

async function waitReceipts(url: string, hashes: string[]): Promise<void> {
  let pending = hashes;
  while (pending.length > 0) {
    const still: string[] = [];
    for (let i = 0; i < pending.length; i += 200) {
      const chunk = pending.slice(i, i + 200);
      const ids = chunk.map(() => ++id);
      const out = (await rpc(
        url,
        chunk.map((h, j) => ({
          jsonrpc: "2.0",
          id: ids[j],
          method: "eth_getTransactionReceipt",
          params: [h],
        })),
      )) as { id: number; result: { status: string } | null }[];
      const byId = new Map(out.map((o) => [o.id, o.result]));
      chunk.forEach((h, j) => {
        const r = byId.get(ids[j]);
        if (!r) still.push(h);
        else if (r.status !== "0x1") throw new Error(`transaction ${h} failed`);
      });
    }
    pending = still;
    if (pending.length > 0) await new Promise((r) => setTimeout(r, 50));
  }
}

/** Latency (ms) of CALLS sequential requests of one method, and the server CPU (µs) per request. */
async function latency(
  url: string,
  pid: number | undefined,
  method: string,
  params: unknown[],
): Promise<{ p50: number; p99: number; cpu: number }> {
  const before = cpuMs(pid);
  const times: number[] = [];
  for (let i = 0; i < CALLS; i++) {
    const t = performance.now();
    await call(url, method, params);
    times.push(performance.now() - t);
  }
  const after = cpuMs(pid);
  times.sort((a, b) => a - b);
  return {
    p50: times[Math.floor(times.length * 0.5)],
    p99: times[Math.floor(times.length * 0.99)],
    cpu: before === undefined || after === undefined ? Number.NaN : ((after - before) * 1000) / CALLS,
  };
}

/** The block gas limit of the second pass: above what 4,000 transfers of either kind need in one block. */
const OPEN_GAS_LIMIT = 1_000_000_000n;

async function startOpenLedger(
  gasLimit: bigint | undefined,
  automine: boolean,
): Promise<{ url: string; pid?: number; stop(): Promise<void> }> {
  const datadir = mkdtempSync(join(tmpdir(), "ol-bench-"));
  const bin = fileURLToPath(new URL("../packages/chain/src/bin.ts", import.meta.url));
  const flags = process.env.BENCH_NODE_FLAGS?.split(" ").filter(Boolean) ?? [];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      ...flags,
      "--import",
      "tsx",
      bin,
      "--datadir",
      datadir,
      "--port",
      "0",
      ...(automine ? ["--automine"] : ["--block-time", "1"]),
      ...(gasLimit === undefined ? [] : ["--gas-limit", String(gasLimit)]),
      ...(process.env.BENCH_NODE_ARGS?.split(" ").filter(Boolean) ?? []),
    ],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`node exited with ${code}`)));
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once("line", resolve);
  });
  return {
    url: JSON.parse(line).url,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => child.once("exit", r));
      rmSync(datadir, { recursive: true, force: true });
    },
  };
}

// ---- pre-sign everything once (identical on both chains) ----
console.log(`signing ${3 * N + 2 * N_AUTOMINE} transactions...`);
const recipient = (i: number) => `0x${(0x1000 + (i % 500)).toString(16).padStart(40, "0")}` as Hex;

/** `n` ERC-20 transfers of `token` from the senders in turn (the (i + shift)th recipient each). */
const tokenTransfersOf = (token: Hex, n: number, shift = 0) =>
  Array.from({ length: n }, (_, i) =>
    sign(i % SENDERS, {
      to: token,
      data: encodeFunctionData({ abi, functionName: "transfer", args: [recipient(i + shift), 1n] }),
      gas: 100_000n,
    }),
  );

/**
 * In nonce order from a chain's start: `n` transfers, the token's deployment, the token funding the
 * other senders, `n` ERC-20 transfers.
 */
function transferSets(n: number) {
  const transfers = Array.from({ length: n }, (_, i) =>
    sign(i % SENDERS, { to: recipient(i), value: 1n, gas: 21_000n }),
  );
  const deploy = sign(0, { data: bytecode, gas: 6_000_000n });
  const token = getContractAddress({ from: accounts[0].address, nonce: nonces[0] - 1n });
  const fund = accounts.slice(1).map((a) =>
    sign(0, {
      to: token,
      data: encodeFunctionData({ abi, functionName: "transfer", args: [a.address, 10n ** 22n] }),
      gas: 100_000n,
    }),
  );
  return { transfers, deploy, token, fund, tokenTransfers: tokenTransfersOf(token, n) };
}

const { transfers, deploy, token, fund, tokenTransfers } = transferSets(N);
/** More ERC-20 transfers, sent while eth_calls are measured (the reads of a busy node). */
const busyTransfers = tokenTransfersOf(token, N, 1);

// The automine pair runs on fresh chains: its own transactions, signed from nonce 0 again.
nonces.fill(0n);
const automine = transferSets(N_AUTOMINE);

/**
 * CPU time (user + system, ms) a process has used so far, from /proc (Linux; undefined elsewhere).
 * On a loaded machine wall-clock rates say as much about the neighbours as about the node; the CPU
 * each node spends per transaction does not.
 */
function cpuMs(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = 100;

/** The pid of the anvil listening on `port` (its command line names the port). */
function anvilPid(port: number): number | undefined {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      const at = args.indexOf("--port");
      if (args[0].endsWith("anvil") && at >= 0 && args[at + 1] === String(port)) return Number(entry);
    }
  } catch {
    // not Linux, or the process went away
  }
  return undefined;
}

interface Figures {
  simple: number;
  erc20: number;
  simpleCpu: number;
  erc20Cpu: number;
}
type Latency = Awaited<ReturnType<typeof latency>>;
interface Reads {
  ethCall: Latency;
  ethCallWarm: Latency;
  /** eth_calls one after another while `busyTransfers` are sent and mined. */
  ethCallBusy: { p50: number; p99: number; perSecond: number };
  reads: {
    eth_blockNumber: Latency;
    eth_getBalance: Latency;
    eth_getTransactionReceipt: Latency;
    eth_estimateGas: Latency;
  };
}

/** Both kinds of transfers on a fresh node; then, with `withReads`, the latency of calls and reads. */
async function runOn(url: string, pid: number | undefined, withReads: true): Promise<Figures & Reads>;
async function runOn(url: string, pid: number | undefined, withReads: false): Promise<Figures>;
async function runOn(
  url: string,
  pid: number | undefined,
  withReads: boolean,
): Promise<Figures | (Figures & Reads)> {
  const used = (from: number | undefined) => {
    const now = cpuMs(pid);
    return from === undefined || now === undefined ? Number.NaN : now - from;
  };
  let t = cpuMs(pid);
  const simple = await throughput(url, transfers);
  const simpleCpu = (used(t) * 1000) / transfers.length;
  const deployHash = (await call(url, "eth_sendRawTransaction", [deploy])) as string;
  await waitReceipts(url, [deployHash]);
  await throughput(url, fund);
  t = cpuMs(pid);
  const erc20 = await throughput(url, tokenTransfers);
  const erc20Cpu = (used(t) * 1000) / tokenTransfers.length;
  const figures = { simple, erc20, simpleCpu, erc20Cpu };
  if (!withReads) return figures;
  const balanceOf = encodeFunctionData({ abi, functionName: "balanceOf", args: [accounts[1].address] });
  const callParams = [{ to: token, data: balanceOf }, "latest"];
  const ethCall = await latency(url, pid, "eth_call", callParams);
  for (let i = 0; i < WARMUP; i++) await call(url, "eth_call", callParams);
  const ethCallWarm = await latency(url, pid, "eth_call", callParams);
  // What wallets poll: the head, a balance, a receipt.
  const reads = {
    eth_blockNumber: await latency(url, pid, "eth_blockNumber", []),
    eth_getBalance: await latency(url, pid, "eth_getBalance", [accounts[1].address, "latest"]),
    eth_getTransactionReceipt: await latency(url, pid, "eth_getTransactionReceipt", [deployHash]),
    // what a wallet asks before it sends a token transfer (a binary search of calls on both nodes)
    eth_estimateGas: await latency(url, pid, "eth_estimateGas", [
      {
        from: accounts[1].address,
        to: token,
        data: encodeFunctionData({ abi, functionName: "transfer", args: [recipient(7), 1n] }),
      },
      "latest",
    ]),
  };
  const ethCallBusy = await busyLatency(url, callParams);
  return { ...figures, ethCall, ethCallWarm, ethCallBusy, reads };
}

/**
 * Sends `raws` one at a time, each followed by its receipt, as a test suite on automine does; tx/s.
 * anvil may answer eth_sendRawTransaction before its block is in, so the receipt is asked again until
 * it is there.
 */
async function oneByOne(url: string, raws: Hex[]): Promise<number> {
  const start = performance.now();
  for (const raw of raws) {
    const hash = (await call(url, "eth_sendRawTransaction", [raw])) as string;
    let receipt: { status: string } | null = null;
    for (let tries = 0; receipt === null; tries++) {
      if (tries === 10_000) throw new Error(`transaction ${hash}: no receipt`);
      receipt = (await call(url, "eth_getTransactionReceipt", [hash])) as { status: string } | null;
    }
    if (receipt.status !== "0x1") throw new Error(`transaction ${hash} failed`);
  }
  return raws.length / ((performance.now() - start) / 1000);
}

/** The automine pair's passes: transfers, then ERC-20 transfers, one by one. */
async function runAutomine(url: string, pid: number | undefined): Promise<Figures> {
  let t = cpuMs(pid);
  const simple = await oneByOne(url, automine.transfers);
  const simpleCpu = (((cpuMs(pid) ?? Number.NaN) - (t ?? Number.NaN)) * 1000) / automine.transfers.length;
  await oneByOne(url, [automine.deploy, ...automine.fund]);
  t = cpuMs(pid);
  const erc20 = await oneByOne(url, automine.tokenTransfers);
  const erc20Cpu = (((cpuMs(pid) ?? Number.NaN) - (t ?? Number.NaN)) * 1000) / automine.tokenTransfers.length;
  return { simple, erc20, simpleCpu, erc20Cpu };
}

/**
 * eth_call latency on a busy node: calls one after another while `busyTransfers` go in (64 in flight)
 * and are mined, until the last receipt; how many calls a second the node answered meanwhile.
 */
async function busyLatency(url: string, params: unknown[]): Promise<Reads["ethCallBusy"]> {
  let done = false;
  const times: number[] = [];
  const start = performance.now();
  const load = throughput(url, busyTransfers).then(() => {
    done = true;
  });
  while (!done) {
    const t = performance.now();
    await call(url, "eth_call", params);
    times.push(performance.now() - t);
  }
  await load;
  const seconds = (performance.now() - start) / 1000;
  times.sort((a, b) => a - b);
  return {
    p50: times[Math.floor(times.length * 0.5)],
    p99: times[Math.floor(times.length * 0.99)],
    perSecond: times.length / seconds,
  };
}

/**
 * Runs `run` on a fresh OpenLedger node, then (unless BENCH_SKIP_ANVIL) on a fresh anvil; 1 s blocks,
 * or with `automine` a block as soon as transactions arrive.
 */
async function pair<T>(
  gasLimit: bigint | undefined,
  run: (url: string, pid: number | undefined) => Promise<T>,
  automine = false,
): Promise<{ mine: T; theirs?: T }> {
  const label = `${gasLimit === undefined ? "default block gas limit" : `block gas limit ${gasLimit}`}${automine ? ", automine" : ""}`;
  const ours = await startOpenLedger(gasLimit, automine);
  let mine: T;
  try {
    console.log(`running on the OpenLedger node (${label})...`);
    mine = await run(ours.url, ours.pid);
  } finally {
    await ours.stop();
  }
  if (process.env.BENCH_SKIP_ANVIL) return { mine };
  const anvil = await startAnvil({
    chainId: Number(CHAIN_ID),
    blockTime: automine ? undefined : 1,
    extraArgs: gasLimit === undefined ? [] : ["--gas-limit", String(gasLimit)],
  });
  try {
    console.log(`running on anvil (${label})...`);
    return { mine, theirs: await run(anvil.rpcUrl, anvilPid(anvil.port)) };
  } finally {
    await anvil.stop();
  }
}

const loadBefore = loadavg()[0];
const bound = await pair(undefined, (url, pid) => runOn(url, pid, true));
const open = await pair(OPEN_GAS_LIMIT, (url, pid) => runOn(url, pid, false));
const auto = await pair(undefined, runAutomine, true);
if (!bound.theirs || !open.theirs || !auto.theirs) {
  console.log({ defaultGasLimit: bound.mine, openGasLimit: open.mine, automine: auto.mine });
  process.exit(0);
}
const mine = bound.mine;
const theirs = bound.theirs;

const row = (name: string, a: number, b: number, higherIsBetter: boolean) =>
  `${name.padEnd(36)}${a.toFixed(1).padStart(12)}${b.toFixed(1).padStart(12)}${(higherIsBetter ? a / b : b / a).toFixed(2).padStart(10)}`;
console.log(
  `\nchain: ${N} pre-signed txs, ${IN_FLIGHT} in flight, 1 s blocks; ${CALLS} eth_calls cold and ${CALLS} warm (ratio > 1: OpenLedger better)`,
);
// Other work on the machine moves every rate and latency: say how busy it was.
console.log(
  `load average (1 min) ${loadBefore.toFixed(1)} at the start, ${loadavg()[0].toFixed(1)} at the end`,
);
console.log(`${"".padEnd(36)}${"openledger".padStart(12)}${"anvil".padStart(12)}${"ratio".padStart(10)}`);
console.log("block gas limit 30,000,000 on both (default; the transfer rates are bound by gas per block):");
console.log(row("  simple transfers/s", mine.simple, theirs.simple, true));
console.log(row("  ERC-20 transfers/s", mine.erc20, theirs.erc20, true));
console.log(
  `block gas limit ${OPEN_GAS_LIMIT.toLocaleString("en")} on both (never reached: the rates measure processing):`,
);
console.log(row("  simple transfers/s", open.mine.simple, open.theirs.simple, true));
console.log(row("  ERC-20 transfers/s", open.mine.erc20, open.theirs.erc20, true));
console.log(
  `automine on both (a block per transaction; ${N_AUTOMINE.toLocaleString("en")} of each sent one by one, each followed by its receipt):`,
);
console.log(row("  simple transfers/s", auto.mine.simple, auto.theirs.simple, true));
console.log(row("  ERC-20 transfers/s", auto.mine.erc20, auto.theirs.erc20, true));
console.log("latency (default gas limit):");
// Latencies in µs: most are fractions of a millisecond.
console.log(`  eth_call, first ${CALLS.toLocaleString("en")} calls, JIT cold:`);
console.log(row("    eth_call p50 (µs)", mine.ethCall.p50 * 1000, theirs.ethCall.p50 * 1000, false));
console.log(row("    eth_call p99 (µs)", mine.ethCall.p99 * 1000, theirs.ethCall.p99 * 1000, false));
console.log(
  `  eth_call, warm (${CALLS.toLocaleString("en")} calls after ${WARMUP.toLocaleString("en")} more):`,
);
console.log(row("    eth_call p50 (µs)", mine.ethCallWarm.p50 * 1000, theirs.ethCallWarm.p50 * 1000, false));
console.log(row("    eth_call p99 (µs)", mine.ethCallWarm.p99 * 1000, theirs.ethCallWarm.p99 * 1000, false));
for (const method of Object.keys(mine.reads) as (keyof typeof mine.reads)[]) {
  console.log(
    row(`  ${method} p50 (µs)`, mine.reads[method].p50 * 1000, theirs.reads[method].p50 * 1000, false),
  );
}
console.log(`  eth_call while ${N.toLocaleString("en")} more ERC-20 transfers go in and are mined:`);
console.log(row("    eth_call p50 (µs)", mine.ethCallBusy.p50 * 1000, theirs.ethCallBusy.p50 * 1000, false));
console.log(row("    eth_call p99 (µs)", mine.ethCallBusy.p99 * 1000, theirs.ethCallBusy.p99 * 1000, false));
console.log(row("    eth_calls answered/s", mine.ethCallBusy.perSecond, theirs.ethCallBusy.perSecond, true));
console.log("server CPU (user + system), lower is better:");
console.log(row("  ms per 1000 transfers", mine.simpleCpu, theirs.simpleCpu, false));
console.log(row("  ms per 1000 ERC-20", mine.erc20Cpu, theirs.erc20Cpu, false));
console.log(row("  ms per 1000 transfers, open limit", open.mine.simpleCpu, open.theirs.simpleCpu, false));
console.log(row("  ms per 1000 ERC-20, open limit", open.mine.erc20Cpu, open.theirs.erc20Cpu, false));
console.log(row("  ms per 1000 transfers, automine", auto.mine.simpleCpu, auto.theirs.simpleCpu, false));
console.log(row("  ms per 1000 ERC-20, automine", auto.mine.erc20Cpu, auto.theirs.erc20Cpu, false));
console.log(row("  µs per eth_call, JIT cold", mine.ethCall.cpu, theirs.ethCall.cpu, false));
console.log(row("  µs per eth_call, warm", mine.ethCallWarm.cpu, theirs.ethCallWarm.cpu, false));
for (const method of Object.keys(mine.reads) as (keyof typeof mine.reads)[]) {
  console.log(row(`  µs per ${method}`, mine.reads[method].cpu, theirs.reads[method].cpu, false));
}
