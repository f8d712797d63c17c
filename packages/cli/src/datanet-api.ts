// `openledger datanet contribute --api URL`: a contribution uploaded through a running server's HTTP
// API (the Datanet store of `openledger up` is that process's own). The file is signed here, with the
// acting account's key, so the server never needs it.
import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import type { Address, Hex } from "viem";
import type { ContributeOptions } from "./commands/datanet.ts";
import { CliError } from "./errors.ts";

export interface ApiContributeOptions extends ContributeOptions {
  api: string;
  rpc: string;
  deployments: string;
  privateKey?: Hex;
  account: number;
}

/** The contribution as the API lists it. */
export interface ApiContribution {
  id: number;
  status: string;
  chunkCount: number;
  cid: string;
  contentHash: Hex;
  contributor: Address;
}

interface UnsignedTransaction {
  to: Address;
  data: Hex;
  value?: string;
}

/**
 * Signs `file` for the Datanet, uploads it, and — when the server answers with transactions to send
 * (it submits for callers only in dev mode on loopback) — sends them from the acting account.
 */
export async function contributeThroughApi(file: string, o: ApiContributeOptions): Promise<ApiContribution> {
  const { contentHashOf, contributionTypedData, formatFromFileName, parseFormat } = await import(
    "@openledger/datanet"
  );
  const { readDeployment } = await import("@openledger/sdk");
  const { connectRpc } = await import("./rpc.ts");
  const { actingKey } = await import("./wallet.ts");
  const probe = await connectRpc(o.rpc);
  const registry = readDeployment(o.deployments, probe.chain.id)?.addresses.datanetRegistry;
  if (!registry)
    throw new CliError(`no DatanetRegistry deployment for chain ${probe.chain.id} in ${o.deployments}/`);
  const { walletClient, publicClient } = await connectRpc(o.rpc, await actingKey(o, probe.chain.id));
  if (!walletClient) throw new CliError("could not create a wallet client");
  const me = walletClient.account;

  const bytes = await readFile(file);
  const format = o.format ? parseFormat(o.format) : formatFromFileName(file);
  const contentHash = contentHashOf(bytes, format, { field: o.field, column: o.column });
  const signature = await walletClient.signTypedData(
    contributionTypedData({ chainId: probe.chain.id, verifyingContract: registry }, o.datanet, contentHash),
  );
  // fields before the file part, contentHash first: the server checks the signature before reading it
  const form = new FormData();
  const fields: Record<string, string | undefined> = {
    contentHash,
    contributor: me.address,
    signature,
    license: o.license,
    source: o.source,
    format,
    field: o.field,
    column: o.column,
  };
  for (const [name, value] of Object.entries(fields)) if (value !== undefined) form.append(name, value);
  form.append("file", new Blob([bytes]), basename(file));

  const base = `${o.api.replace(/\/+$/, "")}/v1/datanets/${o.datanet}`;
  const body = await call<ApiContribution & { status: string; transactions?: UnsignedTransaction[] }>(
    `${base}/contributions`,
    { method: "POST", body: form },
  );
  if (body.status !== "staged") return body;
  for (const tx of body.transactions ?? []) {
    const hash = await walletClient.sendTransaction({
      to: tx.to,
      data: tx.data,
      value: BigInt(tx.value ?? 0),
      chain: walletClient.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new CliError(`the submission transaction ${hash} reverted`);
  }
  const list = await call<{ data: ApiContribution[] }>(`${base}/contributions?status=pending&limit=1000`);
  const row = list.data.find((c) => c.contentHash === contentHash);
  if (!row) throw new CliError(`${o.api} does not list the submitted contribution ${contentHash} yet`);
  return row;
}

async function call<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new CliError(`cannot reach ${url}: ${(err as Error).message}; is the server running (--api)?`);
  }
  const text = await res.text();
  if (!res.ok) {
    let message = text;
    try {
      message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
    } catch {}
    throw new CliError(`${url} answered ${res.status}: ${message}`);
  }
  return JSON.parse(text) as T;
}

/** The `datanet contribute --api URL` action: prints what the local upload prints. */
export async function contributeCommandThroughApi(
  file: string,
  command: import("commander").Command,
): Promise<void> {
  const { commandContext } = await import("./context.ts");
  const { options, print } = commandContext<ApiContributeOptions & { json: boolean }>(command);
  const row = await contributeThroughApi(file, options);
  if (options.json) print(JSON.stringify(row, null, 2));
  else print(`contribution ${row.id}  ${row.status}  ${row.chunkCount} chunks  ${row.cid}`);
}
