import { type Block, createBlock } from "@ethereumjs/block";
import type { Common } from "@ethereumjs/common";
import { createTx, type TypedTransaction } from "@ethereumjs/tx";
import { Account, createAddressFromString, hexToBytes, KECCAK256_RLP } from "@ethereumjs/util";
import { runTx } from "@ethereumjs/vm";
import { INITIAL_BASE_FEE } from "./chainConfig.ts";
import type { LiveState } from "./liveState.ts";

/** A transaction run from dev account 0 right after genesis on a fresh chain (protocol predeploys). */
export interface GenesisTransaction {
  to?: `0x${string}`;
  data?: `0x${string}`;
  value?: bigint;
  /** Gas limit; left out, the node measures the transaction on a scratch state and adds a margin. */
  gas?: bigint;
  /** Names the contract this transaction creates in deployments/<chainId>.json. */
  label?: string;
}

const ZERO32 = new Uint8Array(32);

/** Funds the genesis accounts on the live state and returns block 0 over the resulting root. */
export async function createGenesisBlock(
  live: LiveState,
  common: Common,
  alloc: { address: string; balance: bigint }[],
  gasLimit: bigint,
): Promise<Block> {
  const sm = live.vm.stateManager;
  await sm.checkpoint();
  for (const { address, balance } of alloc) {
    const addr = createAddressFromString(address);
    const acct = (await sm.getAccount(addr)) ?? new Account();
    acct.balance += balance;
    await sm.putAccount(addr, acct);
  }
  await sm.commit();
  return createBlock(
    {
      header: {
        number: 0n,
        gasLimit,
        timestamp: BigInt(Math.floor(Date.now() / 1000)),
        baseFeePerGas: INITIAL_BASE_FEE,
        stateRoot: await sm.getStateRoot(),
        difficulty: 0n,
        mixHash: ZERO32,
        parentBeaconBlockRoot: ZERO32,
        withdrawalsRoot: KECCAK256_RLP,
        excessBlobGas: 0n,
        blobGasUsed: 0n,
      },
    },
    { common },
  );
}

/**
 * Signs the genesis transactions from `key` at nonces 0.. with gas limits that fit the chain's
 * block gas limit: each one without an explicit `gas` is first run on the live genesis state inside a
 * checkpoint that is reverted afterwards, and gets what it used plus a fifth and 50,000, so the
 * predeploys fill as few blocks as possible without ever raising the block gas limit.
 */
export async function signGenesisTransactions(opts: {
  txs: GenesisTransaction[];
  key: `0x${string}`;
  chainId: bigint;
  common: Common;
  genesis: Block;
  live: LiveState;
  txGasCap: bigint;
}): Promise<TypedTransaction[]> {
  const { txs, common, genesis, live, txGasCap } = opts;
  const key = hexToBytes(opts.key);
  const maxFeePerGas = genesis.header.calcNextBaseFee() * 2n;
  const sign = (t: GenesisTransaction, nonce: number, gasLimit: bigint) =>
    createTx(
      {
        type: 2,
        chainId: opts.chainId,
        nonce: BigInt(nonce),
        to: t.to,
        data: t.data ?? "0x",
        value: t.value ?? 0n,
        gasLimit,
        maxFeePerGas,
        maxPriorityFeePerGas: 0n,
      },
      { common },
    ).sign(key);
  const trial = createBlock(
    {
      header: {
        ...genesis.header.toJSON(),
        number: 1n,
        parentHash: genesis.hash(),
        timestamp: genesis.header.timestamp + 1n,
        baseFeePerGas: genesis.header.calcNextBaseFee(),
        gasLimit: txGasCap * BigInt(txs.length + 1),
      },
    },
    { common },
  );
  const signed: TypedTransaction[] = [];
  const sm = live.vm.stateManager;
  await sm.checkpoint();
  try {
    for (const [i, t] of txs.entries()) {
      const tx = sign(t, i, t.gas ?? txGasCap);
      const result = await runTx(live.vm, { tx, block: trial, skipBlockGasLimitValidation: true });
      if (t.gas !== undefined) {
        signed.push(tx);
        continue;
      }
      const used = result.totalGasSpent;
      const padded = used + used / 5n + 50_000n;
      signed.push(sign(t, i, padded < txGasCap ? padded : txGasCap));
    }
  } catch (err) {
    await live.reset(genesis.header.stateRoot);
    throw err;
  }
  await sm.revert();
  return signed;
}

/** Splits transactions into consecutive blocks whose gas limits add up to at most `blockGasLimit`. */
export function packIntoBlocks(txs: TypedTransaction[], blockGasLimit: bigint): TypedTransaction[][] {
  const blocks: TypedTransaction[][] = [];
  let current: TypedTransaction[] = [];
  let gas = 0n;
  for (const tx of txs) {
    if (current.length > 0 && gas + tx.gasLimit > blockGasLimit) {
      blocks.push(current);
      current = [];
      gas = 0n;
    }
    current.push(tx);
    gas += tx.gasLimit;
  }
  if (current.length > 0) blocks.push(current);
  return blocks;
}
