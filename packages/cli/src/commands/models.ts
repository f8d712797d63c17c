import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { Hex } from "viem";
import { commandContext } from "../context.ts";
import { isLocalDevChain } from "../deploy-protocol.ts";
import { CliError } from "../errors.ts";
import { parsePrivateKey, parseRpcUrl } from "../options.ts";
import { api, parseApiUrl } from "./jobs.ts";

interface ModelsOptions {
  rpc: string;
  dataDir: string;
  deployments: string;
  privateKey?: Hex;
  account: number;
  json: boolean;
}

/** The catalogue of the chain at --rpc with the content store of --data-dir; a wallet when `signer`. */
async function open(o: ModelsOptions, signer: boolean) {
  const { FileBlobStore } = await import("@openledger/datanet");
  const { factoryClients } = await import("@openledger/factory");
  const { readDeployment } = await import("@openledger/sdk");
  const { devAccounts } = await import("@openledger/devnet");
  let keys: Hex[] = [];
  if (signer) {
    if (o.privateKey) keys = [o.privateKey];
    else {
      const dev = devAccounts[o.account];
      if (!dev) throw new CliError(`there is no dev account ${o.account} (0..${devAccounts.length - 1})`);
      keys = [dev.privateKey];
    }
  }
  let clients: Awaited<ReturnType<typeof factoryClients>>;
  try {
    clients = await factoryClients(o.rpc, keys);
  } catch (err) {
    throw new CliError(`cannot reach the RPC at ${o.rpc}: ${(err as Error).message.split("\n")[0]}`);
  }
  const chainId = await clients.client.getChainId();
  if (signer && !o.privateKey && !isLocalDevChain(chainId)) {
    throw new CliError(`chain ${chainId} is not the local dev chain: pass --private-key`);
  }
  const deployment = readDeployment(o.deployments, chainId);
  if (!deployment?.addresses.modelRegistry) {
    throw new CliError(`no ModelRegistry deployment for chain ${chainId} in ${o.deployments}/`);
  }
  return {
    deployment,
    registry: {
      client: clients.client,
      modelRegistry: deployment.addresses.modelRegistry,
      blobs: new FileBlobStore(join(o.dataDir, "blobs")),
    },
    wallet: clients.wallets[0],
  };
}

/**
 * The Datanets of --data-dir, opened only to read snapshot chunks for `models verify`'s dataset hash.
 * While `openledger up` holds that directory it cannot be opened here: the check is then skipped.
 */
async function openDatanetsForVerify(
  o: ModelsOptions,
  registry: Hex | undefined,
): Promise<{ service: import("@openledger/datanet").DatanetService | null; reason?: string }> {
  const dataDir = join(o.dataDir, "datanet");
  if (!registry) return { service: null, reason: "no DatanetRegistry in the deployment" };
  if (!existsSync(dataDir)) return { service: null, reason: `no Datanet data directory at ${dataDir}` };
  const { openDatanetService } = await import("@openledger/datanet");
  try {
    return { service: await openDatanetService({ dataDir, rpcUrl: o.rpc, registry }) };
  } catch (err) {
    return { service: null, reason: (err as Error).message.split(";")[0] };
  }
}

const wei = (v: bigint) => v.toString();

