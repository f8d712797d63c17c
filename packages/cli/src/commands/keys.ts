import { type Command, InvalidArgumentError } from "commander";
import type { Address } from "viem";
import { commandContext } from "../context.ts";
import { CliError } from "../errors.ts";
import { addWalletOptions, parseOpenAmount } from "../options.ts";
import type { WalletOptions } from "../wallet.ts";

interface KeysCreateOptions extends WalletOptions {
  api: string;
  cap?: bigint;
  days: number;
}

export function registerKeysCommand(program: Command): void {
  const keys = program.command("keys").description("API keys that draw on your escrow");
  addWalletOptions(
    keys
      .command("create")
      .description(
        "create an API key bound to the acting account by its EIP-712 signature, register it with the server and authorise the server's operator on-chain",
      )
      .option("--api <url>", "the inference server", "http://127.0.0.1:8080")
      .option(
        "--cap <amount>",
        "OPEN the operator may debit in all (default: the escrow now)",
        parseOpenAmount,
      )
      .option("--days <n>", "how long the authorisation lasts, in days (1..3650)", parseDays, 30),
  ).action(async (_opts, command: Command) => {
    const { options, print } = commandContext<KeysCreateOptions>(command);
    const { authorize, escrowOf } = await import("@openledger/sdk");
    const { createKeyBinding } = await import("@openledger/payments");
    const { privateKeyToAccount } = await import("viem/accounts");
    const { actingKey } = await import("../wallet.ts");
    const { settlementWallet } = await import("./escrow.ts");
    const w = await settlementWallet(options);
    const api = options.api.replace(/\/+$/, "");
    const info = await fetchJson(`${api}/v1/payments`);
    if (info.chainId !== w.chainId || info.settlement?.toLowerCase() !== w.settlement.toLowerCase())
      throw new CliError(
        `${api} settles on chain ${info.chainId} at ${info.settlement}, not on chain ${w.chainId} at ${w.settlement}`,
      );
    const me = w.walletClient.account.address;
    const cap = options.cap ?? (await escrowOf(w.publicClient, { settlement: w.settlement, account: me }));
    const head = await w.publicClient.getBlock();
    const expiry = head.timestamp + BigInt(options.days * 86400);
    await authorize(w.walletClient, {
      settlement: w.settlement,
      operator: info.operator as Address,
      cap,
      expiry,
    });
    const account = privateKeyToAccount(await actingKey(options, w.chainId));
    const { key, binding } = await createKeyBinding(account, {
      chainId: w.chainId,
      settlement: w.settlement,
      issuedAt: head.timestamp,
    });
    const res = await fetch(`${api}/v1/keys`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ...binding, issuedAt: binding.issuedAt.toString() }),
    });
    if (res.status !== 201) throw new CliError(`${api} refused the key: ${await res.text()}`);
    process.stderr.write(
      `key bound to ${me}; operator ${info.operator} may debit up to ${cap} wei until unix time ${expiry}\n`,
    );
    print(key);
  });
}

function parseDays(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > 3650)
    throw new InvalidArgumentError("expected whole days in 1..3650");
  return n;
}

async function fetchJson(url: string): Promise<{ chainId?: number; settlement?: string; operator?: string }> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}; is the server running (--api)?`);
  }
  if (!res.ok) throw new CliError(`${url} answered ${res.status}: the server does not take paid requests`);
  return (await res.json()) as { chainId?: number; settlement?: string; operator?: string };
}
