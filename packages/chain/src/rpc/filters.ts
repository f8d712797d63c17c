import { randomBytes } from "node:crypto";
import { bytesToHex } from "@ethereumjs/util";
import { RpcCode, RpcError } from "../errors.ts";
import type { RpcLog } from "../format.ts";
import type { ChainNode, MinedBlockEvent } from "../node.ts";

/** Addresses and topics a log must match (eth_getLogs, eth_newFilter, eth_subscribe "logs"). */
export interface LogCriteria {
  addresses?: Set<string>;
  topics: (Set<string> | null)[];
}

export function matchesLog(log: RpcLog, c: LogCriteria): boolean {
  if (c.addresses && c.addresses.size > 0 && !c.addresses.has(log.address)) return false;
  for (let i = 0; i < c.topics.length; i++) {
    const want = c.topics[i];
    if (!want || want.size === 0) continue;
    const have = log.topics[i];
    if (have === undefined || !want.has(have)) return false;
  }
  return true;
}

type Filter =
  | {
      kind: "logs";
      criteria: LogCriteria;
      from?: bigint;
      to?: bigint;
      raw: Record<string, unknown>;
      buffer: RpcLog[];
      seen: number;
    }
  | { kind: "blocks"; buffer: string[]; seen: number }
  | { kind: "pending"; buffer: string[]; seen: number };

const FILTER_TIMEOUT_MS = 5 * 60_000;
const FILTER_BUFFER_LIMIT = 10_000;

/** Polling filters (eth_newFilter and friends); idle ones expire after five minutes as in geth. */
export class FilterRegistry {
  private readonly filters = new Map<string, Filter>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(node: ChainNode) {
    node.on("block", (ev: MinedBlockEvent) => {
      const hash = bytesToHex(ev.block.hash());
      for (const f of this.filters.values()) {
        if (f.kind === "blocks") push(f.buffer, hash);
        else if (f.kind === "logs") {
          const n = ev.block.header.number;
          if ((f.from !== undefined && n < f.from) || (f.to !== undefined && n > f.to)) continue;
          for (const log of ev.logs) if (matchesLog(log, f.criteria)) push(f.buffer, log);
        }
      }
    });
    node.on("pendingTransaction", (hash: string) => {
      for (const f of this.filters.values()) if (f.kind === "pending") push(f.buffer, hash);
    });
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const [id, f] of this.filters) if (now - f.seen > FILTER_TIMEOUT_MS) this.filters.delete(id);
    }, 30_000);
    this.sweeper.unref();
  }

  add(
    filter:
      | { kind: "logs"; criteria: LogCriteria; from?: bigint; to?: bigint; raw: Record<string, unknown> }
      | { kind: "blocks" | "pending" },
  ): string {
    const id = bytesToHex(randomBytes(16));
    this.filters.set(id, { ...filter, buffer: [], seen: Date.now() } as Filter);
    return id;
  }

  get(id: string): Filter {
    const f = this.filters.get(id);
    if (!f) throw new RpcError(RpcCode.Server, "filter not found");
    f.seen = Date.now();
    return f;
  }

  changes(id: string): unknown[] {
    const f = this.get(id);
    const out = f.buffer.splice(0, f.buffer.length);
    return out;
  }

  remove(id: string): boolean {
    return this.filters.delete(id);
  }

  close(): void {
    clearInterval(this.sweeper);
  }
}

function push<T>(buffer: T[], item: T): void {
  if (buffer.length >= FILTER_BUFFER_LIMIT) buffer.shift();
  buffer.push(item);
}