export function registerModelsCommand(program: Command): void {
  const models = program
    .command("models")
    .description("models in ModelRegistry: list, show, verify, add a base model, publish a job")
    .option("--rpc <url>", "JSON-RPC endpoint of the chain", parseRpcUrl, "http://127.0.0.1:8545")
    .option("--data-dir <dir>", "data dir whose blobs/ is the content store", ".openledger")
    .option("--deployments <dir>", "folder of deployments/<chainId>.json", "deployments")
    .option(
      "--private-key <hex>",
      "key of the acting account (default: a dev account on a local dev chain)",
      parsePrivateKey,
    )
    .option("--account <index>", "dev account index to act as on the local chain", (v) => Number(v), 0)
    .option("--json", "print JSON", false);

  models
    .command("list")
    .description("base models and published adapters")
    .action(async (_o, command: Command) => {
      const { options, print } = commandContext<ModelsOptions>(command);
      const { listModelRecords } = await import("@openledger/factory");
      const { registry } = await open(options, false);
      const records = await listModelRecords(registry);
      if (options.json) {
        return print(
          JSON.stringify(
            records.map((r) => r.published),
            (_k, v) => (typeof v === "bigint" ? v.toString() : v),
            2,
          ),
        );
      }
      if (records.length === 0)
        print(
          "no models yet: add the demo base with `openledger models add-base packages/ml/recipes/demo-base/out/demo-base.gguf`",
        );
      for (const r of records) {
        const p = r.published;
        print(
          `${String(p.modelId).padStart(4)}  ${r.metadata.kind.padEnd(7)}  ${p.name.padEnd(32)}  v${p.version}  base ${p.baseModel.name}  price ${wei(p.pricePer1kTokens)}/1k`,
        );
      }
    });

  models
    .command("show <model>")
    .description("a model by name or id: provenance, artefacts, manifest")
    .action(async (model: string, _o, command: Command) => {
      const { options, print } = commandContext<ModelsOptions>(command);
      const { resolveModelRecord } = await import("@openledger/factory");
      const { registry } = await open(options, false);
      const r = await resolveModelRecord(registry, model).catch((err: Error) => {
        throw new CliError(err.message);
      });
      const p = r.published;
      let manifest: unknown = null;
      if (r.metadata.manifest) {
        const cid = r.metadata.manifest.slice("ipfs://".length);
        manifest = JSON.parse(Buffer.from(await registry.blobs.get(cid)).toString("utf8"));
      }
      if (options.json) {
        return print(
          JSON.stringify(
            { ...p, metadata: r.metadata, manifest },
            (_k, v) => (typeof v === "bigint" ? v.toString() : v),
            2,
          ),
        );
      }
      print(
        `${p.name}  (model ${p.modelId}, ${r.metadata.kind}${p.version ? `, version ${p.version}` : ""})`,
      );
      print(`  owner       ${p.owner}`);
      print(`  base        ${p.baseModel.name}  ${p.baseModel.hash}  ipfs://${p.baseModel.cid}`);
      print(`  tokenizer   ipfs://${p.tokenizerCid}`);
      if (p.adapter) print(`  adapter     ${p.adapter.hash}  ipfs://${p.adapter.cid}`);
      if (p.snapshotIds.length) print(`  snapshots   ${p.snapshotIds.join(", ")}`);
      print(`  price       ${wei(p.pricePer1kTokens)} OPEN wei per 1k tokens`);
      if (r.metadata.manifest) print(`  manifest    ${r.metadata.manifest}`);
      const m = manifest as { metrics?: { perplexityBefore: number; perplexityAfter: number } } | null;
      if (m?.metrics)
        print(
          `  perplexity  ${m.metrics.perplexityBefore.toFixed(2)} -> ${m.metrics.perplexityAfter.toFixed(2)} (held out)`,
        );
    });

  models
    .command("verify <model>")
    .description(
      "re-hash every artefact of a model and check it against the chain; exits non-zero naming any mismatch",
    )
    .action(async (model: string, _o, command: Command) => {
      const { options, print } = commandContext<ModelsOptions>(command);
      const { verifyModel } = await import("@openledger/factory");
      const { registry, deployment } = await open(options, false);
      const datanets = await openDatanetsForVerify(options, deployment.addresses.datanetRegistry);
      const result = await verifyModel(registry, model, {
        datanets: datanets.service,
        datanetsUnavailable: datanets.reason,
      })
        .catch((err: Error) => {
          throw new CliError(err.message);
        })
        .finally(() => datanets.service?.close());
      if (options.json)
        print(JSON.stringify(result, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
      else
        for (const c of result.checks)
          print(
            `${c.skipped ? "skipped " : c.ok ? "ok      " : "MISMATCH"}  ${c.what.padEnd(32)} ${c.detail}`,
          );
      if (!result.ok) {
        const bad = result.checks.filter((c) => !c.ok).map((c) => c.what);
        throw new CliError(`${result.name} (model ${result.modelId}) failed verification: ${bad.join(", ")}`);
      }
      if (!options.json)
        print(
          `${result.name} (model ${result.modelId} v${result.version}) verified: ${result.checks.filter((c) => !c.skipped).length} checks${result.checks.some((c) => c.skipped) ? `, ${result.checks.filter((c) => c.skipped).length} skipped` : ""}`,
        );
    });

  models
    .command("add-base <file>")
    .description(
      "register a base model: a LLaMA/Qwen2 GGUF file, or a Hugging Face folder (safetensors) converted to GGUF",
    )
    .option("--name <name>", "model name (default: the file name)")
    .option("--tokenizer <path>", "tokenizer.json (default: beside the file, or in the folder)")
    .option("--chat-template <template>", "chat template servers should use")
    .action(async (file: string, _o, command: Command) => {
      const { options, print } = commandContext<
        ModelsOptions & { name?: string; tokenizer?: string; chatTemplate?: string }
      >(command);
      const { addBaseModel } = await import("@openledger/factory");
      const { registry, wallet } = await open(options, true);
      const { record, created } = await addBaseModel(registry, wallet, {
        path: file,
        name: options.name,
        tokenizerPath: options.tokenizer,
        chatTemplate: options.chatTemplate,
      }).catch((err: Error) => {
        throw new CliError(err.message);
      });
      const p = record.published;
      print(
        `${created ? "registered" : "already registered"}: ${p.name}  model ${p.modelId}  ${p.baseModel.hash}  ipfs://${p.baseModel.cid}`,
      );
    });

  models
    .command("publish <job>")
    .description("publish a succeeded job trained with --no-publish (on the factory API)")
    .option("--price <wei>", "inference price per 1k tokens in OPEN wei", "0")
    .option("--api <url>", "the HTTP API of `openledger up`", parseApiUrl, "http://127.0.0.1:8080")
    .action(async (job: string, _o, command: Command) => {
      const { options, print } = commandContext<ModelsOptions & { price: string; api: string }>(command);
      if (!/^\d+$/.test(options.price)) throw new CliError("--price must be a whole number of OPEN wei");
      const done = await api<{
        fine_tuned_model: string;
        openledger: { result: { modelId: string; version: number } };
      }>(options.api, "POST", `/v1/fine_tuning/jobs/${encodeURIComponent(job)}/publish`, {
        price_per_1k_tokens: options.price,
      });
      print(
        `published ${done.fine_tuned_model} as model ${done.openledger.result.modelId} version ${done.openledger.result.version}`,
      );
    });
}
