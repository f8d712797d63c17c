// x402 per-call payments: how long verifying and settling one exact-scheme payment takes, and the gas
// its settlement costs, with this project's facilitator (X402Facilitator: @x402/evm's exact scheme,
// reads through the node, sends through the sdk's SendQueue, specific refusal reasons) beside the
// peer a user would otherwise pick: @x402/core's x402Facilitator with @x402/evm's scheme over a plain
// viem wallet client (toFacilitatorEvmSigner), as x402's own examples wire it. Both run on the
// project's L2 node (packages/chain), automining (so the figures are the facilitators', not the block
// time's) and then with 1 s blocks (as `openledger up` runs), paying the same operator in $OPEN with
// payments signed by @x402/evm's client signer. X402_BENCH_PAYMENTS (default 30) payments each,
// alternating between the two. The machine is shared: the figures move with its load.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { startNode } from "@openledger/chain";
import { devAccounts } from "@openledger/devnet";
import { loadX402Terms, requirementsFor, X402Facilitator } from "@openledger/payments";
import { connect, deployProtocol, SendQueue, transferToken } from "@openledger/sdk";
import { x402Client } from "@x402/core/client";
import { x402Facilitator } from "@x402/core/facilitator";
import type { PaymentPayload, PaymentRequirements, SettleResponse, VerifyResponse } from "@x402/core/types";
import { toFacilitatorEvmSigner } from "@x402/evm";
import { ExactEvmScheme as ExactEvmClient } from "@x402/evm/exact/client";
import { ExactEvmScheme as ExactEvmFacilitator } from "@x402/evm/exact/facilitator";
import { createWalletClient, type Hex, http, publicActions } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { getChainId, getTransactionReceipt } from "viem/actions";

const PAYMENTS = Number(process.env.X402_BENCH_PAYMENTS ?? 30);

interface Settler {
  verify(p: PaymentPayload, r: PaymentRequirements): Promise<VerifyResponse>;
  settle(p: PaymentPayload, r: PaymentRequirements): Promise<SettleResponse>;
}

const p50 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (x: number) => `${x.toFixed(1)} ms`;

for (const blockTime of [0, 1]) await run(blockTime, blockTime === 0 ? PAYMENTS : Math.min(PAYMENTS, 6));

async function run(blockTime: number, payments: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "x402-bench-"));
  const node = await startNode({
    datadir: join(dir, "chain"),
    port: 0,
    blockTime,
    automine: blockTime === 0,
  });
  try {
    const { walletClient, publicClient } = await connect(node.url, devAccounts[0].privateKey);
    const { addresses } = await deployProtocol(walletClient!, publicClient, {
      deploymentsDir: join(dir, "deployments"),
    });
    const payer = privateKeyToAccount(devAccounts[6].privateKey);
    await transferToken(walletClient!, { token: addresses.token, to: payer.address, amount: 10n ** 18n });
    const operator = privateKeyToAccount(devAccounts[2].privateKey);
    const terms = await loadX402Terms(publicClient, {
      chainId: await getChainId(publicClient),
      token: addresses.token,
      operator: operator.address,
    });
    const ours = new X402Facilitator({
      client: publicClient,
      wallet: (await connect(node.url, operator)).walletClient!,
      queue: new SendQueue(),
      terms,
    });
    const viem = createWalletClient({
      account: operator,
      chain: publicClient.chain,
      transport: http(node.url),
    }).extend(publicActions);
    const peer = new x402Facilitator().register(
      terms.network,
      new ExactEvmFacilitator(
        toFacilitatorEvmSigner({
          address: operator.address,
          getCode: (a) => viem.getCode(a),
          readContract: (a) => viem.readContract({ ...a, args: a.args ?? [] } as never),
          verifyTypedData: (a) => viem.verifyTypedData(a as never),
          writeContract: (a) => viem.writeContract({ ...a, args: a.args ?? [] } as never),
          sendTransaction: (a) => viem.sendTransaction(a),
          waitForTransactionReceipt: (a) => viem.waitForTransactionReceipt(a),
        }),
      ),
    );
    const client = x402Client.fromConfig({
      schemes: [{ network: "eip155:*", client: new ExactEvmClient(payer) }],
      spendControls: { allowedAssets: [{ network: terms.network, asset: terms.asset }] },
    });
    const requirements = requirementsFor(terms, 10n ** 12n);
    const timings = new Map<string, { verify: number[]; settle: number[]; gas: bigint[] }>();
    const sides: [string, Settler][] = [
      ["X402Facilitator (sdk send queue)", ours],
      ["@x402 default (viem wallet)", peer],
    ];
    for (let i = 0; i < payments; i++) {
      // alternate which goes first, so neither always meets the node just after the other
      for (const [name, f] of i % 2 ? [...sides].reverse() : sides) {
        const t = timings.get(name) ?? { verify: [], settle: [], gas: [] };
        timings.set(name, t);
        const payment = await client.createPaymentPayload({
          x402Version: 2,
          resource: { url: "/bench" },
          accepts: [requirements],
        });
        let t0 = performance.now();
        const v = await f.verify(payment, requirements);
        t.verify.push(performance.now() - t0);
        if (!v.isValid)
          throw new Error(`${name}: verify refused: ${v.invalidReason} ${v.invalidMessage ?? ""}`);
        t0 = performance.now();
        const s = await f.settle(payment, requirements);
        t.settle.push(performance.now() - t0);
        if (!s.success) throw new Error(`${name}: settle failed: ${s.errorReason} ${s.errorMessage ?? ""}`);
        t.gas.push((await getTransactionReceipt(publicClient, { hash: s.transaction as Hex })).gasUsed);
      }
    }
    console.log(
      `\nL2 node, ${blockTime === 0 ? "automine" : `${blockTime} s blocks`}: ${payments} payments each (p50; gas: median, the first transfer to the operator also creates its balance slot)`,
    );
    console.log("facilitator                        verify      settle      gas/settlement");
    const base = timings.get(sides[1]![0])!;
    for (const [name] of sides) {
      const t = timings.get(name)!;
      console.log(
        `${name.padEnd(34)} ${ms(p50(t.verify)).padEnd(11)} ${ms(p50(t.settle)).padEnd(11)} ${[...t.gas].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[t.gas.length >> 1]}`,
      );
      if (t !== base)
        console.log(
          `${"  ratio to the peer".padEnd(34)} ${`${(p50(t.verify) / p50(base.verify)).toFixed(2)}x`.padEnd(11)} ${(p50(t.settle) / p50(base.settle)).toFixed(2)}x`,
        );
    }
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
