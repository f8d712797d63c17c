import { InvalidParamsError } from "../errors.ts";
import { quantity } from "../format.ts";
import type { Handler, RpcMethods } from "./methods.ts";
import { quantity as parseQuantity } from "./params.ts";

/** Test controls as anvil and hardhat name them: mining, snapshots, time, balances. */
export function devMethods(m: RpcMethods): Record<string, Handler> {
  const node = m.node;
  return {
    evm_mine: async (p) => {
      const ts = p.has(0) ? p.raw(0) : undefined;
      const timestamp =
        typeof ts === "string" ? parseQuantity(ts, 0) : typeof ts === "number" ? BigInt(ts) : undefined;
      await node.mine(timestamp);
      return "0x0";
    },
    anvil_mine: async (p) => {
      const n = p.has(0) ? p.quantity(0) : 1n;
      if (n > 10_000n) throw new InvalidParamsError("invalid argument 0: at most 10000 blocks at once");
      for (let i = 0n; i < n; i++) await node.mine();
      return null;
    },
    evm_snapshot: () => node.snapshot(),
    evm_revert: (p) => {
      p.count(1, 1);
      return node.revert(quantity(p.quantity(0)));
    },
    evm_increaseTime: (p) => {
      p.count(1, 1);
      const v = p.raw(0);
      const seconds = typeof v === "number" ? BigInt(v) : p.quantity(0);
      return Number(node.increaseTime(seconds));
    },
    evm_setNextBlockTimestamp: (p) => {
      p.count(1, 1);
      const v = p.raw(0);
      node.setNextBlockTimestamp(typeof v === "number" ? BigInt(v) : p.quantity(0));
      return null;
    },
    anvil_setBalance: async (p) => {
      p.count(2, 2);
      await node.setBalance(p.address(0), p.quantity(1));
      return null;
    },
    hardhat_setBalance: async (p) => {
      p.count(2, 2);
      await node.setBalance(p.address(0), p.quantity(1));
      return null;
    },
  };
}
